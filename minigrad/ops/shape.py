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
from minigrad.ops.indexing import getitem
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


class Swapaxes(Function):
    """out = x with two axes swapped;   the gradient is swapped back"""

    saves = ()

    def forward(self, x, axis1, axis2):
        self.axis1, self.axis2 = axis1, axis2
        return np.swapaxes(x, axis1, axis2)

    def backward(self, grad, out, x):
        return swapaxes(grad, self.axis1, self.axis2)


class Squeeze(Function):
    """out = x without size-1 axes;   the gradient is reshaped back"""

    saves = ()

    def forward(self, x, axis):
        return np.squeeze(x, axis)

    def backward(self, grad, out, x):
        return grad.reshape(x.shape)


class ExpandDims(Function):
    """out = x with a new size-1 axis;   the gradient is reshaped back"""

    saves = ()

    name = "expand_dims"

    def forward(self, x, axis):
        return np.expand_dims(x, axis)

    def backward(self, grad, out, x):
        return grad.reshape(x.shape)


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


class Stack(Function):
    """out = [x1, x2, ...] stacked along a new axis;   input i gets the gradient's slice i"""

    saves = ()

    def forward(self, *arrays, axis):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad, out, *inputs):
        axis = self.axis % grad.ndim
        return tuple(getitem(grad, (slice(None),) * axis + (i,)) for i in range(len(inputs)))


def reshape(x: Any, shape: Any) -> Tensor:
    """Same elements, new shape (an int or a tuple; one entry may be -1)."""
    shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return Reshape.apply(x, shape=shape)


def transpose(x: Any, axes: Any = None) -> Tensor:
    """Reverse the axes, or permute them as ``axes`` says."""
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes."""
    return Swapaxes.apply(x, axis1=axis1, axis2=axis2)


def squeeze(x: Any, axis: Any = None) -> Tensor:
    """Remove size-1 axes (all of them, or those named by ``axis``)."""
    return Squeeze.apply(x, axis=axis)


def expand_dims(x: Any, axis: Any) -> Tensor:
    """Insert a size-1 axis at ``axis``."""
    return ExpandDims.apply(x, axis=axis)


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """Repeat ``x`` along new or size-1 axes to reach ``shape`` (NumPy's rules)."""
    shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def flatten(x: Any) -> Tensor:
    """All elements in one axis (C order)."""
    return reshape(x, -1)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    _check_sequence(tensors, "concatenate")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of the same shape along a new axis."""
    _check_sequence(tensors, "stack")
    return Stack.apply(*tensors, axis=axis)


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

