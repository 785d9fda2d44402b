"""exp, log, sqrt, sin, cos, tanh, sigmoid, relu, maximum, minimum, where, clip."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev

from minigrad.engine import Function
from minigrad.tensor import Tensor


class Exp(Function):
    """out = exp(x);   d out/dx = exp(x) = out"""

    saves = ("out",)

    def forward(self, x):
        with np.errstate(under="ignore"):  # exp of a very negative x is 0 (also erf's backward)
            return np.exp(x)

    def backward(self, grad, out, x):
        return grad * out


def exp(x: Any) -> Tensor:
    """e ** x elementwise."""
    return Exp.apply(x)


class Log(Function):
    """out = log(x);   d out/dx = 1 / x"""

    saves = ("inputs",)

    def forward(self, x):
        return np.log(x)

    def backward(self, grad, out, x):
        return grad / x


def log(x: Any) -> Tensor:
    """Natural logarithm elementwise."""
    return Log.apply(x)


class Sqrt(Function):
    """out = sqrt(x);   d out/dx = 1 / (2 sqrt(x)) = 1 / (2 out)"""

    saves = ("out",)

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad, out, x):
        return grad / (2 * out)


def sqrt(x: Any) -> Tensor:
    """Square root elementwise (its gradient is inf at 0, as PyTorch)."""
    return Sqrt.apply(x)


class Sin(Function):
    """out = sin(x);   d out/dx = cos(x)"""

    saves = ("inputs",)

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad, out, x):
        return grad * cos(x)


def sin(x: Any) -> Tensor:
    return Sin.apply(x)


class Cos(Function):
    """out = cos(x);   d out/dx = -sin(x)"""

    saves = ("inputs",)

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad, out, x):
        return -grad * sin(x)


def cos(x: Any) -> Tensor:
    return Cos.apply(x)


class Tanh(Function):
    """out = tanh(x);   d out/dx = 1 - tanh(x)^2 = 1 - out^2"""

    saves = ("out",)

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad, out, x):
        return grad * (1 - out * out)


def tanh(x: Any) -> Tensor:
    return Tanh.apply(x)


class Sigmoid(Function):
    """out = 1 / (1 + exp(-x));   d out/dx = out * (1 - out)"""

    saves = ("out",)

    def forward(self, x):
        # exp(-log(1 + exp(-x))) never overflows, for any x; far below 0 it is 0 (underflow)
        with np.errstate(under="ignore"):
            return np.exp(-np.logaddexp(0, -x))

    def backward(self, grad, out, x):
        with np.errstate(under="ignore"):  # a tiny out times grad rounds to 0: right
            return grad * out * (1 - out)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return Sigmoid.apply(x)


class Relu(Function):
    """out = max(x, 0);   d out/dx = 1 where x > 0, else 0   (relu'(0) = 0, as PyTorch)"""

    saves = ("out",)

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, grad, out, x):
        return grad * (out > 0)  # out > 0 exactly where x > 0


def relu(x: Any) -> Tensor:
    """max(x, 0); the gradient at 0 is 0."""
    return Relu.apply(x)


class Maximum(Function):
    """out = max(x, y);   d out/dx = 1 where x > y, 0 where x < y, 1/2 at ties

    Minimum is the same rule with "wins" meaning smaller, so it is this class
    with two names changed.
    """

    saves = ("inputs",)
    ufunc = np.maximum

    def forward(self, x, y):
        return self.ufunc(x, y)

    def backward(self, grad, out, x, y):
        half = where(x == y, grad * 0.5, grad)  # ties split the gradient 0.5 / 0.5
        return where(self.wins(y, x), 0, half), where(self.wins(x, y), 0, half)

    @staticmethod
    def wins(a, b):
        return a > b


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise maximum; at ties each input receives half the gradient."""
    return Maximum.apply(x, y)


class Minimum(Maximum):
    """out = min(x, y);   d out/dx = 1 where x < y, 0 where x > y, 1/2 at ties"""

    ufunc = np.minimum

    @staticmethod
    def wins(a, b):
        return a < b


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise minimum; at ties each input receives half the gradient."""
    return Minimum.apply(x, y)


