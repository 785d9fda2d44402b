"""Factories: tensor, from_numpy, zeros, ones, full, zeros_like, ones_like, eye,
arange, linspace, randn, rand -- NumPy's names and arguments, plus
``requires_grad=`` and ``dtype=``."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None) -> Tensor:
    """A Tensor holding a copy of ``data`` (Python floats become float64).

    >>> import minigrad as mg
    >>> mg.tensor([1.0, 2.0]).dtype
    dtype('float64')
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A Tensor sharing ``array``'s memory (no copy): writes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}; "
                        "use mg.tensor() for other data.")
    t = Tensor._make(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: dtype {array.dtype} is not supported.")
    return t.requires_grad_(requires_grad) if requires_grad else t


def _wrap(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    return t.requires_grad_(True) if requires_grad else t


def _shape(shape: Any) -> tuple[int, ...]:
    return tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)


def zeros(shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.zeros(_shape(shape), dtype=dtype or np.float64), requires_grad)


def ones(shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.ones(_shape(shape), dtype=dtype or np.float64), requires_grad)


def full(shape: Any, value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.full(_shape(shape), value, dtype=dtype), requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    data = t.data if isinstance(t, Tensor) else t
    return _wrap(np.zeros_like(data, dtype=dtype), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    data = t.data if isinstance(t, Tensor) else t
    return _wrap(np.ones_like(data, dtype=dtype), requires_grad)


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = None,
        requires_grad: bool = False) -> Tensor:
    return _wrap(np.eye(n, m, k, dtype=dtype or np.float64), requires_grad)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as ``np.arange`` (ints stay ints)."""
    array = np.arange(start, stop, step, dtype=dtype) if stop is not None else \
        np.arange(start, dtype=dtype)
    return _wrap(array, requires_grad)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _wrap(np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype), requires_grad)


def _generator(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, "
                    f"not {type(rng).__name__}.")


def randn(*shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of the given shape (``mg.randn(2, 3)`` or ``mg.randn((2, 3))``)."""
    shape = _shape(shape[0]) if len(shape) == 1 else shape
    data = _generator(rng).standard_normal(shape)
    return _wrap(data.astype(dtype) if dtype is not None else data, requires_grad)


def rand(*shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of the given shape."""
    shape = _shape(shape[0]) if len(shape) == 1 else shape
    data = _generator(rng).random(shape)
    return _wrap(data.astype(dtype) if dtype is not None else data, requires_grad)
