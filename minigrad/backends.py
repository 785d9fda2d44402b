"""Other array libraries under the engine: Dask (lazy, out-of-core) and CuPy (GPU).

minigrad's ops are written with NumPy functions (``np.exp``, ``np.sum``, ...).
A Dask or CuPy array passed to them is handed back to its own library by
NumPy's dispatch protocols (``__array_ufunc__`` and ``__array_function__``),
so a Tensor can hold such an array and every op, forward and backward, runs
on it unchanged. This module holds the few things that protocol cannot do:

* :func:`is_lazy` -- is this a Dask array (its values not computed yet)?
* :func:`asarray_like` -- a small NumPy constant moved to the array type of
  another array (a scalar next to a CuPy array must live on the GPU too);
* :func:`to_numpy` -- the values as a NumPy array (computes a Dask array,
  copies a CuPy array to the host);
* :func:`materialize_grads` -- where Dask computes: once per backward, over
  all the gradients (and the scalar loss) together, so one training step is
  one pass over the data. The engine calls it after storing leaf gradients;
  optimizers may call it again at their step boundary (it is then a no-op).

Nothing here imports Dask or CuPy unless one of their arrays is already in
use: the core stays NumPy-only (``pip install minigrad[dask]`` or
``minigrad[cupy]`` for the extras).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["array_namespace", "as_float_array", "asarray_like", "is_lazy", "materialize_grads",
           "scatter_add", "to_numpy"]


def is_lazy(array: Any) -> bool:
    """True for a Dask collection (anything that follows Dask's collection protocol).

    >>> import numpy as np
    >>> is_lazy(np.ones(3))
    False
    """
    return hasattr(array, "__dask_graph__") and not isinstance(array, type)


def array_namespace(*arrays: Any) -> Any:
    """The array-API namespace of ``arrays`` (``numpy`` for NumPy arrays and scalars).

    Uses ``array_api_compat`` when an array is not NumPy (Dask, CuPy); without
    it, falls back to the array's own module (``cupy``, ``dask.array``).

    >>> import numpy as np
    >>> array_namespace(np.ones(2)) is np
    True
    """
    foreign = [a for a in arrays if not isinstance(a, (np.ndarray, np.generic, int, float))]
    if not foreign:
        return np
    try:
        import array_api_compat
    except ImportError:
        import importlib

        return importlib.import_module(type(foreign[0]).__module__.split(".core")[0])
    return array_api_compat.array_namespace(*foreign)


def asarray_like(value: Any, like: Any) -> Any:
    """``value`` (a NumPy array or scalar) as an array of the same library as ``like``.

    NumPy arrays pass through; for others NumPy's ``like=`` protocol (NEP 35)
    creates the array with ``like``'s own library (``cupy.asarray``, ...).
    """
    if isinstance(like, np.ndarray) or type(value) is type(like):
        return value
    return np.asarray(value, like=like)


def as_float_array(data: Any, dtype: Any = np.float64) -> Any:
    """``np.asarray(data, dtype)``, except that Dask and CuPy arrays keep their type
    (converting them with ``np.asarray`` would load a Dask array into memory).

    >>> as_float_array([1, 2])
    array([1., 2.])
    """
    if hasattr(data, "__array_function__") and not isinstance(data, np.ndarray):
        return data if data.dtype == dtype else data.astype(dtype)
    return np.asarray(data, dtype=dtype)


def to_numpy(array: Any) -> np.ndarray:
    """The values of ``array`` as a NumPy array: computes Dask, copies CuPy to the host.

    >>> import numpy as np
    >>> to_numpy(np.arange(3))
    array([0, 1, 2])
    """
    if is_lazy(array):
        array = array.compute()
    if hasattr(array, "get") and not isinstance(array, np.ndarray):  # cupy.ndarray.get()
        array = array.get()
    return np.asarray(array)


def materialize_grads(leaves: Sequence[Any], roots: Iterable[Any] = ()) -> None:
    """Compute, in ONE Dask pass, the lazy gradients of in-memory leaves.

    A NumPy parameter that met Dask data gets a lazy (Dask) gradient; this
    turns it back into NumPy, the parameter's own array type. Gradients of
    leaves that are themselves Dask arrays stay lazy (same type as the leaf).
    One-element lazy ``roots`` (a loss) are computed in the same pass and
    their data replaced by the value, so ``loss.item()`` afterwards reads no
    data again. Without any lazy gradient this returns at once.
    """
    todo = [t for t in leaves
            if t.grad is not None and is_lazy(t.grad.data) and not is_lazy(t.data)]
    if not todo:
        return
    import dask

    small_roots = [r for r in roots if is_lazy(r.data) and r.data.size == 1]
    values = dask.compute(*[t.grad.data for t in todo], *[r.data for r in small_roots])
    for t, value in zip(todo, values, strict=False):
        t.grad.data = asarray_like(np.asarray(value) if np.isscalar(value) else value, t.data)
    for r, value in zip(small_roots, values[len(todo):], strict=True):
        r.data = np.asarray(value)


def scatter_add(out: Any, index: Any, values: Any) -> Any:
    """``out`` with ``values`` added at ``index``, repeated indices accumulating.

    NumPy (and CuPy) do this in place with ``np.add.at``. Dask arrays have no
    ``ufunc.at``; there the flat positions that ``index`` selects are found on
    a NumPy index map of ``out.shape`` and summed with one ``bincount`` (fine
    for gradients of indexing, whose ``out`` fits in memory as an index map).
    """
    try:
        np.add.at(out, index, values)
        return out
    except TypeError:
        if type(out).__module__.startswith("cupy"):  # CuPy without ufunc.at
            import cupyx

            cupyx.scatter_add(out, index, values)
            return out
        if not is_lazy(out):
            raise
    import dask.array as da

    size = int(np.prod(out.shape))
    positions = np.arange(size).reshape(out.shape)[index].reshape(-1)
    weights = da.asarray(values).reshape(-1)
    positions = da.from_array(positions, chunks=weights.chunks)
    added = np.bincount(positions, weights=weights, minlength=size).reshape(out.shape)
    return out + added.astype(out.dtype)
