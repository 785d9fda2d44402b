"""Neural-network building blocks: ``mg.nn``.

A :class:`Module` is a plain Python object whose parameters are the Tensors
that require grad found in its attributes -- directly, or inside lists, tuples
and dicts, or inside sub-modules -- named by their path as PyTorch does
(``layers.0.weight``). The search is an explicit stack, not recursion, so a
model nested ten thousand levels deep works as well as a shallow one.

>>> import minigrad as mg
>>> model = mg.nn.MLP([2, 8, 1], rng=0)
>>> [name for name, _ in model.named_parameters()]
['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias']
>>> model(mg.zeros((5, 2))).shape
(5, 1)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.engine import Function, no_grad, note_inplace_change
from minigrad.ops.elementwise import relu, sigmoid, tanh
from minigrad.ops.matrix import matmul
from minigrad.tensor import Tensor

__all__ = ["MLP", "Linear", "Module", "ReLU", "Sequential", "Sigmoid", "Tanh"]


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Module:
    """Base class of models: subclass it, set parameters and sub-modules as
    attributes in ``__init__``, and define ``forward``.

    ``parameters()`` / ``named_parameters()`` walk the attributes in the order
    they were set (lists and tuples by index, dicts by insertion order); a
    Tensor reached twice (a shared weight) is listed once, under its first name.
    """

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, ...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- walking the attributes (iteratively) ---------------------------------

    def _walk(self) -> Iterator[tuple[str, Any]]:
        """Yield (path, object) for every Tensor and Module below self, depth first,
        in attribute order. Containers are entered, never yielded."""
        seen: set[int] = set()
        stack: list[tuple[str, Any]] = [("", self)]
        while stack:
            path, obj = stack.pop()
            if id(obj) in seen:
                continue
            if isinstance(obj, Tensor):
                seen.add(id(obj))
                yield path, obj
                continue
            if isinstance(obj, Module):
                seen.add(id(obj))
                yield path, obj
                children = [(k, v) for k, v in vars(obj).items() if k != "training"]
            elif isinstance(obj, (list, tuple)):
                seen.add(id(obj))
                children = [(str(i), v) for i, v in enumerate(obj)]
            elif isinstance(obj, dict):
                seen.add(id(obj))
                children = [(str(k), v) for k, v in obj.items()]
            else:
                continue
            prefix = f"{path}." if path else ""
            # reversed, so that the first child is popped (visited) first
            stack.extend((prefix + k, v) for k, v in reversed(children)
                         if isinstance(v, (Tensor, Module, list, tuple, dict)))

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """``(name, tensor)`` for every Tensor that requires grad, in a stable order."""
        return [(name, obj) for name, obj in self._walk()
                if isinstance(obj, Tensor) and obj.requires_grad]

    def parameters(self) -> list[Tensor]:
        """The Tensors that require grad (what an optimizer updates)."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> list[Module]:
        """This module and every sub-module, depth first."""
        return [obj for _, obj in self._walk() if isinstance(obj, Module)]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to ``None``."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all sub-modules (returns self)."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``)."""
        return self.train(False)

    # -- saving and loading ---------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter names mapped to copies of their arrays (safe to keep or save)."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Copy arrays into the parameters, in place.

        Every parameter must be present with its exact shape and nothing else
        may be: otherwise ``ValueError`` naming the keys (and the shapes), and no
        parameter is changed.
        """
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state_dict]
        unexpected = [k for k in state_dict if k not in params]
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict: {type(self).__name__} state does not match: missing keys "
                f"{missing}, unexpected keys {unexpected}. Load a state_dict saved from the "
                f"same architecture.")
        arrays = {}
        for name, p in params.items():
            value = state_dict[name]
            value = value.data if isinstance(value, Tensor) else np.asarray(value)
            if value.shape != p.shape:
                raise ValueError(
                    f"load_state_dict: '{name}' has shape {value.shape} in the state_dict but "
                    f"{p.shape} in the model. Load a state_dict saved from the same "
                    f"architecture.")
            arrays[name] = value
        with no_grad():
            for name, p in params.items():
                np.copyto(p.data, arrays[name], casting="same_kind")
                p._version += 1
            note_inplace_change()

    def __repr__(self) -> str:
        inner = self.extra_repr()
        return f"{type(self).__name__}({inner})"

    def extra_repr(self) -> str:
        return ""


