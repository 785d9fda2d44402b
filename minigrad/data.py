"""Batches of data for training loops: ``mg.data.DataLoader``.

``batch_size=None`` gives the full batch (gradient descent: one step per
pass); an int gives minibatches (stochastic gradient descent: one step per
minibatch, usually with ``shuffle=True``).

>>> import numpy as np
>>> import minigrad as mg
>>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
>>> loader = mg.data.DataLoader(X, y, batch_size=2)
>>> len(loader), [xb.shape for xb, yb in loader]
(3, [(2, 2), (2, 2), (1, 2)])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad._dask import iter_dask_batches
from minigrad.backends import is_lazy
from minigrad.tensor import Tensor

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``arrays`` together in batches along their first axis.

    Parameters
    ----------
    *arrays
        NumPy arrays, Tensors or nested lists, all with the same length.
    batch_size
        Rows per batch; ``None`` (default) yields the whole dataset as one batch.
    shuffle
        Draw a new random order at the start of every pass.
    rng
        A ``numpy.random.Generator`` or a seed for the shuffling; a seed makes
        the whole sequence of passes reproducible.
    drop_last
        Skip the final batch when it is smaller than ``batch_size``.

    Each iteration yields a tuple of Tensors (one per array; they do not
    require grad). ``len(loader)`` is the number of batches per pass.
    """

    def __init__(self, *arrays: Any, batch_size: int | None = None, shuffle: bool = False,
                 rng: Any = None, drop_last: bool = False) -> None:
        if not arrays:
            raise ValueError("DataLoader: give at least one array, e.g. DataLoader(X, y).")
        self.arrays = [a.data if isinstance(a, Tensor) else a if is_lazy(a) else np.asarray(a)
                       for a in arrays]  # Dask arrays stay lazy: never loaded whole
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"DataLoader: array {i} is a scalar; every array needs a "
                                 "first axis of samples.")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"DataLoader: arrays have different lengths {lengths} (shapes "
                             f"{shapes}); every array needs one row per sample.")
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer))
                                       or isinstance(batch_size, bool) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None (the "
                             f"full batch), not {batch_size!r}.")
        self.n = lengths[0]
        self.batch_size = self.n if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def __len__(self) -> int:
        if self.n == 0:
            return 0
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)  # ceiling division

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        if any(is_lazy(a) for a in self.arrays):  # Dask: chunk by chunk (minigrad/_dask.py)
            yield from iter_dask_batches(self)
            return
        order = self.rng.permutation(self.n) if self.shuffle else None
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self.n)
            if order is None:
                if lo == 0 and hi == self.n:  # the full batch: no copy
                    yield tuple(Tensor._make(a) for a in self.arrays)
                else:
                    yield tuple(Tensor._make(a[lo:hi]) for a in self.arrays)
            else:
                idx = order[lo:hi]
                yield tuple(Tensor._make(a[idx]) for a in self.arrays)
