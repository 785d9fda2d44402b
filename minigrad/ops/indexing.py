"""Indexing: ``t[idx]`` with ints, slices, None, ``...``, integer and boolean arrays.

The gradient of ``x[idx]`` is a zero array of x's shape with the upstream
gradient added in at ``idx``. *Added*, not assigned: with ``x[[0, 0]]`` the
element x[0] is used twice, so it receives both gradients. ``np.add.at`` does
that (plain ``g[idx] += grad`` would keep only one of them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import backends
from minigrad.engine import Function
from minigrad.tensor import Tensor


class GetItem(Function):
    """out = x[idx];   d out/dx scatters the gradient back to the positions idx read"""

    saves = ()

    def forward(self, x, index):
        self.index = index
        return x[index]

    def backward(self, grad, out, x):
        return ScatterAdd.apply(grad, shape=x.shape, index=self.index)


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]``; the gradient scatter-adds, so repeated indices accumulate."""
    return GetItem.apply(x, index=_plain_index(index))


class ScatterAdd(Function):
    """out = zeros(shape) with g added at idx;   d out/dg = out[idx] (a gather)

    It is the backward of GetItem, written as an op so that it too can be
    differentiated (second derivatives through indexing).
    """

    saves = ()

    name = "scatter_add"

    def forward(self, g, shape, index):
        self.index = index
        if any(n != n for n in g.shape):  # nan: a lazy (Dask) mask selected an unknown count
            raise ValueError("scatter_add: the gradient of x[mask] for a lazy (Dask) boolean "
                             "mask needs the number of selected elements, unknown until "
                             "computed. Use mg.where(mask, x, 0), or index with mask.compute().")
        out = np.zeros_like(g, shape=shape)
        if _is_advanced(index):
            out = backends.scatter_add(out, index, g)  # repeated indices accumulate
        else:
            out[index] = g  # basic indexing never repeats an element
        return out

    def backward(self, grad, out, g):
        return getitem(grad, self.index)


def _plain_index(index: Any) -> tuple:
    """An index as NumPy reads it: a tuple with one entry per indexed axis, in which
    every sequence (a list, a tuple nested in the index tuple, a Tensor) is an array.

    So ``x[:, (1, 1)]`` and ``x[:, [1, 1]]`` are both advanced indexing, as in NumPy:
    they pick column 1 twice, and its gradient gets both contributions.
    """
    parts = index if isinstance(index, tuple) else (index,)
    return tuple(_index_part(p) for p in parts)


def _index_part(part: Any) -> Any:
    if isinstance(part, Tensor):
        part = part.data
    elif isinstance(part, (list, tuple)):
        part = np.asarray(part) if len(part) else np.zeros(0, dtype=np.intp)
    if hasattr(part, "dtype") and part.dtype.kind not in "biu":
        raise IndexError(f"getitem: index arrays must be integer or bool, not {part.dtype}.")
    return part


def _is_advanced(index: tuple) -> bool:
    """True when an entry is an array (NumPy's advanced indexing, which may repeat an
    element); ints, slices, None and ... (basic indexing) never do."""
    return any(hasattr(p, "dtype") and not isinstance(p, np.generic) for p in index)


class TakeAlongAxis(Function):
    """out = x gathered along one axis at ``indices`` (NumPy's take_along_axis);
    d out/dx scatter-adds the gradient back, as for ``x[idx]``"""

    saves = ()

    name = "take_along_axis"

    def forward(self, x, indices, axis):
        if indices.ndim != x.ndim:
            raise ValueError(f"take_along_axis: indices have {indices.ndim} dimensions but the "
                             f"tensor has {x.ndim} (shapes {indices.shape} and {x.shape}); they "
                             "must have the same number (use expand_dims on the indices).")
        # the fancy index NumPy builds: indices on `axis`, an arange broadcast on the others
        self.index = tuple(indices if d == axis else
                           np.arange(n).reshape((1,) * d + (-1,) + (1,) * (x.ndim - d - 1))
                           for d, n in enumerate(x.shape))
        if backends.is_lazy(x):  # Dask takes one index array at a time: gather flat positions
            positions = np.arange(x.size).reshape(x.shape)[self.index]
            return x.reshape(-1)[positions.reshape(-1)].reshape(positions.shape)
        return x[self.index]

    def backward(self, grad, out, x):
        return ScatterAdd.apply(grad, shape=x.shape, index=self.index)


def take_along_axis(x: Any, indices: Any, axis: int | None = -1, *,
                    dim: int | None = None) -> Tensor:
    """Pick values along ``axis`` at integer ``indices`` (same number of dimensions as x,
    other axes broadcast); ``axis=None`` works on the flattened tensor. As NumPy;
    ``dim=`` is PyTorch's name for ``axis`` (pass one of them).

    >>> import minigrad as mg
    >>> x = mg.tensor([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> mg.take_along_axis(x, [[1], [0]], axis=1).tolist()
    [[30.0], [60.0]]
    """
    if dim is not None:
        if axis != -1:
            raise TypeError(f"take_along_axis: got axis={axis!r} and dim={dim!r}; they are one "
                            "argument (dim is PyTorch's name for axis): pass only one.")
        axis = dim
    x = x if isinstance(x, Tensor) else Tensor(x)
    indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if indices.dtype.kind not in "iu":
        raise IndexError(f"take_along_axis: indices must be integers, not {indices.dtype}.")
    if axis is None:
        x, axis = x.reshape(-1), 0
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise np.exceptions.AxisError(f"take_along_axis: axis {axis} is out of range for a "
                                      f"tensor with {x.ndim} dimensions.")
    return TakeAlongAxis.apply(x, indices=indices, axis=axis % x.ndim)
