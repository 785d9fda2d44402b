"""Tensor: a NumPy array that remembers how it was made.

A Tensor holds ``data`` (a NumPy array), and, when it requires grad, the node
``_ctx`` (a :class:`~minigrad.engine.Function`) that produced it from its
``parents``. ``backward()`` hands the graph to the engine (``engine.py``, read
it next). Operators and methods here are one-line delegations to the ops in
``minigrad/ops/``, where each forward rule sits beside its backward rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import backends

_FLOAT_KINDS = "f"


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    Tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_ctx", "_vc",
                 "_retains_grad", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self.data = _to_array(data, dtype)
        self.grad: Tensor | None = None
        self.requires_grad = False
        self.name = name
        self._ctx = None
        self._vc = None  # version counter, made on first in-place change (versions.py)
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False) -> Tensor:
        """Wrap an array without copying or checking (the ops' fast path)."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t.name = None
        t._ctx = None
        t._vc = None
        t._retains_grad = False
        return t

    # -- what a Tensor is --------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for Tensors made by the user rather than by an op (and for all
        Tensors that do not require grad), as PyTorch."""
        return self._ctx is None

    @property
    def op(self) -> str:
        """Name of the op that produced this Tensor; ``""`` for a leaf."""
        return "" if self._ctx is None else self._ctx.op

    @property
    def parents(self) -> tuple[Tensor, ...]:
        return () if self._ctx is None else self._ctx.inputs

    @property
    def _version(self) -> int:
        """How many times this tensor (or a view sharing its memory) was changed in place."""
        return 0 if self._vc is None else self._vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        versions.counter(self)[0] = value

    @property
    def T(self) -> Tensor:
        return shape_ops.transpose(self)

    # -- autograd ----------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d self / d leaf into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is d loss / d self; it may be omitted only when ``self`` has
        one element (then it is 1). ``retain_graph`` defaults to ``create_graph``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so there is no graph to go "
                "through. Create the inputs with requires_grad=True (and not under no_grad)."
            )
        grad = engine.seed(self, gradient, "backward")
        if retain_graph is None:
            retain_graph = create_graph
        leaves = [] if create_graph or not backends.is_lazy(self.data) else engine.toposort([self])
        engine.backward([self], [grad], retain_graph=retain_graph, create_graph=create_graph)
        if leaves:  # Dask: compute every leaf gradient (and the loss) in one pass over the data
            backends.materialize_grads([t for t in leaves if t._ctx is None], [self])

    def retain_grad(self) -> None:
        """Keep this non-leaf Tensor's gradient in ``.grad`` during backward (for
        inspecting and drawing intermediate gradients)."""
        if self._ctx is not None:
            self._retains_grad = True

    def detach(self) -> Tensor:
        """A new Tensor sharing ``data`` (and its version counter), cut from the graph."""
        t = Tensor._make(self.data)
        versions.share(t, self)
        return t

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(
                f"requires_grad: only floating-point tensors can require grad, but this one "
                f"has dtype {self.data.dtype}. Convert first, e.g. "
                f"mg.tensor(data, dtype=np.float64, requires_grad=True)."
            )
        if not flag and self._ctx is not None:
            raise RuntimeError("requires_grad_: cannot turn off grad on a non-leaf tensor; "
                               "use .detach() instead.")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self) -> None:
        self.grad = None

    # -- leaving minigrad --------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied; Dask data is computed, CuPy
        data copied to the host)."""
        return self.data if isinstance(self.data, np.ndarray) else backends.to_numpy(self.data)

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number, "
                             f"but this tensor has shape {self.shape}. Index it first.")
        return self.numpy().item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def astype(self, dtype: Any) -> Tensor:
        return elementwise.astype(self, dtype)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return interop.array_function(func, args, kwargs)

    def __repr__(self) -> str:
        body = (np.array2string(self.data, separator=", ", prefix="Tensor(")
                if isinstance(self.data, np.ndarray) else repr(self.data))  # never compute Dask
        extra = ""
        if self.dtype not in (np.float64, np.int64, np.bool_):
            extra += f", dtype={self.dtype}"
        if self._ctx is not None:
            extra += f", op={self.op}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"The truth value of a tensor of shape {self.shape} is ambiguous. "
                             "Use (t).all() / (t).any() or compare t.item().")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__  # identity: == builds a Tensor, so graphs key by id

    # -- operators ---------------------------------------------------------
    # Each calls its op's Function directly (Add.apply is what arithmetic.add does):
    # one Python call fewer on the hottest path.

    def __add__(self, other: Any) -> Tensor:
        return arithmetic.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return arithmetic.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return arithmetic.Subtract.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return arithmetic.Subtract.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return arithmetic.Multiply.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return arithmetic.Multiply.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return arithmetic.Divide.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return arithmetic.Divide.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return arithmetic.Power.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return arithmetic.Power.apply(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return matrix.Matmul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matrix.Matmul.apply(other, self)

    def __neg__(self) -> Tensor:
        return arithmetic.Negative.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return arithmetic.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return indexing.getitem(self, index)

    # In-place: write into self.data, bump the version, record the change in the
    # graph (ops/inplace.py explains the rules).

    def __iadd__(self, other: Any) -> Tensor:
        return inplace.update(self, "+=", other)

    def __isub__(self, other: Any) -> Tensor:
        return inplace.update(self, "-=", other)

    def __imul__(self, other: Any) -> Tensor:
        return inplace.update(self, "*=", other)

    def __itruediv__(self, other: Any) -> Tensor:
        return inplace.update(self, "/=", other)

    def __setitem__(self, index: Any, value: Any) -> None:
        inplace.setitem(self, index, value)

    def __lt__(self, other: Any) -> Tensor:
        return arithmetic.less(self, other)

    def __le__(self, other: Any) -> Tensor:
        return arithmetic.less_equal(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return arithmetic.greater(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return arithmetic.greater_equal(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return arithmetic.equal(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return arithmetic.not_equal(self, other)

    # -- methods (NumPy's names) ---------------------------------------------

    def abs(self) -> Tensor:
        return arithmetic.abs(self)

    def exp(self) -> Tensor:
        return elementwise.exp(self)

    def log(self) -> Tensor:
        return elementwise.log(self)

    def sqrt(self) -> Tensor:
        return elementwise.sqrt(self)

    def sin(self) -> Tensor:
        return elementwise.sin(self)

    def cos(self) -> Tensor:
        return elementwise.cos(self)

    def tanh(self) -> Tensor:
        return elementwise.tanh(self)

    def sigmoid(self) -> Tensor:
        return elementwise.sigmoid(self)

    def relu(self) -> Tensor:
        return elementwise.relu(self)

    def clip(self, lo: Any = None, hi: Any = None) -> Tensor:
        return elementwise.clip(self, lo, hi)

    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> Tensor:
        return reductions.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
                keepdim: bool | None = None) -> Tensor:
        return reductions.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, *,
            dim: Any = None, keepdim: bool | None = None) -> Tensor:
        return reductions.var(self, axis, ddof, keepdims, dim=dim, keepdim=keepdim)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, *,
            dim: Any = None, keepdim: bool | None = None) -> Tensor:
        return reductions.std(self, axis, ddof, keepdims, dim=dim, keepdim=keepdim)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> Tensor:
        return reductions.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> Tensor:
        return reductions.min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def prod(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
                keepdim: bool | None = None) -> Tensor:
        return reductions.prod(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def logsumexp(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
                     keepdim: bool | None = None) -> Tensor:
        return reductions.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmax(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> Any:
        return reductions.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> Any:
        return reductions.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def all(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        axis, _ = shape_ops.dim_alias("all", axis, dim)
        result = self.data.all(axis=axis)  # a NumPy scalar, or a lazy Dask array
        return Tensor._make(np.asarray(result) if isinstance(result, np.generic) else result)

    def any(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        axis, _ = shape_ops.dim_alias("any", axis, dim)
        result = self.data.any(axis=axis)
        return Tensor._make(np.asarray(result) if isinstance(result, np.generic) else result)

    def reshape(self, *shape: Any) -> Tensor:
        return shape_ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes: Any) -> Tensor:
        return shape_ops.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return shape_ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        return shape_ops.squeeze(self, axis, dim=dim)

    def flatten(self) -> Tensor:
        return shape_ops.flatten(self)

    def cumsum(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        return reductions.cumsum(self, axis, dim=dim)

    def repeat(self, repeats: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
        return shape_ops.repeat(self, repeats, axis, dim=dim)

    def dot(self, other: Any) -> Tensor:
        return matrix.dot(self, other)

    def trace(self, offset: int = 0) -> Tensor:
        return matrix.trace(self, offset)


def _to_array(data: Any, dtype: Any) -> Any:
    """Copy ``data`` into a new array, as ``np.array`` does, with clear errors."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (str, bytes)) or data is None or isinstance(data, (dict, set)):
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} {data!r}; "
                        "pass numbers, (nested) lists of numbers, or an array.")
    if _is_duck_array(data):  # Dask, CuPy, ...: keep the array type, never load it into memory
        return data.astype(dtype) if dtype is not None else data.copy()
    try:
        array = np.array(data, dtype=dtype)
    except ValueError as exc:
        raise ValueError(
            f"tensor: cannot make a tensor from this {type(data).__name__}: {exc}. "
            "Nested lists must be rectangular (every row the same length)."
        ) from None
    except TypeError as exc:
        raise TypeError(f"tensor: cannot convert {type(data).__name__} to a numeric array: "
                        f"{exc}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"tensor: data of dtype {array.dtype} is not supported; minigrad holds bool, "
            "integer and floating-point numbers. Check for strings, None or ragged "
            "sublists in the input."
        )
    return array


def _is_duck_array(data: Any) -> bool:
    return (not isinstance(data, (np.ndarray, np.generic))
            and hasattr(data, "__array_function__") and hasattr(data, "shape")
            and hasattr(data, "dtype"))


def seed(t: Tensor, gradient: Any, where: str, name: str = "gradient") -> Tensor:
    """The gradient that starts a backward pass from ``t``: ones for a one-element
    ``t`` when none is given, else ``gradient`` checked against ``t``'s shape.
    (``Tensor.backward``, ``mg.autograd.grad`` and ``mg.viz.explain`` all use this.)"""
    if gradient is None:
        if t.size != 1:
            raise ValueError(
                f"{where}: {name} can be omitted only for a one-element tensor, but this "
                f"tensor has shape {t.shape}. Pass {name}= with shape {t.shape} "
                "(e.g. mg.ones_like(t))."
            )
        return Tensor._make(np.ones_like(t.data))
    grad = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=t.dtype)
    if type(t.data) is not type(grad.data):  # Dask/CuPy: the gradient takes t's array type
        grad = Tensor._make(backends.asarray_like(grad.data, t.data))
    if grad.shape != t.shape:
        if grad.size == 1 and t.size == 1:
            return grad.reshape(t.shape)
        raise ValueError(
            f"{where}: {name} has shape {grad.shape} but the tensor has shape {t.shape}; "
            f"they must match."
        )
    return grad


def rephrase(op: str, exc: Exception, tensors: Sequence[Tensor]) -> Exception:
    """A NumPy error from inside ``op``'s forward, said in the op's terms."""
    shapes = ", ".join(str(t.shape) for t in tensors)
    message = str(exc)
    if message.startswith(f"{op}:"):
        return exc  # the op already explained itself
    if "broadcast" in message:
        hint = (
            "Broadcasting aligns shapes from the right; each pair of axes must be equal "
            "or one of them 1. Reshape an operand (e.g. x.reshape(-1, 1)) so they match."
        )
        return ValueError(f"{op}: shapes {shapes} do not broadcast together. {hint}")
    error = type(exc) if type(exc) in (ValueError, IndexError, TypeError) else ValueError
    if isinstance(exc, np.exceptions.AxisError):
        error = np.exceptions.AxisError
    return error(f"{op}: {message} (input shapes: {shapes})")


def as_tensors(op: str, inputs: tuple[Any, ...], share: bool = False) -> tuple[Tensor, ...]:
    """An op's inputs as Tensors: numbers and arrays become constants (see constant)."""
    try:
        return tuple([t if isinstance(t, Tensor) else constant(t, inputs, share) for t in inputs])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{op}: an input could not become a tensor ({exc})") from None


def constant(x: Any, inputs: Sequence[Any], share: bool = False) -> Tensor:
    """Wrap a non-Tensor operand of an op. A Python number takes the dtype of a float
    Tensor beside it, so ``float32_tensor * 2.0`` stays float32 (as NumPy does).
    ``share``: an ndarray is wrapped without a copy (the engine says so when nothing
    is recorded, e.g. a mask in a backward rule: no graph can see it change later)."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        for other in inputs:
            if isinstance(other, Tensor) and other.data.dtype.kind == "f":
                like = other.data
                if type(like) is not np.ndarray:  # CuPy/Dask: their own array type
                    value = np.asarray(x, dtype=like.dtype)
                    return Tensor._make(backends.asarray_like(value, like))
                return number(x, like.dtype)
    if share and type(x) is np.ndarray and x.dtype.kind in "biuf":
        return Tensor._make(x)
    return Tensor(x)


def number(x: float, dtype: np.dtype) -> Tensor:
    """A Python number as a 0-d constant Tensor of ``dtype``. One read-only Tensor per
    (number, dtype) is shared by every op that uses it: y * 0.5 in a loop wraps 0.5
    once. Zeros (0.0 == -0.0) and NaN (never equal to itself) are not shared."""
    t = _NUMBERS.get((x, dtype))
    if t is None:
        array = np.asarray(x, dtype=dtype)
        t = Tensor._make(array)
        if x != 0 and x == x:
            if len(_NUMBERS) >= 1024:
                _NUMBERS.clear()
            array.flags.writeable = False
            _NUMBERS[x, dtype] = t
    return t


_NUMBERS: dict[tuple[Any, np.dtype], Tensor] = {}


# The one upward edge of the package (tests/test_layering.py): Tensor's methods
# and operators call the engine and the ops, which are built on Tensor, so they
# are imported after it is defined.
from minigrad import engine, interop, versions  # noqa: E402
from minigrad.ops import (  # noqa: E402
    arithmetic,
    elementwise,
    indexing,
    inplace,
    matrix,
    reductions,
)
from minigrad.ops import shape as shape_ops  # noqa: E402
