"""matmul, dot, outer, trace, diag."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import backends
from minigrad.engine import Function
from minigrad.ops.indexing import ScatterAdd, getitem
from minigrad.ops.shape import broadcast_to, concatenate, expand_dims, reshape, swapaxes
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


def outer(a: Any, b: Any) -> Tensor:
    """Outer product of two vectors (inputs are flattened, as NumPy)."""
    return Outer.apply(a, b)


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


def trace(x: Any, offset: int = 0) -> Tensor:
    """Sum of diagonal ``offset`` over the first two axes, as NumPy (0: the main diagonal,
    k > 0 above it, k < 0 below; an offset past the edge sums nothing: 0)."""
    if offset == 0:
        return Trace.apply(x)
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 2:
        raise ValueError(f"trace: needs a matrix (2 or more dimensions), got shape {x.shape}.")
    rows, cols = _diagonal(x.shape[0], x.shape[1], _offset(offset, "trace"))
    return getitem(x, (rows, cols)).sum(axis=0)  # a gather and a sum: both ops already


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


def diag(x: Any, k: int = 0) -> Tensor:
    """Diagonal ``k`` of a matrix, or a matrix with a vector on diagonal ``k``, as NumPy
    (0: the main diagonal, k > 0 above it, k < 0 below)."""
    if k == 0:
        return Diag.apply(x)
    x = x if isinstance(x, Tensor) else Tensor(x)
    k = _offset(k, "diag")
    if x.ndim == 2:
        return getitem(x, _diagonal(x.shape[0], x.shape[1], k))
    if x.ndim != 1:
        raise ValueError(f"diag: needs a vector or a matrix, got shape {x.shape}.")
    n = x.shape[0] + abs(k)
    return ScatterAdd.apply(x, shape=(n, n), index=_diagonal(n, n, k))


def _offset(k: Any, op: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{op}: the diagonal offset must be an int, not {k!r}.")
    return int(k)


def _diagonal(n: int, m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of diagonal k of an (n, m) matrix."""
    rows = np.arange(max(0, -k), max(0, min(n, m - k)))
    return rows, rows + k


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


class Einsum(Function):
    """out = einsum(subscripts, *operands);   d out/d operand_i = einsum of the upstream
    gradient with the other operands, written to operand i's subscripts

    An einsum is a sum of products, so its derivative with respect to one factor
    is the sum of the products of everything else: the same kind of einsum with
    the output and operand i swapped. Letters that only operand i has were summed
    in forward; the gradient is the same for every value of them (broadcast).
    """

    saves = ("inputs",)

    def forward(self, *arrays, subscripts):
        self.ins, self.out = _explicit_subscripts(subscripts, [a.ndim for a in arrays])
        return np.einsum(f"{','.join(self.ins)}->{self.out}", *arrays, optimize=True)

    def backward(self, grad, out, *operands):
        grads = []
        for i, x in enumerate(operands):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = self.ins[:i] + self.ins[i + 1:]
            known = set(self.out).union(*others)
            target = "".join(c for c in self.ins[i] if c in known)
            g = einsum(f"{','.join([self.out, *others])}->{target}",
                       grad, *operands[:i], *operands[i + 1:])
            if target != self.ins[i]:  # letters summed away in forward: size-1 axes, broadcast
                g = g.reshape(tuple(g.shape[target.index(c)] if c in known else 1
                                    for c in self.ins[i]))
            grads.append(broadcast_to(g, np.broadcast_shapes(g.shape, x.shape)))
        return tuple(grads)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``np.einsum``: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Each operand's letters must be distinct (no diagonals such as ``"ii"``); ``...``
    broadcasts.

    >>> import minigrad as mg
    >>> mg.einsum("i,i->", mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0])).item()
    11.0
    """
    if not operands:
        raise ValueError("einsum: give at least one operand after the subscripts.")
    return Einsum.apply(*operands, subscripts=subscripts)


def _explicit_subscripts(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """``"...ij,jk"`` for operands of 3 and 2 dims -> (["Aij", "jk"], "Aik"): the
    ellipsis spelled as letters (right-aligned, as broadcasting) and the output made
    explicit (NumPy's implicit rule: the ellipsis, then letters used once, sorted)."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a str such as 'ij,jk->ik', not "
                        f"{type(subscripts).__name__}.")
    spec = subscripts.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(ins)} operands but "
                         f"{len(ndims)} were given.")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in spec]
    widths = []
    for term, ndim in zip(ins, ndims):
        letters = len(term.replace("...", ""))
        widths.append(ndim - letters if "..." in term else 0)
        if widths[-1] < 0 or ("..." not in term and letters != ndim):
            raise ValueError(f"einsum: subscripts {term!r} do not fit an operand with {ndim} "
                             f"dimensions (subscripts {subscripts!r}).")
    width = max(widths, default=0)
    ellipsis = "".join(spare[:width])
    ins = [t.replace("...", ellipsis[width - w:]) for t, w in zip(ins, widths)]
    for term in ins:
        if len(set(term)) != len(term) or not term.isalpha() and term:
            raise ValueError(f"einsum: {term!r} in {subscripts!r} repeats a letter (a diagonal) "
                             "or has a character that is not a letter; minigrad's einsum takes "
                             "distinct letters per operand (use mg.diag or mg.trace for "
                             "diagonals).")
    if arrow:
        out = rhs.replace("...", ellipsis)
    else:
        counts = "".join(ins)
        out = ellipsis + "".join(sorted(c for c in set(counts)
                                        if counts.count(c) == 1 and c not in ellipsis))
    return ins, out
