"""matmul, dot, outer, trace, diag."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import backends
from minigrad.engine import Function
from minigrad.ops.shape import concatenate, expand_dims, reshape, swapaxes
from minigrad.tensor import Tensor


class Matmul(Function):
    """out = a @ b;   d out/da = grad @ b^T,   d out/db = a^T @ grad

    Stacks of matrices broadcast over their leading axes (the engine sums the
    gradient back over them). A 1-D operand is a vector, as in NumPy: it is
    treated as a row (for a) or a column (for b) and that axis is dropped again.
    """

    saves = ("inputs",)

    def forward(self, a, b):
        _check_matmul(a.shape, b.shape)
        return np.matmul(a, b)

    def backward(self, grad, out, a, b):
        if a.ndim == 1 and b.ndim == 1:  # dot product: out is a scalar
            return grad * b, grad * a
        if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
            grad_a = matmul(b, expand_dims(grad, -1))[..., 0]
            return grad_a, expand_dims(a, -1) * expand_dims(grad, -2)
        if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
            if a.ndim == 2:  # X^T @ grad, written grad @ X: one product, no transpose op
                grad_b = matmul(grad, a)
            else:
                grad_b = matmul(swapaxes(a, -1, -2), expand_dims(grad, -1))[..., 0]
            # X @ w with constant X: skip the (m, k) outer product nobody needs
            return (expand_dims(grad, -1) * b if self.needs_input_grad[0] else None), grad_b
        need_a, need_b = self.needs_input_grad  # skip the product nobody needs (often x)
        return (matmul(grad, swapaxes(b, -1, -2)) if need_a else None,
                matmul(swapaxes(a, -1, -2), grad) if need_b else None)


def _check_matmul(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> None:
    if not shape_a or not shape_b:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes "
                         f"{shape_a} and {shape_b}; use * to multiply by a scalar.")
    k_a = shape_a[-1]
    k_b = shape_b[-2] if len(shape_b) > 1 else shape_b[0]
    if k_a != k_b:
        raise ValueError(
            f"matmul: shapes {shape_a} and {shape_b} are not aligned: the last axis of the "
            f"first ({k_a}) must equal the {'second-to-last' if len(shape_b) > 1 else 'only'} "
            f"axis of the second ({k_b}). Transpose one operand (x.T) or reshape it."
        )
    if len(shape_a) <= 2 and len(shape_b) <= 2:
        return
    try:
        np.broadcast_shapes(shape_a[:-2], shape_b[:-2])
    except ValueError:
        raise ValueError(f"matmul: the batch axes of shapes {shape_a} and {shape_b} do not "
                         "broadcast together.") from None


class Outer(Function):
    """out_ij = a_i b_j;   d out/da_i = sum_j grad_ij b_j,   d out/db_j = sum_i grad_ij a_i"""

    saves = ("inputs",)

    def forward(self, a, b):
        return np.outer(a, b)

    def backward(self, grad, out, a, b):
        grad_a = matmul(grad, reshape(b, -1)).reshape(a.shape)
        grad_b = matmul(reshape(a, -1), grad).reshape(b.shape)
        return grad_a, grad_b


class Trace(Function):
    """out = sum_i x_ii;   d out/dx_ij = 1 if i == j else 0"""

    saves = ()

    def forward(self, x):
        if x.ndim < 2:
            raise ValueError(f"trace: needs a matrix (2 or more dimensions), got shape {x.shape}.")
        return np.trace(x)

    def backward(self, grad, out, x):
        n, m = x.shape[:2]
        eye = np.eye(n, m, dtype=grad.dtype).reshape((n, m) + (1,) * (x.ndim - 2))
        eye = backends.asarray_like(eye, grad.data)  # CuPy cannot mix with NumPy arrays
        return expand_dims(expand_dims(grad, 0), 0) * eye


class Diag(Function):
    """vector -> matrix:  out = diag(v),  d out/dv_i = grad_ii
    matrix -> vector:  out_i = x_ii,     d out/dx = diag(grad) (zeros off the diagonal)"""

    saves = ()

    def forward(self, x):
        if x.ndim not in (1, 2):
            raise ValueError(f"diag: needs a vector or a matrix, got shape {x.shape}.")
        return np.diag(x)

    def backward(self, grad, out, x):
        if x.ndim == 1:
            return diag(grad)
        square = diag(grad)  # (k, k) with k = min(n, m); pad up to (n, m)
        n, m = x.shape
        k = square.shape[0]
        if n > k:
            square = concatenate([square, np.zeros_like(grad.data, shape=(n - k, k))], axis=0)
        if m > k:
            square = concatenate([square, np.zeros_like(grad.data, shape=(n, m - k))], axis=1)
        return square


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product ``a @ b`` with NumPy's rules (vectors, stacks of matrices)."""
    return Matmul.apply(a, b)


def dot(a: Any, b: Any) -> Tensor:
    """NumPy's ``dot`` for scalars, vectors and matrices (use ``matmul`` for stacks)."""
    try:
        a_ndim, b_ndim = np.ndim(_data(a)), np.ndim(_data(b))
    except ValueError as exc:  # a ragged list
        raise ValueError(f"dot: an input could not become a tensor ({exc})") from None
    if a_ndim == 0 or b_ndim == 0:
        from minigrad.ops.arithmetic import multiply

        return multiply(a, b)
    if a_ndim > 2 or b_ndim > 2:
        raise ValueError(f"dot: operands of {a_ndim} and {b_ndim} dimensions; minigrad's dot "
                         "takes vectors and matrices. Use matmul for stacks of matrices.")
    return Matmul.apply(a, b)


def outer(a: Any, b: Any) -> Tensor:
    """Outer product of two vectors (inputs are flattened, as NumPy)."""
    return Outer.apply(a, b)


def trace(x: Any) -> Tensor:
    """Sum of the main diagonal (over the first two axes, as NumPy)."""
    return Trace.apply(x)


def diag(x: Any) -> Tensor:
    """The diagonal of a matrix, or a diagonal matrix from a vector."""
    return Diag.apply(x)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x
