"""sum, mean, var, std, max, min, prod, logsumexp, softmax, log_softmax; argmax, argmin.

A reduction's output has fewer axes than its input. In backward, the upstream
gradient is first given back the reduced axes as size-1 axes (``_keep``), so
that it broadcasts against the input: every input element that fed an output
element receives that element's gradient.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from minigrad import backends
from minigrad.engine import Function, is_grad_enabled
from minigrad.ops.elementwise import exp, where
from minigrad.ops.shape import broadcast_to, dim_alias, expand_dims
from minigrad.tensor import Tensor


def _normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, not {axis!r}.")
        if not -ndim <= a < builtins.max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise np.exceptions.AxisError(
                f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions; "
                f"use an axis in [{-ndim}, {ndim}).")
        result.append(int(a) % builtins.max(ndim, 1))
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis.")
    return tuple(result) if ndim else ()


class _Reduction(Function):
    """Shared bookkeeping: the normalized axes, and the upstream gradient with the
    reduced axes restored as size 1."""

    def setup(self, x, axis, keepdims):
        if axis is None:  # everything: the common case, without the general bookkeeping
            self.axes = tuple(range(x.ndim))
            self.kept_shape = (1,) * x.ndim
            self.count = x.size
            self.out_shape = ()
            return None
        self.axes = _normalize_axes(axis, x.ndim, self.op)
        self.kept_shape = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
        self.count = math.prod(x.shape[i] for i in self.axes)
        self.out_shape = tuple(n for i, n in enumerate(x.shape) if i not in self.axes)
        return self.axes if x.ndim else None

    def _keep(self, t: Tensor) -> Tensor:
        if t.ndim == 0 or t.shape == self.kept_shape:  # a 0-d tensor broadcasts as it is
            return t
        return t.reshape(self.kept_shape)


class Sum(_Reduction):
    """out = sum_i x_i;   d out/dx_i = 1: every element gets the gradient of its sum"""

    saves = ()

    def forward(self, x, axis=None, keepdims=False):
        return np.sum(x, axis=self.setup(x, axis, keepdims), keepdims=keepdims)

    def backward(self, grad, out, x):
        return broadcast_to(self._keep(grad), x.shape)


def sum(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool | None = None) -> Tensor:
    """Sum over ``axis`` (None: all axes; an int or a tuple; negative counts from the end)."""
    axis, keepdims = dim_alias("sum", axis, dim, keepdims, keepdim)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


class Mean(_Reduction):
    """out = sum_i x_i / n;   d out/dx_i = 1 / n"""

    saves = ()

    def forward(self, x, axis=None, keepdims=False):
        return np.mean(x, axis=self.setup(x, axis, keepdims), keepdims=keepdims)

    def backward(self, grad, out, x):
        return broadcast_to(self._keep(grad) / self.count, x.shape)  # divide before copying


def mean(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
    """Arithmetic mean over ``axis``."""
    axis, keepdims = dim_alias("mean", axis, dim, keepdims, keepdim)
    return Mean.apply(x, axis=axis, keepdims=keepdims)


class Var(_Reduction):
    """out = sum_i (x_i - m)^2 / (n - ddof);   d out/dx_i = 2 (x_i - m) / (n - ddof)

    (The terms through the mean m cancel, since sum_i (x_i - m) = 0.)
    """

    def forward(self, x, axis=None, ddof=0, keepdims=False):
        self.ddof = ddof
        return np.var(x, axis=self.setup(x, axis, keepdims), ddof=ddof, keepdims=keepdims)

    def backward(self, grad, out, x):
        centered = x - mean(x, axis=self.axes, keepdims=True)
        # n - ddof = 0 gives inf (NaN where centered is 0), as the NaN value: IEEE, not a crash
        return self._keep(grad) * centered * (np.float64(2) / (self.count - self.ddof))


def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False, *,
        dim: Any = None, keepdim: bool | None = None) -> Tensor:
    """Variance over ``axis``, dividing by ``n - ddof`` (NumPy's default ddof=0)."""
    axis, keepdims = dim_alias("var", axis, dim, keepdims, keepdim)
    return Var.apply(x, axis=axis, ddof=ddof, keepdims=keepdims)


class Std(_Reduction):
    """out = sqrt(var(x));   d out/dx_i = (x_i - m) / ((n - ddof) out)

    With no spread (out = 0) that is 0 / 0; the gradient there is 0, as PyTorch.
    """

    def forward(self, x, axis=None, ddof=0, keepdims=False):
        self.ddof = ddof
        return np.std(x, axis=self.setup(x, axis, keepdims), ddof=ddof, keepdims=keepdims)

    def backward(self, grad, out, x):
        out = self._keep(out)
        flat = out == 0  # no spread: the gradient is 0 there (as PyTorch), not 0 / 0
        centered = x - mean(x, axis=self.axes, keepdims=True)
        spread = where(flat, 1, out) * (self.count - self.ddof)
        return where(flat, 0, self._keep(grad) * centered / spread)


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False, *,
        dim: Any = None, keepdim: bool | None = None) -> Tensor:
    """Standard deviation over ``axis``, dividing by ``n - ddof``."""
    axis, keepdims = dim_alias("std", axis, dim, keepdims, keepdim)
    return Std.apply(x, axis=axis, ddof=ddof, keepdims=keepdims)


