"""median, cov, corrcoef: NumPy's statistics, differentiable.

``median`` is one op (its gradient is a mask picking the middle element);
``cov`` and ``corrcoef`` are composed from minigrad ops, so their gradients
(and second derivatives) come from the ops they are made of.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.engine import Function
from minigrad.ops.elementwise import clip, sqrt, where
from minigrad.ops.matrix import diag, matmul
from minigrad.ops.reductions import _Reduction
from minigrad.ops.reductions import mean as _mean
from minigrad.ops.shape import concatenate, dim_alias, reshape, squeeze, transpose
from minigrad.tensor import Tensor

__all__ = ["corrcoef", "cov", "median"]


class Median(_Reduction):
    """out = the middle of the sorted values;   d out/dx_i = 1 for the middle element

    With an even count the median is the mean of the two middle elements, so
    each of them gets 1/2. Ties are broken by position (a stable sort): the
    gradient goes to the element(s) the sort put in the middle.
    """

    def forward(self, x, axis=None, keepdims=False):
        axes = self.setup(x, axis, keepdims)
        if x.size == 0 or self.count == 0:
            raise ValueError(f"median: cannot take the median of an empty array (shape "
                             f"{x.shape}, axis={axis!r}).")
        return np.median(x, axis=axes, keepdims=keepdims)

    def backward(self, grad, out, x):
        rank = _ranks(x, self.axes)  # each element's place in its sorted lane
        n = self.count
        half = self._keep(grad) * 0.5  # odd n: the middle gets both halves
        return where(rank == (n - 1) // 2, half, 0) + where(rank == n // 2, half, 0)


def median(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool | None = None) -> Tensor:
    """Median over ``axis`` (None: all elements), as ``numpy.median``.

    The gradient goes to the middle element, or half to each of the two middle
    ones when the count is even.

    >>> import minigrad as mg
    >>> x = mg.tensor([3.0, 1.0, 4.0, 2.0], requires_grad=True)
    >>> m = mg.median(x)
    >>> m.backward()
    >>> m.item(), x.grad
    (2.5, Tensor([0.5, 0. , 0. , 0.5]))
    """
    axis, keepdims = dim_alias("median", axis, dim, keepdims, keepdim)
    return Median.apply(a, axis=axis, keepdims=keepdims)


class Argsort(Function):
    """out = the indices that sort x along its last axis (a stable sort): integers,
    not differentiable, but an op, so that mg.compile sees it"""

    saves = ()

    def forward(self, x):
        return np.argsort(x, axis=-1, kind="stable")


def _ranks(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """Each element's position in the stable sort of its lane over ``axes`` (integers)."""
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = x.transpose(kept + list(axes)) if x.ndim else x.reshape(1)
    flat = moved.reshape(moved.shape[: len(kept)] + (-1,))
    rank = Argsort.apply(Argsort.apply(flat))  # the inverse of the sorting permutation
    if not x.ndim:
        return rank.reshape(())
    return rank.reshape(moved.shape).transpose(tuple(np.argsort(kept + list(axes))))


def _as_2d(x: Any, rowvar: bool, name: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim > 2:
        raise ValueError(f"cov: {name} has shape {x.shape}; it must be 1-D or 2-D (variables "
                         "in rows, observations in columns, or the reverse with rowvar=False).")
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.ndim < 2:
        x = reshape(x, (1, -1))
    if not rowvar and x.shape[0] != 1:
        x = transpose(x)
    return x


def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False,
        ddof: int | None = None) -> Tensor:
    """Covariance matrix, as ``numpy.cov``: each row of ``m`` is a variable (``rowvar=True``).

    ``y`` adds more variables; the normalization is ``N - 1`` (``N`` with
    ``bias=True``, ``N - ddof`` when ``ddof`` is given). A single variable gives a
    0-d result, as NumPy.

    >>> import minigrad as mg
    >>> mg.cov(mg.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]))
    Tensor([[1., 2.],
            [2., 4.]])
    """
    x = _as_2d(m, rowvar, "m")
    if y is not None:
        other = _as_2d(y, rowvar, "y")
        if other.shape[1] != x.shape[1]:
            raise ValueError(f"cov: m has {x.shape[1]} observations but y has {other.shape[1]};"
                             " they must have the same number of observations.")
        x = concatenate([x, other], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    count = x.shape[1] - ddof
    if count <= 0:
        raise ValueError(f"cov: {x.shape[1]} observations with ddof={ddof} leave {count} "
                         "degrees of freedom; need more observations or a smaller ddof.")
    centered = x - _mean(x, axis=1, keepdims=True)
    return squeeze(matmul(centered, transpose(centered)) / count)


def corrcoef(x: Any, y: Any = None, rowvar: bool = True) -> Tensor:
    """Pearson correlation coefficients, as ``numpy.corrcoef`` (clipped to [-1, 1]).

    >>> import minigrad as mg
    >>> mg.corrcoef(mg.tensor([1.0, 2.0, 3.0, 4.0]), mg.tensor([10.0, 20.0, 30.0, 40.0]))
    Tensor([[1., 1.],
            [1., 1.]])
    """
    c = cov(x, y, rowvar)
    if c.ndim == 0:
        return c / c
    std = sqrt(diag(c))
    c = c / reshape(std, (-1, 1)) / reshape(std, (1, -1))
    return clip(c, -1.0, 1.0)
