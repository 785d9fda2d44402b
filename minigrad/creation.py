"""Factories: tensor, from_numpy, zeros, ones, full, zeros_like, ones_like, eye,
arange, linspace, randn, rand -- NumPy's names and arguments, plus
``requires_grad=`` and ``dtype=``."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor, constant, number  # noqa: F401  (their home is tensor.py)


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


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _count(fn: str, what: str, n: Any) -> int:
    """``n`` as a non-negative int, or an error naming ``fn`` and the fix."""
    if not _is_int(n) or n < 0:
        raise (ValueError if _is_int(n) else TypeError)(
            f"{fn}: {what} must be a non-negative int, got {n!r}; pass e.g. 3.")
    return int(n)


def _shape(shape: Any, fn: str = "shape") -> tuple[int, ...]:
    """``shape`` (an int or a sequence of ints) as a tuple, checked for ``fn``."""
    dims = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if not all(_is_int(d) and d >= 0 for d in dims):
        bad_type = not all(_is_int(d) for d in dims)
        raise (TypeError if bad_type else ValueError)(
            f"{fn}: shape must be an int or a tuple of non-negative ints, got {shape!r}. "
            f"Pass e.g. {fn}(3) or {fn}((2, 3)).")
    return tuple(int(d) for d in dims)


def zeros(shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.zeros(_shape(shape, "zeros"), dtype=dtype or np.float64), requires_grad)


def ones(shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _wrap(np.ones(_shape(shape, "ones"), dtype=dtype or np.float64), requires_grad)


def full(shape: Any, value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    fill = value.data if isinstance(value, Tensor) else np.asarray(value)
    if fill.dtype.kind not in "biuf":
        raise TypeError(f"full: the fill value must be a number, got {value!r}. "
                        "Pass e.g. full((2, 3), 0.5).")
    return _wrap(np.full(_shape(shape, "full"), fill, dtype=dtype), requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    data = t.data if isinstance(t, Tensor) else t
    return _wrap(np.zeros_like(data, dtype=dtype), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    data = t.data if isinstance(t, Tensor) else t
    return _wrap(np.ones_like(data, dtype=dtype), requires_grad)


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = None,
        requires_grad: bool = False) -> Tensor:
    n = _count("eye", "n", n)
    m = None if m is None else _count("eye", "m", m)
    if not _is_int(k):
        raise TypeError(f"eye: k (the diagonal offset) must be an int, got {k!r}.")
    return _wrap(np.eye(n, m, k, dtype=dtype or np.float64), requires_grad)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as ``np.arange`` (ints stay ints)."""
    try:
        array = np.arange(start, stop, step, dtype=dtype) if stop is not None else \
            np.arange(start, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"arange: start, stop and step must be numbers, got {start!r}, "
                        f"{stop!r}, {step!r} ({exc}).") from None
    return _wrap(array, requires_grad)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    num = _count("linspace", "num (the number of points)", num)
    return _wrap(np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype), requires_grad)


def _generator(rng: Any, fn: str = "") -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"{fn + ': ' if fn else ''}rng must be a numpy.random.Generator, "
                    f"an int seed or None, not {type(rng).__name__}.")


def randn(*shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of the given shape (``mg.randn(2, 3)`` or ``mg.randn((2, 3))``)."""
    shape = _shape(shape[0] if len(shape) == 1 else shape, "randn")
    data = _generator(rng, "randn").standard_normal(shape)
    return _wrap(data.astype(dtype) if dtype is not None else data, requires_grad)


def rand(*shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of the given shape."""
    shape = _shape(shape[0] if len(shape) == 1 else shape, "rand")
    data = _generator(rng, "rand").random(shape)
    return _wrap(data.astype(dtype) if dtype is not None else data, requires_grad)
