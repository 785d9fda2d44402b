"""reshape, transpose, swapaxes, squeeze, expand_dims, broadcast_to, flatten,
concatenate, stack.

Shape ops move numbers around without changing them, so each backward rule
moves the gradient back the same way: reshape it back, transpose it back,
slice it apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.engine import Function
from minigrad.ops.indexing import ScatterAdd, getitem
from minigrad.tensor import Tensor


class Reshape(Function):
    """out = x viewed with a new shape;   the gradient is reshaped back"""

    saves = ()

    def forward(self, x, shape):
        try:
            try:
                return x.reshape(shape)
            except NotImplementedError:  # Dask only merges/splits axes: go through 1-D
                return x.reshape(-1).reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {shape}; the new shape must hold the same number of elements "
                "(one axis may be -1 to infer it)."
            ) from None

    def backward(self, grad, out, x):
        return grad.reshape(x.shape)


def reshape(x: Any, shape: Any) -> Tensor:
    """Same elements, new shape (an int or a tuple; one entry may be -1)."""
    shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return Reshape.apply(x, shape=shape)


def flatten(x: Any) -> Tensor:
    """All elements in one axis (C order)."""
    return reshape(x, -1)


class Transpose(Function):
    """out = x with axes permuted;   the gradient is permuted back"""

    saves = ()

    def forward(self, x, axes):
        if axes is not None:  # -1 and ndim - 1 are the same axis: inverting needs one spelling
            axes = tuple(_axis(a, x.ndim, "transpose") for a in axes)
            if sorted(axes) != list(range(x.ndim)):
                raise ValueError(f"transpose: axes {axes} must be a permutation of "
                                 f"0..{x.ndim - 1} for a tensor of shape {x.shape}.")
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, grad, out, x):
        inverse = None if self.axes is None else tuple(np.argsort(self.axes))
        return transpose(grad, inverse)


def transpose(x: Any, axes: Any = None) -> Tensor:
    """Reverse the axes, or permute them as ``axes`` says."""
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


class Swapaxes(Function):
    """out = x with two axes swapped;   the gradient is swapped back"""

    saves = ()

    def forward(self, x, axis1, axis2):
        self.axis1, self.axis2 = axis1, axis2
        return np.swapaxes(x, axis1, axis2)

    def backward(self, grad, out, x):
        return swapaxes(grad, self.axis1, self.axis2)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes."""
    return Swapaxes.apply(x, axis1=axis1, axis2=axis2)


class Squeeze(Function):
    """out = x without size-1 axes;   the gradient is reshaped back"""

    saves = ()

    def forward(self, x, axis):
        return np.squeeze(x, axis)

    def backward(self, grad, out, x):
        return grad.reshape(x.shape)


def squeeze(x: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """Remove size-1 axes (all of them, or those named by ``axis``)."""
    axis, _ = dim_alias("squeeze", axis, dim)
    return Squeeze.apply(x, axis=axis)


class ExpandDims(Function):
    """out = x with a new size-1 axis;   the gradient is reshaped back"""

    saves = ()

    name = "expand_dims"

    def forward(self, x, axis):
        return np.expand_dims(x, axis)

    def backward(self, grad, out, x):
        return grad.reshape(x.shape)


def expand_dims(x: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """Insert a size-1 axis at ``axis`` (PyTorch's ``unsqueeze(x, dim)``)."""
    axis, _ = dim_alias("expand_dims", axis, dim)
    if axis is None:
        raise TypeError("expand_dims: give the position of the new axis, axis= (or dim=).")
    return ExpandDims.apply(x, axis=axis)


class BroadcastTo(Function):
    """out = x repeated along broadcast axes;   each copy's gradient flows back

    The rule returns the gradient at the output's shape: the engine's
    unbroadcast sums it over the copies.
    """

    saves = ()

    name = "broadcast_to"

    def forward(self, x, shape):
        if type(x) is np.ndarray and x.ndim == 0 and min(shape, default=0) >= 0:
            # a single number (the gradient of a full sum): a read-only view with
            # stride 0 on every axis, which is what np.broadcast_to makes, made faster
            view = np.ndarray(shape, x.dtype, x, 0, (0,) * len(shape))
            view.flags.writeable = False
            return view
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(
                f"broadcast_to: a tensor of shape {x.shape} cannot be broadcast to {shape}; "
                "each axis must match or be 1 (new axes are added on the left)."
            ) from None

    def backward(self, grad, out, x):
        return grad


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """Repeat ``x`` along new or size-1 axes to reach ``shape`` (NumPy's rules)."""
    shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


class Concatenate(Function):
    """out = [x1, x2, ...] joined along an axis;   each input gets its slice of the gradient"""

    saves = ()

    def forward(self, *arrays, axis):
        self.axis = axis  # None: every input is flattened first
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad, out, *inputs):
        axis = 0 if self.axis is None else self.axis % grad.ndim
        grads, start = [], 0
        for x in inputs:
            stop = start + (x.size if self.axis is None else x.shape[axis])
            piece = getitem(grad, (slice(None),) * axis + (slice(start, stop),))
            grads.append(piece.reshape(x.shape) if self.axis is None else piece)
            start = stop
        return tuple(grads)


def concatenate(tensors: Sequence[Any], axis: int | None = 0, *, dim: Any = None) -> Tensor:
    """Join tensors along an existing axis (None: flatten them first, as NumPy)."""
    axis, _ = dim_alias("concatenate", axis, dim, default=0)
    _check_sequence(tensors, "concatenate")
    return Concatenate.apply(*tensors, axis=axis)


class Stack(Function):
    """out = [x1, x2, ...] stacked along a new axis;   input i gets the gradient's slice i"""

    saves = ()

    def forward(self, *arrays, axis):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad, out, *inputs):
        axis = self.axis % grad.ndim
        return tuple(getitem(grad, (slice(None),) * axis + (i,)) for i in range(len(inputs)))


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: Any = None) -> Tensor:
    """Join tensors of the same shape along a new axis."""
    axis, _ = dim_alias("stack", axis, dim, default=0)
    _check_sequence(tensors, "stack")
    return Stack.apply(*tensors, axis=axis)


