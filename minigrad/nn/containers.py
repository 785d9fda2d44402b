"""Containers of modules: ``ModuleList`` and ``ModuleDict`` (as PyTorch's).

A plain list or dict attribute already works for finding parameters (named
``layers.0.weight``); these containers name their items ``0.weight`` /
``key.weight`` as PyTorch does, check that each item is a Module, and print
as a layer tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from minigrad.nn.modules import Module

__all__ = ["ModuleDict", "ModuleList"]


class ModuleList(Module):
    """A list of modules whose parameters are named ``<i>.<name>`` (as PyTorch).
    It has no ``forward``: iterate over it in yours.

    >>> import minigrad as mg
    >>> blocks = mg.nn.ModuleList([mg.nn.Linear(2, 2, rng=i) for i in range(2)])
    >>> [n for n, _ in blocks.named_parameters()]
    ['0.weight', '0.bias', '1.weight', '1.bias']
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        self._items: list[Module] = []
        self.extend(modules or [])

    def _attributes(self) -> list[tuple[str, Any]]:
        return [(str(i), m) for i, m in enumerate(self._items)]

    def _check(self, module: Any, where: str) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: {where} is a {type(module).__name__}, not a Module; "
                            "wrap functions in a Module or keep them in a plain list.")
        return module

    def append(self, module: Module) -> ModuleList:
        self._items.append(self._check(module, f"item {len(self._items)}"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        self._items.insert(index, self._check(module, f"item {index}"))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(self._items[index])
        return self._items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._items[index] = self._check(module, f"item {index}")

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def _repr_children(self) -> list[tuple[str, Any]]:
        return self._attributes()


class ModuleDict(Module):
    """A dict of modules (insertion order) whose parameters are named
    ``<key>.<name>`` (as PyTorch). Keys are strings.

    >>> import minigrad as mg
    >>> heads = mg.nn.ModuleDict({"a": mg.nn.Linear(2, 1, rng=0)})
    >>> [n for n, _ in heads.named_parameters()], "a" in heads
    (['a.weight', 'a.bias'], True)
    """

    def __init__(self, modules: Any = None) -> None:
        self._items: dict[str, Module] = {}
        self.update(modules or {})

    def _attributes(self) -> list[tuple[str, Any]]:
        return list(self._items.items())

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without '.', got "
                           f"{key!r}.")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {key!r} is a {type(module).__name__}, not a Module.")
        self._items[key] = module

    def __getitem__(self, key: str) -> Module:
        return self._items[key]

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def keys(self) -> Any:
        return self._items.keys()

    def values(self) -> Any:
        return self._items.values()

    def items(self) -> Any:
        return self._items.items()

    def update(self, modules: Any) -> None:
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        return self._items.pop(key)

    def clear(self) -> None:
        self._items.clear()

    def _repr_children(self) -> list[tuple[str, Any]]:
        return self._attributes()