class Max(_Reduction):
    """out = max_i x_i;   d out/dx_i = 1 at the maximum, 0 elsewhere

    Tied maxima split the gradient evenly (as PyTorch's full reductions). Min is
    the same rule with np.min, so it is this class with one name changed.
    """

    reduce = staticmethod(np.max)

    def forward(self, x, axis=None, keepdims=False):
        return self.reduce(x, axis=self.setup(x, axis, keepdims), keepdims=keepdims)

    def backward(self, grad, out, x):
        hits = x == self._keep(out)  # where the extreme is: one place, or several tied
        share = (hits / hits.sum(axis=self.axes, keepdims=True)).astype(x.dtype)
        return self._keep(grad) * share


def max(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool | None = None) -> Tensor:
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    axis, keepdims = dim_alias("max", axis, dim, keepdims, keepdim)
    return Max.apply(x, axis=axis, keepdims=keepdims)


class Min(Max):
    """out = min_i x_i;   d out/dx_i = 1 at the minimum, 0 elsewhere (ties split evenly)"""

    reduce = staticmethod(np.min)


def min(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool | None = None) -> Tensor:
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    axis, keepdims = dim_alias("min", axis, dim, keepdims, keepdim)
    return Min.apply(x, axis=axis, keepdims=keepdims)


class Prod(_Reduction):
    """out = prod_i x_i;   d out/dx_i = prod_{j != i} x_j  (= out / x_i when x_i != 0)

    With zeros in x, out / x_i is 0/0. The product of the others is then, per lane:
    with one zero, the product of the non-zeros at the zero and 0 elsewhere; with
    two or more zeros, 0 everywhere. When this rule is itself differentiated at a
    zero (create_graph=True), it is computed as a product of the others, exactly,
    so that second derivatives there are right, not silently 0.
    """

    def forward(self, x, axis=None, keepdims=False):
        return np.prod(x, axis=self.setup(x, axis, keepdims), keepdims=keepdims)

    def backward(self, grad, out, x):
        zero = x == 0
        if is_grad_enabled() and not backends.is_lazy(x.data) and zero.data.any():
            return self._keep(grad) * _others_product(x, self.axes)
        zeros = zero.sum(axis=self.axes, keepdims=True)  # how many zeros in each lane
        safe = where(zero, 1, x)
        at_one_zero = where(zero, safe.prod(axis=self.axes, keepdims=True), 0)
        g = self._keep(grad)
        return where(zeros == 0, g * self._keep(out) / safe,
                     g * where(zeros == 1, at_one_zero, 0))


