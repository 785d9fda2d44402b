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


def add(x: Any, y: Any) -> Tensor:
    """x + y, with NumPy broadcasting."""
    return Add.apply(x, y)


class Subtract(Function):
    """out = x - y;   d out/dx = 1,   d out/dy = -1"""

    saves = ()

    def forward(self, x, y):
        return x - y

    def backward(self, grad, out, x, y):
        return grad, -grad if self.needs_input_grad[1] else None  # pred - constant target


def subtract(x: Any, y: Any) -> Tensor:
    """x - y, with NumPy broadcasting."""
    return Subtract.apply(x, y)


class Multiply(Function):
    """out = x * y;   d out/dx = y,   d out/dy = x"""

    saves = ("inputs",)

    def forward(self, x, y):
        return x * y

    def backward(self, grad, out, x, y):
        need_x, need_y = self.needs_input_grad
        return grad * y if need_x else None, grad * x if need_y else None


def multiply(x: Any, y: Any) -> Tensor:
    """x * y elementwise, with NumPy broadcasting."""
    return Multiply.apply(x, y)


class Divide(Function):
    """out = x / y;   d out/dx = 1 / y,   d out/dy = -x / y^2 = -out / y"""

    def forward(self, x, y):
        return x / y

    def backward(self, grad, out, x, y):
        grad_x = grad / y
        return grad_x, -grad_x * out if self.needs_input_grad[1] else None


def divide(x: Any, y: Any) -> Tensor:
    """x / y elementwise, with NumPy broadcasting."""
    return Divide.apply(x, y)


class Negative(Function):
    """out = -x;   d out/dx = -1"""

    saves = ()

    def forward(self, x):
        return -x

    def backward(self, grad, out, x):
        return -grad


def negative(x: Any) -> Tensor:
    """-x."""
    return Negative.apply(x)


class Power(Function):
    """out = x ** y;   d out/dx = y * x^(y-1),   d out/dy = x^y * log(x)

    At the limits, as PyTorch: d out/dx = 0 where y = 0 (x ** 0 = 1 is constant,
    also at x = 0 where y * x^(y-1) would be 0 * inf); d out/dy = 0 at x = 0 with
    y >= 0 (the limit of x^y log x). For x < 0, log(x) is undefined and d out/dy
    is NaN, as in PyTorch.
    """

    def forward(self, x, y):
        return x ** y

    def backward(self, grad, out, x, y):
        need_x, need_y = self.needs_input_grad
        grad_x = grad_y = None
        if need_x:
            flat = where(x == 0, y == 0, False)  # 0 ** 0: take the exponent 1, so the term is 0
            grad_x = grad * y * x ** (where(flat, 1, y) - 1)
        if need_y:
            limit = where(x == 0, y >= 0, False)  # x^y log x -> 0 as x -> 0
            with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(-1) = NaN
                grad_y = where(limit, 0, grad * out * where(limit, 1, x).log())
        return grad_x, grad_y


def power(x: Any, y: Any) -> Tensor:
    """x ** y elementwise, differentiable in both x and y."""
    return Power.apply(x, y)


class Abs(Function):
    """out = |x|;   d out/dx = sign(x)   (0 at x = 0, as PyTorch)"""

    saves = ("inputs",)

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad, out, x):
        return grad * sign(x)


def abs(x: Any) -> Tensor:
    """|x| elementwise; the gradient at 0 is 0."""
    return Abs.apply(x)


class Sign(Function):
    """out = sign(x) (-1, 0 or 1);   d out/dx = 0 (it is piecewise constant)"""

    saves = ()

    def forward(self, x):
        return np.sign(x)

    def backward(self, grad, out, x):
        return None


def sign(x: Any) -> Tensor:
    """-1, 0 or 1 elementwise, as x's sign (NaN stays NaN); its gradient is 0."""
    return Sign.apply(x)


class Compare(Function):
    """out = x < y (or <=, >, >=, ==, !=), a bool Tensor outside the graph

    A comparison is piecewise constant, so it has no gradient, and a bool output
    is never recorded. It is an op all the same, so that whatever watches ops
    (mg.compile) sees the masks that backward rules build from comparisons.
    """

    saves = ()

    def forward(self, x, y, ufunc):
        self.name = ufunc.__name__  # t.op and errors say "less", "equal", ...
        return ufunc(x, y)


def less(x: Any, y: Any) -> Tensor:
    return Compare.apply(x, y, ufunc=np.less)


def less_equal(x: Any, y: Any) -> Tensor:
    return Compare.apply(x, y, ufunc=np.less_equal)


def greater(x: Any, y: Any) -> Tensor:
    return Compare.apply(x, y, ufunc=np.greater)


def greater_equal(x: Any, y: Any) -> Tensor:
    return Compare.apply(x, y, ufunc=np.greater_equal)


def equal(x: Any, y: Any) -> Tensor:
    return Compare.apply(x, y, ufunc=np.equal)


def not_equal(x: Any, y: Any) -> Tensor:
    return Compare.apply(x, y, ufunc=np.not_equal)
