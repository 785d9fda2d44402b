"""add, subtract, multiply, divide, negative, power, abs -- and the comparisons,
which are not differentiable (their output is piecewise constant)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.engine import Function
from minigrad.ops.elementwise import where
from minigrad.tensor import Tensor


class Add(Function):
    """out = x + y;   d out/dx = 1,   d out/dy = 1"""

    saves = ()

    def forward(self, x, y):
        return x + y

    def backward(self, grad, out, x, y):
        return grad, grad  # the engine sums away broadcast axes


class Subtract(Function):
    """out = x - y;   d out/dx = 1,   d out/dy = -1"""

    saves = ()

    def forward(self, x, y):
        return x - y

    def backward(self, grad, out, x, y):
        return grad, -grad if self.needs_input_grad[1] else None  # pred - constant target


class Multiply(Function):
    """out = x * y;   d out/dx = y,   d out/dy = x"""

    saves = ("inputs",)

    def forward(self, x, y):
        return x * y

    def backward(self, grad, out, x, y):
        need_x, need_y = self.needs_input_grad
        return grad * y if need_x else None, grad * x if need_y else None


class Divide(Function):
    """out = x / y;   d out/dx = 1 / y,   d out/dy = -x / y^2 = -out / y"""

    def forward(self, x, y):
        return x / y

    def backward(self, grad, out, x, y):
        grad_x = grad / y
        return grad_x, -grad_x * out if self.needs_input_grad[1] else None


class Negative(Function):
    """out = -x;   d out/dx = -1"""

    saves = ()

    def forward(self, x):
        return -x

    def backward(self, grad, out, x):
        return -grad


class Power(Function):
    """out = x ** y;   d out/dx = y * x^(y-1),   d out/dy = x^y * log(x)

    d out/dy uses log(x), defined for x > 0; where x <= 0 it is taken as 0
    (as PyTorch), which is exact at x = 0 for y > 0.
    """

    def forward(self, x, y):
        return x ** y

    def backward(self, grad, out, x, y):
        grad_x = grad * y * x ** (y - 1) if self.needs_input_grad[0] else None
        grad_y = None
        if self.needs_input_grad[1]:
            positive = x.data > 0
            safe_x = where(positive, x, 1)  # log only where it is defined
            grad_y = grad * out * where(positive, safe_x.log(), 0)
        return grad_x, grad_y


class Abs(Function):
    """out = |x|;   d out/dx = sign(x)   (0 at x = 0, as PyTorch)"""

    saves = ()

    def forward(self, x):
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, grad, out, x):
        return grad * self.sign


def add(x: Any, y: Any) -> Tensor:
    """x + y, with NumPy broadcasting."""
    return Add.apply(x, y)


def subtract(x: Any, y: Any) -> Tensor:
    """x - y, with NumPy broadcasting."""
    return Subtract.apply(x, y)


def multiply(x: Any, y: Any) -> Tensor:
    """x * y elementwise, with NumPy broadcasting."""
    return Multiply.apply(x, y)


def divide(x: Any, y: Any) -> Tensor:
    """x / y elementwise, with NumPy broadcasting."""
    return Divide.apply(x, y)


def negative(x: Any) -> Tensor:
    """-x."""
    return Negative.apply(x)


def power(x: Any, y: Any) -> Tensor:
    """x ** y elementwise, differentiable in both x and y."""
    return Power.apply(x, y)


def abs(x: Any) -> Tensor:
    """|x| elementwise; the gradient at 0 is 0."""
    return Abs.apply(x)


# -- comparisons: bool Tensors outside the graph ------------------------------


def _compare(ufunc: np.ufunc, x: Any, y: Any) -> Tensor:
    a = x.data if isinstance(x, Tensor) else x
    b = y.data if isinstance(y, Tensor) else y
    try:
        result = ufunc(a, b)  # a NumPy bool scalar, or an array (kept lazy on Dask)
        return Tensor._make(np.asarray(result) if isinstance(result, np.generic) else result)
    except ValueError as exc:
        shapes = f"{np.shape(a)} and {np.shape(b)}"
        raise ValueError(f"{ufunc.__name__}: shapes {shapes} do not broadcast together "
                         f"({exc}).") from None


def less(x: Any, y: Any) -> Tensor:
    return _compare(np.less, x, y)


def less_equal(x: Any, y: Any) -> Tensor:
    return _compare(np.less_equal, x, y)


def greater(x: Any, y: Any) -> Tensor:
    return _compare(np.greater, x, y)


def greater_equal(x: Any, y: Any) -> Tensor:
    return _compare(np.greater_equal, x, y)


def equal(x: Any, y: Any) -> Tensor:
    return _compare(np.equal, x, y)


def not_equal(x: Any, y: Any) -> Tensor:
    return _compare(np.not_equal, x, y)