class Affine(Function):
    """out = x @ W^T + b  (x: (n, in), W: (out, in), b: (out,));
    d out/dx = grad @ W,   d out/dW = grad^T @ x,   d out/db = sum_n grad

    One node for a Linear layer's forward, instead of transpose, matmul, add.
    """

    def forward(self, x, w, b=None):
        out = x @ w.T
        if b is not None:
            out += b
        return out

    def backward(self, grad, out, x, w, b=None):
        need = self.needs_input_grad
        grad_x = matmul(grad, w) if need[0] else None
        grad_w = matmul(grad.T, x) if need[1] else None
        if b is None:
            return grad_x, grad_w
        return grad_x, grad_w, grad.sum(axis=0) if need[2] else None


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` of shape (out, in), ``bias`` (out,).

    Initialization is PyTorch's default for ``nn.Linear``: both weight and bias
    drawn from U(-k, k) with k = 1 / sqrt(in_features) (Kaiming-uniform with
    a = sqrt(5)). ``rng`` is a ``numpy.random.Generator``, a seed or ``None``.

    >>> import minigrad as mg
    >>> layer = mg.nn.Linear(3, 2, rng=0)
    >>> layer.weight.shape, layer.bias.shape
    ((2, 3), (2,))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: Any = None) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive int, not {value!r}.")
        self.in_features, self.out_features = int(in_features), int(out_features)
        gen = _rng(rng)
        k = 1.0 / math.sqrt(in_features)
        self.weight = Tensor(gen.uniform(-k, k, (out_features, in_features)),
                             requires_grad=True)
        self.bias = (Tensor(gen.uniform(-k, k, (out_features,)), requires_grad=True)
                     if bias else None)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.weight.dtype)
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear: input has shape {x.shape} but the layer expects "
                             f"(..., {self.in_features}) features. Reshape the input or "
                             f"build Linear({x.shape[-1] if x.ndim else 1}, "
                             f"{self.out_features}).")
        if x.ndim == 2:
            if self.bias is None:
                return Affine.apply(x, self.weight)
            return Affine.apply(x, self.weight, self.bias)
        out = x @ self.weight.T  # other ranks: the general (unfused) path
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Any) -> Tensor:
        return relu(x)


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, x: Any) -> Tensor:
        return tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, x: Any) -> Tensor:
        return sigmoid(x)


class Sequential(Module):
    """Apply ``layers`` in order; parameters are named ``layers.<i>.<name>``."""

    def __init__(self, *layers: Any) -> None:
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, which "
                                "is not callable; pass modules or functions.")
        self.layers = list(layers)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:  # a loop, so depth costs no stack
            x = layer(x)
        return x

    def __getitem__(self, i: int) -> Any:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.layers)

    def __repr__(self) -> str:
        body = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}({body}\n)"


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class MLP(Sequential):
    """A multilayer perceptron: ``Linear`` layers of the given ``sizes`` with
    ``activation`` ("relu", "tanh" or "sigmoid") between them -- none after the
    last layer, which returns raw scores (logits). ``MLP([2, 16, 16, 2])`` has
    three Linear layers, at ``layers.0``, ``layers.2`` and ``layers.4``."""

    def __init__(self, sizes: list[int], activation: str = "relu", rng: Any = None) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, got "
                             f"{sizes}; e.g. MLP([2, 16, 1]).")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(_ACTIVATIONS)}, not "
                             f"{activation!r}.")
        gen = _rng(rng)
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Linear(n_in, n_out, rng=gen))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes = sizes
        self.activation = activation