class Where(Function):
    """out = cond ? x : y;   d out/dx = cond,   d out/dy = not cond

    ``cond`` is the third input, a bool Tensor that is never differentiated.
    The gradient of the branch not taken is 0, but 0 * NaN is NaN: if a branch
    is NaN or inf where it is not taken (``where(x > 0, sqrt(x), 0)`` at x < 0),
    its gradient is NaN there too. Make the untaken branch safe first:
    ``where(x > 0, sqrt(where(x > 0, x, 1)), 0)``.
    """

    saves = ()  # reads only cond, which no op changes in place

    def forward(self, x, y, cond):
        return np.where(cond, x, y)

    def backward(self, grad, out, x, y, cond):
        return where(cond, grad, 0), where(cond, 0, grad), None


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (broadcast); ``cond`` is not differentiated."""
    if isinstance(cond, Tensor) and cond.dtype != bool:
        cond = cond != 0  # a comparison op (as astype(bool)): mg.compile sees the mask
    if not isinstance(cond, Tensor):
        cond = cond.astype(bool, copy=False) if hasattr(cond, "astype") else np.asarray(cond, bool)
        cond = Tensor._make(cond)
    return Where.apply(a, b, cond)


class Clip(Function):
    """out = min(max(x, lo), hi);   d out/dx = 1 where lo <= x <= hi, else 0

    With Tensor bounds, the gradient goes to the bound that is active (as PyTorch):
    d out/dlo = 1 where x < lo (and lo < hi), d out/dhi = 1 where x > hi or hi < lo.
    A missing bound is -inf or +inf.
    """

    saves = ("inputs",)

    def forward(self, x, lo, hi):
        return np.clip(x, lo, hi)

    def backward(self, grad, out, x, lo, hi):
        need_x, need_lo, need_hi = self.needs_input_grad
        grad_x = where(x >= lo, where(x <= hi, grad, 0), 0) if need_x else None
        grad_lo = where(x < lo, where(lo < hi, grad, 0), 0) if need_lo else None
        grad_hi = where(x > hi, grad, where(hi < lo, grad, 0)) if need_hi else None
        return grad_x, grad_lo, grad_hi


def clip(a: Any, lo: Any = None, hi: Any = None) -> Tensor:
    """Limit a to [lo, hi]; the gradient passes where lo <= a <= hi (None: no bound).

    Bounds may be Tensors that require grad: each receives the gradient where it
    is the active bound, as PyTorch's ``clamp``.
    """
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi.")
    if not isinstance(a, Tensor):
        try:
            a = Tensor(a)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"clip: {exc}") from None
    return Clip.apply(a, _bound(a, lo, -1), _bound(a, hi, 1))


def _bound(a: Tensor, bound: Any, side: int) -> Any:
    """A missing bound is the end of a's number line (-inf or +inf, in a's dtype)."""
    if bound is not None:
        return bound
    if a.dtype.kind == "f":
        return side * np.inf
    info = np.iinfo(a.dtype) if a.dtype.kind in "iu" else None
    return Tensor(info.max if side > 0 else info.min, dtype=a.dtype) if info else side > 0


class Astype(Function):
    """out = x converted to another float dtype;   d out/dx = 1 (converted back)"""

    saves = ()

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad, out, x):
        return grad.astype(x.dtype)


def astype(x: Any, dtype: Any) -> Tensor:
    """Convert to ``dtype``; differentiable between float dtypes."""
    return Astype.apply(x, dtype=np.dtype(dtype))


class Log1p(Function):
    """out = log(1 + x);   d out/dx = 1 / (1 + x)   (accurate for tiny x, unlike log(1 + x))"""

    saves = ("inputs",)

    def forward(self, x):
        return np.log1p(x)

    def backward(self, grad, out, x):
        return grad / (1 + x)


def log1p(x: Any) -> Tensor:
    """log(1 + x) elementwise, accurate when x is tiny."""
    return Log1p.apply(x)


class Expm1(Function):
    """out = exp(x) - 1;   d out/dx = exp(x) = out + 1"""

    saves = ("out",)

    def forward(self, x):
        return np.expm1(x)

    def backward(self, grad, out, x):
        return grad * (out + 1)


def expm1(x: Any) -> Tensor:
    """exp(x) - 1 elementwise, accurate when x is tiny."""
    return Expm1.apply(x)


class Erf(Function):
    """out = erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt;   d out/dx = 2/sqrt(pi) exp(-x^2)

    Computed without SciPy (see ``_erf``): within 4e-15 of ``math.erf``
    everywhere (absolute and relative), checked on [-7, 7] in the tests.
    """

    saves = ("inputs",)

    def forward(self, x):
        return _erf(x)

    def backward(self, grad, out, x):
        return grad * (2 / np.sqrt(np.pi)) * exp(-(x * x))  # exp underflows to 0 for |x| > 27


_ERF_STEP = 0.25  # width of each polynomial piece on [0, 6]; erf(x) rounds to 1 beyond 6


@functools.cache
def _erf_table() -> np.ndarray:
    """Polynomial coefficients for each piece [k h, (k + 1) h] of [0, 6]: the degree-10
    Chebyshev interpolant of erf(x) / x (its relative error is erf's: small x stays
    accurate), in the local variable t in [-1, 1], highest power first. Built from
    ``math.erf`` on first use."""
    erf_scalar = np.vectorize(math.erf, otypes=[np.float64])

    def ratio(x):
        safe = np.where(x == 0, 1.0, x)
        return np.where(x == 0, 2 / np.sqrt(np.pi), erf_scalar(safe) / safe)

    rows = []
    for k in range(round(6 / _ERF_STEP)):
        piece = chebyshev.Chebyshev.interpolate(ratio, 10, [k * _ERF_STEP, (k + 1) * _ERF_STEP])
        rows.append(chebyshev.cheb2poly(piece.coef)[::-1])
    return np.array(rows).T.copy()  # (power, piece): one contiguous row per power


def _erf(x: np.ndarray) -> np.ndarray:
    """erf by table lookup and Horner's rule: all elements at once, no loop over them."""
    table = _erf_table()
    a = np.minimum(np.abs(np.asarray(x, dtype=np.float64).reshape(-1)), 6.0)  # NaN stays
    k = (np.fmin(a, 5.99) * (1 / _ERF_STEP)).astype(np.intp)  # the piece (NaN: the last)
    t = (a - (k + 0.5) * _ERF_STEP) * (2 / _ERF_STEP)
    out = table[0].take(k)
    for coefficients in table[1:]:  # Horner's rule, each power's coefficients gathered per element
        out *= t
        out += coefficients.take(k)
    out *= a
    out[a >= 6.0] = 1.0
    out = np.copysign(out.reshape(np.shape(x)), x)
    return out.astype(np.result_type(x, np.float16), copy=False)


def erf(x: Any) -> Tensor:
    """The error function, within 4e-15 of ``math.erf`` (no SciPy needed).

    >>> import minigrad as mg
    >>> round(mg.erf(mg.tensor(1.0)).item(), 12)
    0.84270079295
    """
    return Erf.apply(x)
