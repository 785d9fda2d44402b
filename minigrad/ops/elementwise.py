"""exp, log, sqrt, sin, cos, tanh, sigmoid, relu, maximum, minimum, where, clip."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.engine import Function
from minigrad.tensor import Tensor


class Exp(Function):
    """out = exp(x);   d out/dx = exp(x) = out"""

    saves = ("out",)

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad, out, x):
        return grad * out


class Log(Function):
    """out = log(x);   d out/dx = 1 / x"""

    saves = ("inputs",)

    def forward(self, x):
        return np.log(x)

    def backward(self, grad, out, x):
        return grad / x


class Sqrt(Function):
    """out = sqrt(x);   d out/dx = 1 / (2 sqrt(x)) = 1 / (2 out)"""

    saves = ("out",)

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad, out, x):
        return grad / (2 * out)


class Sin(Function):
    """out = sin(x);   d out/dx = cos(x)"""

    saves = ("inputs",)

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad, out, x):
        return grad * cos(x)


class Cos(Function):
    """out = cos(x);   d out/dx = -sin(x)"""

    saves = ("inputs",)

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad, out, x):
        return -grad * sin(x)


class Tanh(Function):
    """out = tanh(x);   d out/dx = 1 - tanh(x)^2 = 1 - out^2"""

    saves = ("out",)

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad, out, x):
        return grad * (1 - out * out)


class Sigmoid(Function):
    """out = 1 / (1 + exp(-x));   d out/dx = out * (1 - out)"""

    saves = ("out",)

    def forward(self, x):
        # exp(-log(1 + exp(-x))) never overflows, for any x
        return np.exp(-np.logaddexp(0, -x))

    def backward(self, grad, out, x):
        return grad * out * (1 - out)


class Relu(Function):
    """out = max(x, 0);   d out/dx = 1 where x > 0, else 0   (relu'(0) = 0, as PyTorch)"""

    saves = ()

    def forward(self, x):
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, grad, out, x):
        return grad * self.mask


class Maximum(Function):
    """out = max(x, y);   d out/dx = 1 where x > y, 0 where x < y, 1/2 at ties"""

    saves = ()

    def forward(self, x, y):
        # ties split the gradient 0.5 / 0.5
        self.share_x = ((x > y) + 0.5 * (x == y)).astype(np.result_type(x, y))
        return np.maximum(x, y)

    def backward(self, grad, out, x, y):
        return grad * self.share_x, grad * (1 - self.share_x)


class Minimum(Function):
    """out = min(x, y);   d out/dx = 1 where x < y, 0 where x > y, 1/2 at ties"""

    saves = ()

    def forward(self, x, y):
        self.share_x = ((x < y) + 0.5 * (x == y)).astype(np.result_type(x, y))
        return np.minimum(x, y)

    def backward(self, grad, out, x, y):
        return grad * self.share_x, grad * (1 - self.share_x)


class Where(Function):
    """out = cond ? x : y;   d out/dx = cond,   d out/dy = not cond

    The gradient of the branch not taken is 0, but 0 * NaN is NaN: if a branch
    is NaN or inf where it is not taken (``where(x > 0, sqrt(x), 0)`` at x < 0),
    its gradient is NaN there too. Make the untaken branch safe first:
    ``where(x > 0, sqrt(where(x > 0, x, 1)), 0)``.
    """

    saves = ()

    def forward(self, x, y, cond):
        self.cond = cond
        return np.where(cond, x, y)

    def backward(self, grad, out, x, y):
        zero = np.zeros_like(grad.data, shape=())  # same array type (NumPy, Dask, CuPy)
        return where(self.cond, grad, zero), where(self.cond, zero, grad)


class Clip(Function):
    """out = min(max(x, lo), hi);   d out/dx = 1 where lo <= x <= hi, else 0"""

    saves = ()

    def forward(self, x, lo, hi):
        self.inside = np.ones_like(x, dtype=bool)
        if lo is not None:
            self.inside &= x >= lo
        if hi is not None:
            self.inside &= x <= hi
        return np.clip(x, lo, hi)

    def backward(self, grad, out, x):
        return grad * self.inside


class Astype(Function):
    """out = x converted to another float dtype;   d out/dx = 1 (converted back)"""

    saves = ()

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad, out, x):
        return grad.astype(x.dtype)


def exp(x: Any) -> Tensor:
    """e ** x elementwise."""
    return Exp.apply(x)


def log(x: Any) -> Tensor:
    """Natural logarithm elementwise."""
    return Log.apply(x)


def sqrt(x: Any) -> Tensor:
    """Square root elementwise (its gradient is inf at 0, as PyTorch)."""
    return Sqrt.apply(x)


def sin(x: Any) -> Tensor:
    return Sin.apply(x)


def cos(x: Any) -> Tensor:
    return Cos.apply(x)


def tanh(x: Any) -> Tensor:
    return Tanh.apply(x)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return Sigmoid.apply(x)


def relu(x: Any) -> Tensor:
    """max(x, 0); the gradient at 0 is 0."""
    return Relu.apply(x)


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise maximum; at ties each input receives half the gradient."""
    return Maximum.apply(x, y)


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise minimum; at ties each input receives half the gradient."""
    return Minimum.apply(x, y)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (broadcast); ``cond`` is not differentiated."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    cond = cond.astype(bool, copy=False) if hasattr(cond, "astype") else np.asarray(cond, bool)
    return Where.apply(a, b, cond=cond)


def clip(a: Any, lo: Any = None, hi: Any = None) -> Tensor:
    """Limit a to [lo, hi]; the gradient passes where lo <= a <= hi (None: no bound)."""
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi.")
    lo = lo.data if isinstance(lo, Tensor) else lo
    hi = hi.data if isinstance(hi, Tensor) else hi
    return Clip.apply(a, lo=lo, hi=hi)


def astype(x: Any, dtype: Any) -> Tensor:
    """Convert to ``dtype``; differentiable between float dtypes."""
    return Astype.apply(x, dtype=np.dtype(dtype))
