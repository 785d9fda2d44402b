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
        if _has_array_index(index):
            out = backends.scatter_add(out, index, g)  # repeated indices accumulate
        else:
            out[index] = g  # basic indexing never repeats an element
        return out

    def backward(self, grad, out, g):
        return getitem(grad, self.index)


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "dtype") and p.dtype.kind in "iu" or isinstance(p, list)
               for p in parts)


def _plain_index(index: Any) -> Any:
    """Tensors used as indices become their arrays; lists become arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list):
        index = np.asarray(index)
    if hasattr(index, "dtype") and index.dtype.kind not in "biu":
        raise IndexError(f"getitem: index arrays must be integer or bool, not {index.dtype}.")
    return index


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]``; the gradient scatter-adds, so repeated indices accumulate."""
    return GetItem.apply(x, index=_plain_index(index))
