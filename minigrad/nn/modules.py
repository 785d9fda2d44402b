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
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from minigrad.engine import Function, no_grad
from minigrad.ops.elementwise import relu, sigmoid, tanh
from minigrad.ops.matrix import matmul
from minigrad.tensor import Tensor
from minigrad.versions import mark_modified

__all__ = ["MLP", "Linear", "Module", "ReLU", "Sequential", "Sigmoid", "Tanh", "as_layer_input",
           "float_dtype"]


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


_NOT_WALKED = frozenset({"training", "_buffer_names", "_non_persistent"})


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` returns (as PyTorch)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of models: subclass it, set parameters and sub-modules as
    attributes in ``__init__``, and define ``forward``.

    ``parameters()`` / ``named_parameters()`` walk the attributes in the order
    they were set (lists and tuples by index, dicts by insertion order); a
    Tensor reached twice (a shared weight) is listed once, under its first name.
    A *buffer* (``register_buffer``) is state that is saved but not trained,
    such as BatchNorm's running mean. Calling ``super().__init__()`` is
    optional: every piece of bookkeeping is created on first use.

    >>> import minigrad as mg
    >>> class Scale(mg.nn.Module):
    ...     def __init__(self):
    ...         self.weight = mg.ones(3, requires_grad=True)
    ...         self.register_buffer("calls", mg.zeros(()))
    ...     def forward(self, x):
    ...         return x * self.weight
    >>> m = Scale()
    >>> list(m.state_dict()), [n for n, _ in m.named_parameters()], m.num_parameters()
    (['weight', 'calls'], ['weight'], 3)
    """

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, ...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- walking the attributes (iteratively) ---------------------------------

    def _attributes(self) -> list[tuple[str, Any]]:
        """(name, value) of what the walk enters below this module, in order."""
        return [(k, v) for k, v in vars(self).items() if k not in _NOT_WALKED]

    def _visit(self, enter_modules: bool = True) -> Iterator[tuple[str, Any, str]]:
        """Yield (path, object, kind) for every Tensor and Module below self, depth
        first, in attribute order; kind is "module", "param", "buffer",
        "buffer_np" (not persistent) or "tensor" (neither). Containers are
        entered, never yielded."""
        seen: set[int] = set()
        stack: list[tuple[str, Any, str]] = [("", self, "module")]
        while stack:
            path, obj, kind = stack.pop()
            if id(obj) in seen:
                continue
            if isinstance(obj, Tensor):
                seen.add(id(obj))
                if kind == "tensor" and obj.requires_grad:
                    kind = "param"
                yield path, obj, kind
                continue
            if isinstance(obj, Module):
                seen.add(id(obj))
                yield path, obj, "module"
                if obj is not self and not enter_modules:
                    continue
                buffers = obj.__dict__.get("_buffer_names", ())
                quiet = obj.__dict__.get("_non_persistent", ())
                children = [(k, v, "tensor" if k not in buffers else
                             "buffer_np" if k in quiet else "buffer")
                            for k, v in obj._attributes()]
            elif isinstance(obj, (list, tuple)):
                seen.add(id(obj))
                children = [(str(i), v, "tensor") for i, v in enumerate(obj)]
            elif isinstance(obj, dict):
                seen.add(id(obj))
                children = [(str(k), v, "tensor") for k, v in obj.items()]
            else:
                continue
            prefix = f"{path}." if path else ""
            # reversed, so that the first child is popped (visited) first
            stack.extend((prefix + k, v, c) for k, v, c in reversed(children)
                         if isinstance(v, (Tensor, Module, list, tuple, dict)))

    def _walk(self) -> Iterator[tuple[str, Any]]:
        """(path, object) for every Tensor and Module below self (see ``_visit``)."""
        return ((path, obj) for path, obj, _ in self._visit())

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """``(name, tensor)`` for every Tensor that requires grad and is not a buffer."""
        return [(name, obj) for name, obj, kind in self._visit() if kind == "param"]

    def parameters(self) -> list[Tensor]:
        """The Tensors that require grad (what an optimizer updates)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers the parameters hold (a shared weight counts once)."""
        return sum(p.size for p in self.parameters())

    def named_buffers(self) -> list[tuple[str, Tensor]]:
        """``(name, tensor)`` for every buffer (``register_buffer``), sub-modules included."""
        return [(name, obj) for name, obj, kind in self._visit() if kind.startswith("buffer")]

    def buffers(self) -> list[Tensor]:
        """The buffers: saved in ``state_dict``, never returned by ``parameters()``."""
        return [b for _, b in self.named_buffers()]

    def named_modules(self) -> list[tuple[str, Module]]:
        """``(name, module)`` for this module (named ``""``) and every sub-module, depth first."""
        return [(name, obj) for name, obj, kind in self._visit() if kind == "module"]

    def modules(self) -> list[Module]:
        """This module and every sub-module, depth first."""
        return [obj for _, obj in self.named_modules()]

    def named_children(self) -> list[tuple[str, Module]]:
        """``(name, module)`` for the direct sub-modules (in lists and dicts too)."""
        return [(name, obj) for name, obj, kind in self._visit(enter_modules=False)
                if kind == "module" and obj is not self]

    def children(self) -> list[Module]:
        """The direct sub-modules."""
        return [m for _, m in self.named_children()]

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: a Tensor attribute that is state but not a parameter (as
        PyTorch). It is reachable as ``self.<name>``, saved in ``state_dict`` unless
        ``persistent=False``, converted by ``to(dtype)`` when it holds floats, and
        never trained. Assigning ``self.<name> = t`` later keeps it a buffer."""
        where = f"{type(self).__name__}.register_buffer"
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{where}: the name must be a non-empty str without '.', got "
                           f"{name!r}.")
        if name in vars(self) and name not in self.__dict__.get("_buffer_names", ()):
            raise KeyError(f"{where}: attribute {name!r} already exists and is not a buffer; "
                           "choose another name.")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{where}: buffer {name!r} must be a Tensor or None, not "
                            f"{type(tensor).__name__}; wrap it: mg.tensor(value).")
        self.__dict__.setdefault("_buffer_names", []).append(name)
        if not persistent:
            self.__dict__.setdefault("_non_persistent", []).append(name)
        setattr(self, name, tensor)

    # -- whole-model operations -------------------------------------------------

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn(m)`` on every sub-module and then on self (children first, as
        PyTorch; e.g. to initialise weights). Returns self."""
        order, stack = [], [self]
        while stack:  # a preorder that visits children last-first, reversed: a postorder
            module = stack.pop()
            order.append(module)
            stack.extend(module.children())
        for module in reversed(order):
            fn(module)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's gradient to ``None`` (or, with ``set_to_none=False``,
        fill the existing gradients with zeros)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.data[...] = 0  # in place, as PyTorch

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all sub-modules (returns self).
        ``Dropout`` and ``BatchNorm`` read ``self.training``."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``)."""
        return self.train(False)

    def to(self, dtype: Any) -> Module:
        """Convert the parameters and floating-point buffers to ``dtype``, in place:
        the same Tensor objects, so an optimizer built earlier still holds them.
        A sub-module's ``_dtype`` attribute (the input dtype a layer expects when
        it has no parameters to read it from) is set too. Returns self. (``"cpu"`` is accepted and does nothing: NumPy is the device.)

        >>> import numpy as np, minigrad as mg
        >>> mg.nn.Linear(2, 1, rng=0).to(np.float32).weight.dtype
        dtype('float32')
        """
        name = type(self).__name__
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{name}.to: expected a floating dtype such as np.float32, got "
                            f"{dtype!r}.") from None
        if dtype.kind != "f":
            raise TypeError(f"{name}.to: only floating dtypes (np.float32, np.float64) can hold "
                            f"parameters, got {dtype}.")
        changed = [t for _, t, kind in self._visit()
                   if kind in ("param", "buffer", "buffer_np") and t.data.dtype.kind == "f"
                   and t.data.dtype != dtype]
        for t in changed:
            t.data = t.data.astype(dtype)
            if t.grad is not None:
                t.grad = Tensor._make(t.grad.data.astype(dtype))
        for m in self.modules():  # what a layer without parameters expects (LayerNorm, ...)
            if "_dtype" in vars(m):
                m._dtype = dtype
        if changed:
            mark_modified(*changed, where=f"{name}.to({dtype})")
        return self

    def double(self) -> Module:
        """``to(np.float64)``."""
        return self.to(np.float64)

    def float(self) -> Module:
        """``to(np.float32)``."""
        return self.to(np.float32)

    # -- saving and loading ---------------------------------------------------

    def _state_tensors(self) -> dict[str, Tensor]:
        return {name: obj for name, obj, kind in self._visit() if kind in ("param", "buffer")}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter and buffer names mapped to copies of their arrays (safe to keep
        or save with ``mg.save``)."""
        return {name: t.data.copy() for name, t in self._state_tensors().items()}

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers, in place.

        With ``strict=True`` every key must be present with its exact shape and
        nothing else may be: otherwise ``ValueError`` naming the keys (and the
        shapes), and nothing is changed. ``strict=False`` loads the keys both
        sides have and returns the others (``missing_keys``, ``unexpected_keys``).
        """
        targets = self._state_tensors()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            raise ValueError(
                f"load_state_dict: {type(self).__name__} state does not match: missing keys "
                f"{missing}, unexpected keys {unexpected}. Load a state_dict saved from the "
                f"same architecture.")
        arrays = {}
        for name, t in targets.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = value.data if isinstance(value, Tensor) else np.asarray(value)
            if value.shape != t.shape:
                raise ValueError(
                    f"load_state_dict: '{name}' has shape {value.shape} in the state_dict but "
                    f"{t.shape} in the model. Load a state_dict saved from the same "
                    f"architecture.")
            if not np.can_cast(value.dtype, t.dtype, casting="same_kind"):
                raise TypeError(f"load_state_dict: '{name}' is {value.dtype} in the state_dict "
                                f"but {t.dtype} in the model, which cannot hold it.")
            arrays[name] = value
        with no_grad():
            for name, value in arrays.items():
                np.copyto(targets[name].data, value, casting="same_kind")
        if arrays:
            mark_modified(*(targets[k] for k in arrays), where="load_state_dict")
        return IncompatibleKeys(missing, unexpected)

    # -- printing ---------------------------------------------------------------

    def _repr_children(self) -> list[tuple[str, Any]]:
        """What ``repr`` lists below this module's own line: (name, child)."""
        return self.named_children()

    def __repr__(self) -> str:
        """The layer tree, as PyTorch prints it (written line by line, without recursion)."""
        lines: list[str] = []
        stack: list[tuple[int, str, Any]] = [(0, "", self)]  # (depth, "(name): ", item)
        while stack:
            depth, label, item = stack.pop()
            pad = "  " * depth
            if not isinstance(item, Module):  # a closing parenthesis, or a plain callable
                lines.append(pad + label + (item if label == "" else repr(item)))
                continue
            head, extra = type(item).__name__, item.extra_repr()
            children = item._repr_children()
            if not children and "\n" not in extra:
                lines.append(f"{pad}{label}{head}({extra})")
                continue
            lines.append(f"{pad}{label}{head}(")
            lines.extend(f"{pad}  {line}" for line in extra.split("\n") if extra)
            stack.append((depth, "", ")"))
            stack.extend((depth + 1, f"({name}): ", child) for name, child in reversed(children))
        return "\n".join(lines)

    def extra_repr(self) -> str:
        """This module's settings, shown inside its parentheses by ``repr``."""
        return ""


def float_dtype(layer: str, dtype: Any) -> np.dtype:
    """A layer's ``dtype=`` argument checked: ``None`` means float64."""
    try:
        dtype = np.dtype(np.float64 if dtype is None else dtype)
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind != "f":
        raise TypeError(f"{layer}: dtype must be a floating dtype such as np.float32 or "
                        f"np.float64, got {dtype!r}.")
    return dtype


def as_layer_input(layer: Module, x: Any, dtype: Any) -> Tensor:
    """``x`` as a Tensor for ``layer``, whose parameters have ``dtype``.

    Integers, lists and Python floats are converted to ``dtype``; a Tensor or
    array of another floating dtype (float32 data into a float64 layer) is a
    ``TypeError`` naming the layer, both dtypes and the two fixes, as PyTorch
    refuses it: a silent float64 result would hide the mismatch.
    """
    data = x.data if isinstance(x, Tensor) else x
    have = getattr(data, "dtype", None)
    if have is not None and have != dtype and (isinstance(x, Tensor) or have.kind == "f"):
        name = np.dtype(dtype).name
        raise TypeError(f"{type(layer).__name__}: the input has dtype {have} but the layer's "
                        f"parameters are {name}. Convert the input (x.astype(np.{name})) or "
                        f"the model (model.to(np.{have}), or build it with dtype=np.{have}).")
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


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
    a = sqrt(5)). ``rng`` is a ``numpy.random.Generator``, a seed or ``None``;
    ``dtype`` (default float64) is the parameters' dtype, which the input must
    share (see :func:`as_layer_input`).

    >>> import minigrad as mg
    >>> layer = mg.nn.Linear(3, 2, rng=0)
    >>> layer.weight.shape, layer.bias.shape
    ((2, 3), (2,))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: Any = None, dtype: Any = None) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive int, not {value!r}.")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = float_dtype("Linear", dtype)
        gen = _rng(rng)
        k = 1.0 / math.sqrt(in_features)
        self.weight = Tensor(gen.uniform(-k, k, (out_features, in_features)), dtype=dtype,
                             requires_grad=True)
        self.bias = (Tensor(gen.uniform(-k, k, (out_features,)), dtype=dtype,
                            requires_grad=True) if bias else None)

    def forward(self, x: Any) -> Tensor:
        x = as_layer_input(self, x, self.weight.dtype)
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

    def _repr_children(self) -> list[tuple[str, Any]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class MLP(Sequential):
    """A multilayer perceptron: ``Linear`` layers of the given ``sizes`` with
    ``activation`` ("relu", "tanh" or "sigmoid") between them -- none after the
    last layer, which returns raw scores (logits). ``MLP([2, 16, 16, 2])`` has
    three Linear layers, at ``layers.0``, ``layers.2`` and ``layers.4``; ``dtype``
    is theirs (default float64)."""

    def __init__(self, sizes: list[int], activation: str = "relu", rng: Any = None,
                 dtype: Any = None) -> None:
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
            layers.append(Linear(n_in, n_out, rng=gen, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes = sizes
        self.activation = activation

