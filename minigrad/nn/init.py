"""``mg.nn.init``: fill a parameter with initial values, in place (PyTorch's names).

Each function writes into ``tensor.data`` (keeping its dtype), records the
write with :func:`minigrad.versions.mark_modified` (a graph that used the old
values then refuses to backpropagate), and returns the tensor. ``rng`` is a
``numpy.random.Generator``, a seed, or ``None`` (fresh entropy).

*fan_in* and *fan_out* are as PyTorch computes them: for a weight of shape
``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)``.

>>> import minigrad as mg
>>> w = mg.zeros((3, 4), requires_grad=True)
>>> _ = mg.nn.init.xavier_uniform_(w, rng=0)
>>> bool(abs(w.data).max() <= (6 / (3 + 4)) ** 0.5)
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.tensor import Tensor
from minigrad.versions import mark_modified

__all__ = [
    "calculate_gain",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: Any = None) -> Tensor:
    """Fill with draws from U(a, b)."""
    return _fill(tensor, _rng(rng).uniform(a, b, _shape(tensor, "uniform_")), "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, rng: Any = None) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    return _fill(tensor, _rng(rng).normal(mean, std, _shape(tensor, "normal_")), "normal_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, np.zeros(_shape(tensor, "zeros_")), "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, np.ones(_shape(tensor, "ones_")), "ones_")


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, rng: Any = None) -> Tensor:
    """Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, _rng(rng).uniform(-bound, bound, tensor.shape), "xavier_uniform_")


def xavier_normal_(tensor: Tensor, gain: float = 1.0, rng: Any = None) -> Tensor:
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, _rng(rng).normal(0.0, std, tensor.shape), "xavier_normal_")


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng: Any = None) -> Tensor:
    """He: U(-b, b) with b = gain * sqrt(3 / fan), fan = fan_in or fan_out (``mode``).

    PyTorch's default for ``Linear`` and ``Conv`` weights is ``a=sqrt(5)``, which
    gives b = 1 / sqrt(fan_in).
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    bound = math.sqrt(3.0) * std
    return _fill(tensor, _rng(rng).uniform(-bound, bound, tensor.shape), "kaiming_uniform_")


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng: Any = None) -> Tensor:
    """He: N(0, std^2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return _fill(tensor, _rng(rng).normal(0.0, std, tensor.shape), "kaiming_normal_")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
                        "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; use one of "
                     "'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'.")


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str, where: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode must be 'fan_in' or 'fan_out', not {mode!r}.")
    fan_in, fan_out = _fans(tensor, where)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _fans(tensor: Tensor, where: str) -> tuple[int, int]:
    shape = _shape(tensor, where)
    if len(shape) < 2:
        raise ValueError(f"{where}: fan in and fan out need a tensor with 2 or more "
                         f"dimensions, got shape {shape}. Use uniform_ or normal_ for a bias.")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _shape(tensor: Any, where: str) -> tuple[int, ...]:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{where}: expected a Tensor, got {type(tensor).__name__}.")
    return tensor.shape


def _fill(tensor: Tensor, values: np.ndarray, where: str) -> Tensor:
    tensor.data[...] = values  # in place, keeping the dtype: an optimizer holding it sees it
    mark_modified(tensor, where=f"nn.init.{where}")
    return tensor


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