def dim_alias(op: str, axis: Any, dim: Any, keepdims: bool = False, keepdim: bool | None = None,
              default: Any = None) -> tuple[Any, bool]:
    """``dim=`` and ``keepdim=`` are PyTorch's names for NumPy's ``axis=`` and ``keepdims=``:
    every op that takes an axis accepts either spelling (keyword only), never both."""
    if dim is not None:
        if axis is not None and axis != default:
            raise TypeError(f"{op}: got axis={axis!r} and dim={dim!r}; they are one argument "
                            "(dim is PyTorch's name for axis): pass only one.")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{op}: got keepdims=True and keepdim={keepdim!r}; they are one "
                            "argument (keepdim is PyTorch's name for keepdims): pass only one.")
        keepdims = bool(keepdim)
    return axis, keepdims


def _axis(axis: Any, ndim: int, op: str) -> int:
    """One axis in [0, ndim), from an int that may count from the end (-1 is the last)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: an axis must be an int, not {axis!r}.")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{op}: axis {axis} is out of range for a tensor with "
                                      f"{ndim} dimensions; use an axis in [{-ndim}, {ndim}).")
    return int(axis) % ndim


def _check_sequence(tensors: Any, op: str) -> None:
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence) or not tensors:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors, "
                        f"got {type(tensors).__name__}.")


# -- pad, tile, repeat, split, tril, triu ---------------------------------------------


class Pad(Function):
    """out = x with constant borders;   the gradient is the slice of grad where x sits"""

    saves = ()

    def forward(self, x, pad_width, constant_values):
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        shape = tuple(before + n + after for (before, after), n in zip(pad_width, x.shape))
        out = np.full_like(x, constant_values, shape=shape)  # np.pad, without its overhead
        out[self.inner] = x
        return out

    def backward(self, grad, out, x):
        return getitem(grad, self.inner)


def pad(x: Any, pad_width: Any, constant_values: float = 0) -> Tensor:
    """Pad with a constant, NumPy's ``pad_width``: an int, ``(before, after)``, or one
    pair per axis.

    >>> import minigrad as mg
    >>> mg.pad(mg.tensor([1.0, 2.0]), 1).tolist()
    [0.0, 1.0, 2.0, 0.0]
    """
    ndim = np.ndim(x.data if isinstance(x, Tensor) else x)
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor with {ndim} "
                         "dimensions; give an int, (before, after), or one (before, after) "
                         "pair per axis.") from None
    if widths.dtype.kind not in "iu" or (widths < 0).any():
        raise ValueError(f"pad: pad_width must hold non-negative ints, got {pad_width!r}.")
    widths = tuple((int(b), int(a)) for b, a in widths)
    return Pad.apply(x, pad_width=widths, constant_values=constant_values)


class Tile(Function):
    """out = x repeated reps times along each axis;   each copy's gradient is summed back

    Viewing the gradient as (r0, n0, r1, n1, ...) puts each axis's copies on
    their own axis, so the sum is over the r axes.
    """

    saves = ()

    def forward(self, x, reps):
        return np.tile(x, reps)

    def backward(self, grad, out, x):
        ndim = grad.ndim
        sizes = (1,) * (ndim - x.ndim) + x.shape
        copies = tuple(g // n for g, n in zip(grad.shape, sizes))
        paired = grad.reshape(tuple(v for pair in zip(copies, sizes) for v in pair))
        return paired.sum(axis=tuple(range(0, 2 * ndim, 2))).reshape(x.shape)


def tile(x: Any, reps: Any) -> Tensor:
    """Repeat the whole tensor ``reps`` times along each axis (NumPy's ``tile``)."""
    reps = tuple(reps) if isinstance(reps, (list, tuple)) else (reps,)
    return Tile.apply(x, reps=reps)


class Repeat(Function):
    """out = each element of x repeated along an axis;   d out/dx adds each repeat's gradient

    The output is x gathered at repeated indices, so the rule is indexing's
    scatter-add (``ScatterAdd``), which handles per-element repeat counts too.
    """

    saves = ()

    def forward(self, x, repeats, axis):
        # a gather (Dask arrays have no np.repeat with counts or axis=None, but gather)
        if axis is None:  # over the flattened tensor
            positions = np.repeat(np.arange(x.size), repeats)
            self.index = np.unravel_index(positions, x.shape)
            return x.reshape(-1)[positions]
        self.index = ((slice(None),) * (axis % x.ndim)
                      + (np.repeat(np.arange(x.shape[axis]), repeats),))
        return x[self.index]

    def backward(self, grad, out, x):
        return ScatterAdd.apply(grad, shape=x.shape, index=self.index)


def repeat(x: Any, repeats: Any, axis: int | None = None, *, dim: Any = None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along
    ``axis`` (None: the flattened tensor), as NumPy's ``repeat``."""
    axis, _ = dim_alias("repeat", axis, dim)
    x = x if isinstance(x, Tensor) else Tensor(x)
    counts = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise TypeError(f"repeat: repeats must be an int or a 1-D sequence of ints (one count "
                        f"per element), not {repeats!r}.")
    n = x.size if axis is None else x.shape[_axis(axis, x.ndim, "repeat")]
    where_ = "the flattened tensor" if axis is None else f"axis {axis}"
    if counts.ndim == 1 and counts.size not in (1, n):
        raise ValueError(f"repeat: got {counts.size} repeat counts for {where_} of length {n} "
                         f"(shape {x.shape}); give one count per element ({n} of them) or a "
                         "single int.")
    if np.any(counts < 0):
        raise ValueError(f"repeat: repeat counts must be >= 0, got {counts.tolist()}.")
    return Repeat.apply(x, repeats=repeats, axis=axis)


class Tril(Function):
    """out = x with the elements above diagonal k set to 0;   the gradient is masked the same way

    (``triu`` is the same op keeping the upper triangle.) Stacks of matrices:
    the last two axes.
    """

    saves = ()

    def forward(self, x, k, upper):
        if x.ndim < 2:
            raise ValueError(f"{'triu' if upper else 'tril'}: needs a matrix (2 or more "
                             f"dimensions), got shape {x.shape}.")
        self.k, self.upper = k, upper
        return np.triu(x, k) if upper else np.tril(x, k)

    def backward(self, grad, out, x):
        return Tril.apply(grad, k=self.k, upper=self.upper)

    @property
    def op(self) -> str:
        return "triu" if getattr(self, "upper", False) else "tril"


def tril(x: Any, k: int = 0) -> Tensor:
    """The lower triangle (elements above diagonal ``k`` set to 0)."""
    return Tril.apply(x, k=k, upper=False)


def triu(x: Any, k: int = 0) -> Tensor:
    """The upper triangle (elements below diagonal ``k`` set to 0)."""
    return Tril.apply(x, k=k, upper=True)


def split(x: Any, indices_or_sections: Any, axis: int = 0, *, dim: Any = None) -> list[Tensor]:
    """Split into equal sections (an int) or at the given indices, as NumPy's ``split``.

    Each part is a slice of ``x`` (one ``getitem`` node each).
    """
    axis, _ = dim_alias("split", axis, dim, default=0)
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor; reshape it to 1-d first.")
    axis = axis % x.ndim
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections < 1 or n % sections:
            raise ValueError(f"split: an axis of size {n} does not split into {sections} equal "
                             "sections; give split indices instead (e.g. [2, 5]).")
        bounds = list(range(0, n + 1, n // sections))
    else:
        points = np.asarray(indices_or_sections)
        if points.ndim != 1 or (points.size and points.dtype.kind not in "iu"):
            raise TypeError(f"split: indices_or_sections must be an int (the number of equal "
                            f"sections) or a 1-D sequence of ints (the split points), not "
                            f"{indices_or_sections!r}.")
        bounds = [0, *points.tolist(), n]
    head = (slice(None),) * axis
    return [getitem(x, head + (slice(start, max(start, stop)),))
            for start, stop in zip(bounds[:-1], bounds[1:])]
