"""Minibatches from Dask arrays, one chunk at a time (used by ``mg.data.DataLoader``).

A Dask array larger than memory is stored as chunks along its first axis.
Minibatch SGD over it reads one row-chunk of every array (one
``dask.compute`` per chunk), cuts it into batches, and carries the rows left
over into the next chunk, so every batch but the last has ``batch_size``
rows and at most one chunk (plus fewer than ``batch_size`` carried rows) is
in memory at any time.

``shuffle=True`` shuffles the order of the chunks and the rows inside each
chunk (a new order every pass): a chunk-local shuffle, as streaming loaders
do, not a global permutation (that would read every chunk for every batch).

The full batch (``batch_size=None``) is not computed at all: the loader
yields Tensors holding the lazy arrays, and the whole gradient step is
computed in one pass when ``backward`` materializes the gradients.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.tensor import Tensor


def iter_dask_batches(loader: Any) -> Iterator[tuple[Tensor, ...]]:
    """Batches for a :class:`~minigrad.data.DataLoader` holding at least one Dask array."""
    import dask
    import dask.array as da

    arrays = [a if hasattr(a, "__dask_graph__") else da.from_array(a) for a in loader.arrays]
    if loader.batch_size >= loader.n:  # the full batch stays lazy: computed once per step
        if not (loader.drop_last and loader.batch_size > loader.n) and loader.n:
            yield tuple(Tensor._make(a) for a in arrays)
        return
    rows = arrays[0].chunks[0]
    if any(math.isnan(c) for c in rows):
        raise ValueError("DataLoader: a Dask array has unknown chunk sizes (nan) along its "
                         "first axis; call x.compute_chunk_sizes() before making the loader.")
    arrays = [a.rechunk({0: rows}) for a in arrays]  # the same row-chunks in every array
    order = loader.rng.permutation(len(rows)) if loader.shuffle else range(len(rows))
    carry: list[np.ndarray] | None = None
    for block in order:
        parts = list(dask.compute(*[a.blocks[int(block)] for a in arrays]))
        if loader.shuffle:
            perm = loader.rng.permutation(len(parts[0]))
            parts = [p[perm] for p in parts]
        if carry is not None:
            parts = [np.concatenate([c, p]) for c, p in zip(carry, parts, strict=True)]
        full = len(parts[0]) // loader.batch_size * loader.batch_size
        for lo in range(0, full, loader.batch_size):
            yield tuple(Tensor._make(p[lo:lo + loader.batch_size]) for p in parts)
        carry = [p[full:] for p in parts]
    if carry is not None and len(carry[0]) and not loader.drop_last:
        yield tuple(Tensor._make(c) for c in carry)
