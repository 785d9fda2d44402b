"""mg.distributions: Normal, Binomial, Poisson, Bernoulli, differentiable in their parameters.

Each distribution keeps its parameters as Tensors (a Tensor you pass in is kept
as is, so gradients reach it). ``log_prob`` is written with minigrad ops:
the maximum-likelihood fit of a model is gradient descent on ``-log_prob``.
``batch_shape`` is the broadcast shape of the parameters; ``sample(shape)``
returns ``shape + batch_shape`` values (not differentiable; ``Normal.rsample``
is, by the reparameterization loc + scale * eps).

Counts (the ``total_count`` of a Binomial, the values of a Binomial or
Poisson) are integers and so are not differentiated; the log-gamma terms of
their log-probabilities are constants. :func:`lgamma` is nevertheless a
differentiable op (its derivative is :func:`digamma`), for users who need it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.creation import _generator
from minigrad.engine import Function
from minigrad.ops.elementwise import exp, log, where
from minigrad.ops.reductions import sum as _sum
from minigrad.ops.shape import broadcast_to
from minigrad.tensor import Tensor

__all__ = ["Bernoulli", "Binomial", "Distribution", "Normal", "Poisson", "digamma", "lgamma"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ---------------------------------------------------------------------------
# Special functions: log-gamma and its derivatives.
# ---------------------------------------------------------------------------


def _lgamma_np(x: np.ndarray) -> np.ndarray:
    def one(v: float) -> float:
        try:
            return math.lgamma(v)
        except ValueError:  # a pole: 0, -1, -2, ...
            return math.inf
    return np.vectorize(one, otypes=[np.float64])(x).astype(np.result_type(x, np.float32))


def _polygamma_np(x: np.ndarray, order: int) -> np.ndarray:
    """digamma (order 0) or trigamma (order 1): recurrence up to x >= 10, then asymptotics.

    x < 0.5 uses the reflection formula. Accurate to about 1e-14 relative.
    """
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    z = np.where(reflect, 1.0 - x, x)
    acc = np.zeros_like(z)
    while np.any(z < 10):  # psi(z) = psi(z + 1) - 1/z ;  psi'(z) = psi'(z + 1) + 1/z^2
        small = z < 10
        acc = acc + np.where(small, -1.0 / z if order == 0 else 1.0 / (z * z), 0.0)
        z = np.where(small, z + 1, z)
    r = 1.0 / (z * z)
    if order == 0:
        series = np.log(z) - 0.5 / z - r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (
            1 / 240 - r / 132))))
    else:
        series = 1 / z + 0.5 * r + (r / z) * (1 / 6 - r * (1 / 30 - r * (1 / 42 - r / 30)))
    value = acc + series
    with np.errstate(divide="ignore", invalid="ignore"):
        if order == 0:  # psi(x) = psi(1 - x) - pi / tan(pi x)
            value = np.where(reflect, value - np.pi / np.tan(np.pi * x), value)
        else:  # psi'(x) = -psi'(1 - x) + pi^2 / sin^2(pi x)
            value = np.where(reflect, -value + (np.pi / np.sin(np.pi * x)) ** 2, value)
    return value


class Lgamma(Function):
    """out = log|Gamma(x)|;   d out/dx = digamma(x)"""

    def forward(self, x):
        return _lgamma_np(x)

    def backward(self, grad, out, x):
        return grad * digamma(x)


class Digamma(Function):
    """out = digamma(x) = d log Gamma(x)/dx;   d out/dx = trigamma(x)"""

    def forward(self, x):
        return _polygamma_np(x, 0).astype(x.dtype, copy=False)

    def backward(self, grad, out, x):
        return grad * Trigamma.apply(x)


class Trigamma(Function):
    """out = trigamma(x) = d digamma(x)/dx   (its own derivative is not implemented)"""

    def forward(self, x):
        return _polygamma_np(x, 1).astype(x.dtype, copy=False)

    def backward(self, grad, out, x):
        raise NotImplementedError("trigamma: its derivative (the third derivative of lgamma) "
                                  "is not implemented.")


def lgamma(x: Any) -> Tensor:
    """log|Gamma(x)| elementwise (``math.lgamma``; inf at the poles 0, -1, -2, ...).

    >>> import minigrad as mg
    >>> round(mg.distributions.lgamma(mg.tensor(5.0)).item(), 10)  # log(4!)
    3.1780538303
    """
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64))
    return Lgamma.apply(x)


def digamma(x: Any) -> Tensor:
    """The derivative of ``lgamma``; differentiable once more (trigamma)."""
    return Digamma.apply(x)


class Xlogy(Function):
    """out = x log y, with 0 where x = 0 (so 0 log 0 = 0);   d out/dy = x / y,  d out/dx = log y"""

    def forward(self, x, y):
        zero = x == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(zero, 0.0, x * np.log(np.where(zero, 1.0, y)))

    def backward(self, grad, out, x, y):
        zero = x == 0
        safe_y = where(zero, 1, y)
        return grad * log(safe_y), where(zero, 0, grad * x / safe_y)


def _xlogy(x: Any, y: Any) -> Tensor:
    return Xlogy.apply(x, y)


# ---------------------------------------------------------------------------
# The distributions.
# ---------------------------------------------------------------------------


def _param(value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else value.astype(np.float64)
    array = np.asarray(value)
    return Tensor(array if array.dtype.kind == "f" else array.astype(np.float64))


def _check(name: str, what: str, ok: np.ndarray, values: np.ndarray, fix: str) -> None:
    if not np.all(ok):
        bad = values[~ok] if values.ndim else values
        raise ValueError(f"{name}: {what}, but got {np.ravel(bad)[:3].tolist()}. {fix}")


class Distribution:
    """Base class: ``batch_shape``, ``prob = exp(log_prob)``, ``stddev``, sampling shapes."""

    batch_shape: tuple[int, ...] = ()

    def log_prob(self, value: Any) -> Tensor:
        raise NotImplementedError

    def prob(self, value: Any) -> Tensor:
        """The density (Normal) or mass (the others) at ``value``: ``exp(log_prob(value))``."""
        return exp(self.log_prob(value))

    @property
    def stddev(self) -> Tensor:
        return self.variance ** 0.5

    def _size(self, shape: Any) -> tuple[int, ...]:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        return shape + self.batch_shape

    def _value(self, value: Any) -> Tensor:
        return value if isinstance(value, Tensor) else _param(value)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v.data!r}" if v.ndim == 0 else f"{k}: shape {v.shape}"
                           for k, v in vars(self).items() if isinstance(v, Tensor))
        return f"{type(self).__name__}({params})"


class Normal(Distribution):
    """Normal (Gaussian) distribution with mean ``loc`` and standard deviation ``scale`` > 0.

    >>> import minigrad as mg
    >>> round(mg.distributions.Normal(0.0, 1.0).prob(0.0).item(), 6)  # 1 / sqrt(2 pi)
    0.398942
    """

    def __init__(self, loc: Any, scale: Any) -> None:
        self.loc, self.scale = _param(loc), _param(scale)
        _check("Normal", "scale must be positive", self.scale.data > 0, self.scale.data,
               "Pass a standard deviation > 0 (e.g. scale=exp(log_scale)).")
        _check("Normal", "loc must be finite", np.isfinite(self.loc.data), self.loc.data,
               "Pass finite means.")
        self.batch_shape = np.broadcast_shapes(self.loc.shape, self.scale.shape)

    def log_prob(self, value: Any) -> Tensor:
        """log N(value | loc, scale) = -(value - loc)^2 / (2 scale^2) - log(scale) - log(2 pi)/2"""
        z = (self._value(value) - self.loc) / self.scale
        return -0.5 * z * z - log(self.scale) - _HALF_LOG_2PI

    def sample(self, shape: Any = (), rng: Any = None) -> Tensor:
        """Samples of shape ``shape + batch_shape`` (not differentiable; see ``rsample``)."""
        return self.rsample(shape, rng).detach()

    def rsample(self, shape: Any = (), rng: Any = None) -> Tensor:
        """Differentiable samples ``loc + scale * eps`` with eps ~ N(0, 1) (reparameterization)."""
        eps = _generator(rng).standard_normal(self._size(shape)).astype(self.loc.dtype)
        return self.loc + self.scale * eps

    @property
    def mean(self) -> Tensor:
        return broadcast_to(self.loc, self.batch_shape)

    @property
    def variance(self) -> Tensor:
        return broadcast_to(self.scale * self.scale, self.batch_shape)

    def entropy(self) -> Tensor:
        """0.5 + 0.5 log(2 pi) + log(scale), in nats."""
        return broadcast_to(0.5 + _HALF_LOG_2PI + log(self.scale), self.batch_shape)


def _check_probs(name: str, probs: Tensor) -> None:
    _check(name, "probs must lie in [0, 1]", (probs.data >= 0) & (probs.data <= 1), probs.data,
           "Pass probabilities (use mg.sigmoid(logits) to map real numbers into (0, 1)).")


def _check_counts(name: str, value: np.ndarray, upper: np.ndarray | None = None) -> None:
    ok = (value >= 0) & (value == np.round(value))
    if upper is not None:
        ok = ok & (value <= upper)
    within = "" if upper is None else " no larger than total_count"
    _check(name, f"values must be non-negative integers{within}", ok,
           np.broadcast_to(value, ok.shape), "Pass counts (0, 1, 2, ...).")


class Binomial(Distribution):
    """Number of successes in ``total_count`` independent trials of probability ``probs``.

    >>> import minigrad as mg
    >>> round(mg.distributions.Binomial(10, 0.5).prob(5.0).item(), 6)  # C(10, 5) / 2^10
    0.246094
    """

    def __init__(self, total_count: Any, probs: Any) -> None:
        self.total_count, self.probs = _param(total_count).detach(), _param(probs)
        n = self.total_count.data
        _check("Binomial", "total_count must be a non-negative integer",
               (n >= 0) & (n == np.round(n)), n, "Pass the number of trials (0, 1, 2, ...).")
        _check_probs("Binomial", self.probs)
        self.batch_shape = np.broadcast_shapes(self.total_count.shape, self.probs.shape)

    def log_prob(self, value: Any) -> Tensor:
        """log C(n, k) + k log p + (n - k) log(1 - p)   (0 log 0 = 0 at p = 0 or 1)"""
        k = self._value(value).detach()
        _check_counts("Binomial.log_prob", k.data, self.total_count.data)
        return self._log_prob(k)

    def _log_prob(self, k: Tensor) -> Tensor:
        n = self.total_count  # ops on k and n, not their data: mg.compile reads them per call
        log_comb = Lgamma.apply(n + 1) - Lgamma.apply(k + 1) - Lgamma.apply(n - k + 1)
        return log_comb + _xlogy(k, self.probs) + _xlogy(n - k, 1 - self.probs)

    def sample(self, shape: Any = (), rng: Any = None) -> Tensor:
        size = self._size(shape)
        counts = _generator(rng).binomial(self.total_count.data.astype(np.int64),
                                          self.probs.data, size=size)
        return Tensor._make(counts.astype(self.probs.dtype))

    @property
    def mean(self) -> Tensor:
        return broadcast_to(self.total_count * self.probs, self.batch_shape)

    @property
    def variance(self) -> Tensor:
        return broadcast_to(self.total_count * self.probs * (1 - self.probs), self.batch_shape)

    def entropy(self) -> Tensor:
        """-sum_k p(k) log p(k) over the support k = 0..total_count, in nats."""
        n = np.broadcast_to(self.total_count.data, self.batch_shape)
        k = np.arange(int(n.max(initial=0)) + 1, dtype=self.probs.dtype)
        k = k.reshape((-1,) + (1,) * len(self.batch_shape))
        inside = k <= n  # a batch with smaller total_count: terms past it are 0
        log_p = self._log_prob(Tensor._make(np.where(inside, k, 0)))
        return -_sum(where(inside, exp(log_p) * log_p, np.zeros((), log_p.dtype)), axis=0)


class Poisson(Distribution):
    """Number of events at average ``rate`` >= 0 per interval.

    >>> import minigrad as mg
    >>> round(mg.distributions.Poisson(5.0).prob(5.0).item(), 6)  # e^-5 5^5 / 5!
    0.175467
    """

    def __init__(self, rate: Any) -> None:
        self.rate = _param(rate)
        _check("Poisson", "rate must be non-negative", self.rate.data >= 0, self.rate.data,
               "Pass an average count >= 0.")
        self.batch_shape = self.rate.shape

    def log_prob(self, value: Any) -> Tensor:
        """k log(rate) - rate - log(k!)"""
        k = self._value(value).detach()
        _check_counts("Poisson.log_prob", k.data)
        return self._log_prob(k)

    def _log_prob(self, k: Tensor) -> Tensor:
        return _xlogy(k, self.rate) - self.rate - Lgamma.apply(k + 1)

    def sample(self, shape: Any = (), rng: Any = None) -> Tensor:
        counts = _generator(rng).poisson(self.rate.data, size=self._size(shape))
        return Tensor._make(counts.astype(self.rate.dtype))

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def variance(self) -> Tensor:
        return self.rate

    def entropy(self) -> Tensor:
        """-sum_k p(k) log p(k), summed over rate +- 12 sqrt(rate) + 30 (the rest is < 1e-20)."""
        rate = self.rate.data
        top = int(np.ceil(np.max(rate + 12 * np.sqrt(rate), initial=0))) + 30
        bottom = max(int(np.floor(np.min(rate - 12 * np.sqrt(rate), initial=0))) - 30, 0)
        k = np.arange(bottom, top + 1, dtype=self.rate.dtype).reshape((-1,) + (1,) * rate.ndim)
        log_p = self._log_prob(Tensor._make(k))
        possible = log_p > -np.inf  # rate 0: only k = 0 is possible (log p = -inf else)
        log_p = where(possible, log_p, np.zeros((), log_p.dtype))
        return -_sum(where(possible, exp(log_p) * log_p, np.zeros((), log_p.dtype)), axis=0)


class Bernoulli(Distribution):
    """1 with probability ``probs``, else 0.

    >>> import minigrad as mg
    >>> mg.distributions.Bernoulli(0.3).prob(1.0).item()
    0.3
    """

    def __init__(self, probs: Any) -> None:
        self.probs = _param(probs)
        _check_probs("Bernoulli", self.probs)
        self.batch_shape = self.probs.shape

    def log_prob(self, value: Any) -> Tensor:
        """value log p + (1 - value) log(1 - p)"""
        v = self._value(value).detach()
        _check("Bernoulli.log_prob", "values must be 0 or 1", (v.data == 0) | (v.data == 1),
               v.data, "Pass outcomes coded as 0 and 1.")
        return _xlogy(v, self.probs) + _xlogy(1 - v, 1 - self.probs)

    def sample(self, shape: Any = (), rng: Any = None) -> Tensor:
        draws = _generator(rng).random(self._size(shape)) < self.probs.data
        return Tensor._make(draws.astype(self.probs.dtype))

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def entropy(self) -> Tensor:
        """-(p log p + (1 - p) log(1 - p)), in nats (0 log 0 = 0)."""
        return -(_xlogy(self.probs, self.probs) + _xlogy(1 - self.probs, 1 - self.probs))