def prod(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
    """Product over ``axis``."""
    axis, keepdims = dim_alias("prod", axis, dim, keepdims, keepdim)
    return Prod.apply(x, axis=axis, keepdims=keepdims)


def _others_product(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """prod_{j != i} x_j for every i, in minigrad ops (so differentiable again): row i
    of an (n, n) matrix is x with x_i replaced by 1, and each row is multiplied out.
    O(n^2) memory; used only for create_graph=True at an x with zeros."""
    kept = [i for i in range(x.ndim) if i not in axes]
    order = kept + list(axes)
    moved = x.transpose(order) if x.ndim else x
    lead = moved.shape[: len(kept)]
    n = math.prod(moved.shape[len(kept):])
    flat = moved.reshape(lead + (n,))
    rows = where(np.eye(n, dtype=bool), 1, expand_dims(flat, -2))  # (..., n, n)
    others = rows.prod(axis=-1).reshape(moved.shape)
    return others.transpose(tuple(np.argsort(order))) if x.ndim else others


def _safe_exp(shifted: np.ndarray) -> np.ndarray:
    # After subtracting the max every exponent is <= 0: exp cannot overflow, and
    # an exponent far below 0 underflowing to exactly 0 is the right answer.
    with np.errstate(under="ignore"):
        return np.exp(shifted)


def _shifted(x: np.ndarray, axes: Any) -> np.ndarray:
    peak = np.max(x, axis=axes, keepdims=True)
    return x - np.where(np.isfinite(peak), peak, 0)


class Logsumexp(_Reduction):
    """out = log sum_i exp(x_i);   d out/dx_i = exp(x_i - out)  (the softmax)

    Computed as m + log sum_i exp(x_i - m) with m = max x: no overflow.
    """

    def forward(self, x, axis=None, keepdims=False):
        axes = self.setup(x, axis, keepdims)
        peak = np.max(x, axis=axes, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0)
        out = np.log(np.sum(_safe_exp(x - peak), axis=axes, keepdims=True)) + peak
        return out if keepdims else out.reshape(self.out_shape)

    def backward(self, grad, out, x):
        with np.errstate(under="ignore"):  # exp of a very negative x - out is 0: right
            return self._keep(grad) * exp(x - self._keep(out))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
                 keepdim: bool | None = None) -> Tensor:
    """log(sum(exp(x))) over ``axis``, stable for any magnitude of x.

    >>> import minigrad as mg
    >>> mg.logsumexp(mg.tensor([1000.0, 1000.0])).item()
    1000.6931471805599
    """
    axis, keepdims = dim_alias("logsumexp", axis, dim, keepdims, keepdim)
    return Logsumexp.apply(x, axis=axis, keepdims=keepdims)


class Softmax(Function):
    """out_i = exp(x_i) / sum_j exp(x_j);   d out_i/dx_j = out_i (delta_ij - out_j)

    so the vector-Jacobian product is out * (grad - sum(grad * out)).
    """

    saves = ("out",)

    def forward(self, x, axis=-1):
        self.axis = axis
        e = _safe_exp(_shifted(x, axis))
        return e / np.sum(e, axis=axis, keepdims=True)

    def backward(self, grad, out, x):
        with np.errstate(under="ignore"):  # tiny probabilities times grad: 0 is right
            return out * (grad - (grad * out).sum(axis=self.axis, keepdims=True))


def softmax(x: Any, axis: int = -1, *, dim: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, stable for any magnitude of x."""
    axis, _ = dim_alias("softmax", axis, dim, default=-1)
    return Softmax.apply(x, axis=_single_axis(x, axis, "softmax"))


class LogSoftmax(Function):
    """out_i = x_i - logsumexp(x);   d out_i/dx_j = delta_ij - softmax_j

    so the vector-Jacobian product is grad - exp(out) * sum(grad).
    """

    saves = ("out",)

    name = "log_softmax"

    def forward(self, x, axis=-1):
        self.axis = axis
        shifted = _shifted(x, axis)
        return shifted - np.log(np.sum(_safe_exp(shifted), axis=axis, keepdims=True))

    def backward(self, grad, out, x):
        with np.errstate(under="ignore"):  # exp(out) of a log-probability of -1e4 is 0: right
            return grad - out.exp() * grad.sum(axis=self.axis, keepdims=True)


def log_softmax(x: Any, axis: int = -1, *, dim: Any = None) -> Tensor:
    """x - logsumexp(x) along ``axis``, stable for any magnitude of x."""
    axis, _ = dim_alias("log_softmax", axis, dim, default=-1)
    return LogSoftmax.apply(x, axis=_single_axis(x, axis, "log_softmax"))


def argmax(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool | None = None) -> Any:
    """Index of the maximum (a plain NumPy integer or array, not differentiable)."""
    axis, keepdims = dim_alias("argmax", axis, dim, keepdims, keepdim)
    data = x.data if isinstance(x, Tensor) else _array(x, "argmax")
    axis = _single_axis(data, axis, "argmax") if axis is not None else None
    return np.argmax(data, axis=axis, keepdims=keepdims)


def argmin(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool | None = None) -> Any:
    """Index of the minimum (a plain NumPy integer or array, not differentiable)."""
    axis, keepdims = dim_alias("argmin", axis, dim, keepdims, keepdim)
    data = x.data if isinstance(x, Tensor) else _array(x, "argmin")
    axis = _single_axis(data, axis, "argmin") if axis is not None else None
    return np.argmin(data, axis=axis, keepdims=keepdims)


def _single_axis(x: Any, axis: Any, op: str) -> int:
    ndim = (x.data if isinstance(x, Tensor) else _array(x, op)).ndim
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be a single int, not {axis!r}.")
    return _normalize_axes(axis, builtins.max(ndim, 1), op)[0]


def _array(x: Any, op: str) -> np.ndarray:
    """A non-Tensor argument as a numeric array, with an error naming ``op``."""
    try:
        return Tensor(x).data
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{op}: {exc}") from None


class Cumsum(Function):
    """out_i = sum_{j <= i} x_j along an axis;   d out/dx_j = sum_{i >= j} grad_i

    so the gradient is the cumulative sum of grad taken from the end: reverse,
    cumsum, reverse.
    """

    saves = ()

    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x.reshape(-1) if axis is None else x, axis=0 if axis is None else axis)

    def backward(self, grad, out, x):
        axis = 0 if self.axis is None else self.axis
        reverse = (slice(None),) * axis + (slice(None, None, -1),)
        return cumsum(grad[reverse], axis=axis)[reverse].reshape(x.shape)


def cumsum(x: Any, axis: int | None = None, *, dim: Any = None) -> Tensor:
    """Running sum along ``axis`` (None: over the flattened tensor), as NumPy.

    >>> import minigrad as mg
    >>> mg.cumsum(mg.tensor([1.0, 2.0, 3.0])).tolist()
    [1.0, 3.0, 6.0]
    """
    axis, _ = dim_alias("cumsum", axis, dim)
    if axis is not None:
        axis = _single_axis(x, axis, "cumsum")
    return Cumsum.apply(x, axis=axis)
