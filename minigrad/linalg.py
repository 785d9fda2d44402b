"""mg.linalg: inverse, determinants, solve, norms and eigendecompositions, differentiable.

Each rule below is the matrix calculus identity written with minigrad ops, so
second derivatives come for free:

* ``inv``:   d(A^-1) = -A^-1 dA A^-1              ->  grad_A = -A^-T grad A^-T
* ``det``:   d det A = det A tr(A^-1 dA)          ->  grad_A = grad det(A) A^-T
* ``solve``: x = A^-1 b                           ->  grad_b = A^-T grad, grad_A = -grad_b x^T
* ``eigh``:  A = V diag(w) V^T                    ->  grad_A = V (diag(g_w) + F o V^T g_V) V^T
             with F_ij = 1 / (w_j - w_i) off the diagonal.

Multi-output decompositions (``eigh``, ``eig``) are one Function whose output packs
the eigenvalues (row 0) above the eigenvectors (rows 1..n); the two results are slices
of it, so the decomposition runs once and every value is an op's output (mg.compile
recomputes it on each call). ``slogdet``'s sign is its own op, with no gradient.

Repeated eigenvalues: the eigenvectors of a repeated eigenvalue are not unique,
so their gradient is undefined (F has 1/0). ``eigh`` and ``eig`` then emit a
:class:`DegenerateEigenvaluesWarning` and drop those pairs' terms (F_ij = 0),
which is exact whenever the loss does not depend on the choice of basis inside
the repeated eigenspace (a projector, a sum over the group); never a silent NaN.
Near-repeated eigenvalues (relative gap below ~1e-8) also warn: the gradient is
finite but huge and ill-conditioned there.
"""

from __future__ import annotations

import warnings
from collections import namedtuple
from typing import Any

import numpy as np

from minigrad.engine import Function, is_grad_enabled
from minigrad.ops.arithmetic import abs as _abs
from minigrad.ops.arithmetic import sign
from minigrad.ops.elementwise import maximum, where
from minigrad.ops.matrix import matmul
from minigrad.ops.reductions import _normalize_axes, _Reduction
from minigrad.ops.reductions import max as _max
from minigrad.ops.reductions import min as _min
from minigrad.ops.reductions import sum as _sum
from minigrad.ops.shape import dim_alias, expand_dims, squeeze, swapaxes
from minigrad.tensor import Tensor

__all__ = ["DegenerateEigenvaluesWarning", "LinAlgError", "det", "eig", "eigh", "inv", "norm",
           "slogdet", "solve"]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])


class LinAlgError(np.linalg.LinAlgError):
    """A linear-algebra failure (singular matrix, ...); a ``numpy.linalg.LinAlgError``."""


class DegenerateEigenvaluesWarning(RuntimeWarning):
    """Eigenvalues (nearly) repeat: the eigenvectors' gradient is undefined or ill-conditioned."""


# ---------------------------------------------------------------------------
# Small helpers (all differentiable: built from minigrad ops).
# ---------------------------------------------------------------------------


def _mT(x: Tensor) -> Tensor:
    """Matrix transpose of the last two axes."""
    return swapaxes(x, -1, -2)


def _diag_embed(v: Tensor) -> Tensor:
    """(..., n) -> (..., n, n) with v on the diagonal."""
    return expand_dims(v, -2) * np.eye(v.shape[-1], dtype=v.dtype)


def _check_square(a: np.ndarray, op: str) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix or a stack of them, shape (..., n, n), "
                         f"but got shape {a.shape}.")


def _singular(op: str, shape: tuple[int, ...], what: str = "") -> LinAlgError:
    return LinAlgError(
        f"{op}: the matrix of shape {shape} is singular (determinant 0){what}. Check for "
        "linearly dependent rows or columns, or regularize it (a + eps * I).")


def _check_finite(a: np.ndarray, op: str) -> None:
    if not np.isfinite(a).all():
        raise LinAlgError(f"{op}: the matrix of shape {a.shape} contains NaN or inf; "
                          "eigenvalues are undefined there. Find where the NaN/inf came from "
                          "(mg.autograd.detect_anomaly() traces it) or mask those entries.")


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ---------------------------------------------------------------------------
# inv, det, slogdet, solve
# ---------------------------------------------------------------------------


class Inv(Function):
    """out = A^-1;   d out = -A^-1 dA A^-1,  so  grad_A = -out^T @ grad @ out^T"""

    def forward(self, a):
        _check_square(a, "inv")
        try:
            return np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise _singular("inv", a.shape, ", so it has no inverse") from None

    def backward(self, grad, out, a):
        return -matmul(_mT(out), matmul(grad, _mT(out)))


class Det(Function):
    """out = det A;   d out/dA = det(A) A^-T  (the transposed adjugate, also when A is singular)"""

    def forward(self, a):
        _check_square(a, "det")
        return np.linalg.det(a)

    def backward(self, grad, out, a):
        g = expand_dims(expand_dims(grad, -1), -1)
        if not is_grad_enabled():  # first order: one op, which picks its formula on every run
            return g * AdjugateT.apply(a)  # (mg.compile replays it, so no choice is baked in)
        # Differentiated again: minigrad ops. Singular: det(A) A^-T is 0 * inf, but the
        # cofactors are finite.
        if np.all(out.data != 0):
            return g * expand_dims(expand_dims(out, -1), -1) * _mT(inv(a))
        return g * _cofactors(a)


class AdjugateT(Function):
    """out = adj(A)^T = det(A) A^-T, finite also when A is singular (then from the SVD).

    Only the first-order backward of ``det`` uses it; its own gradient is not implemented
    (``det`` differentiated again uses cofactors in minigrad ops instead).
    """

    def forward(self, a):
        d = np.linalg.det(a)
        if np.all(d != 0):
            return d[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
        return _adjugate_T(a)


def _cofactors(a: Tensor) -> Tensor:
    """C_ij = (-1)^(i+j) det(A without row i and column j) = adj(A)^T, in minigrad ops
    (n^2 determinants of size n - 1), so that it can be differentiated again."""
    n = a.shape[-1]
    others = np.array([[j for j in range(n) if j != i] for i in range(n)], dtype=np.intp)
    others = others.reshape(n, n - 1)
    minors = a[..., others[:, None, :, None], others[None, :, None, :]]  # (..., n, n, n-1, n-1)
    signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    return det(minors) * signs.astype(a.dtype)


def _product_of_others(s: np.ndarray) -> np.ndarray:
    """prod_{j != i} s_j along the last axis: products from the left times from the right."""
    ones = np.ones_like(s[..., :1])
    left = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return left * right


def _adjugate_T(a: np.ndarray) -> np.ndarray:
    """adj(A)^T through the SVD A = U S V^T:  det(U) det(V) U diag(prod_{j != i} s_j) V^T."""
    u, s, vt = np.linalg.svd(a)
    others = _product_of_others(s)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return sign[..., None, None] * (u * others[..., None, :]) @ vt


class Slogdet(Function):
    """out = log|det A|;   d out/dA = A^-T   (the sign is piecewise constant: no gradient)"""

    def forward(self, a):
        _check_square(a, "slogdet")
        return np.linalg.slogdet(a)[1]

    def backward(self, grad, out, a):
        if np.any(np.isneginf(out.data)):  # log|det| of a singular matrix
            raise _singular("slogdet", a.shape, ": log|det| is -inf and its gradient infinite")
        return expand_dims(expand_dims(grad, -1), -1) * _mT(inv(a))


class Solve(Function):
    """out = A^-1 b;   grad_b = solve(A^T, grad),   grad_A = -grad_b @ out^T

    ``b`` of shape (n,) is one right-hand side (as NumPy 2); otherwise
    (..., n, k), and the batch axes of A and b broadcast.
    """

    def forward(self, a, b):
        _check_square(a, "solve")
        n = a.shape[-1]
        rows = b.shape[0] if b.ndim == 1 else (b.shape[-2] if b.ndim >= 2 else None)
        if rows != n:
            raise ValueError(
                f"solve: a has shape {a.shape} but b has shape {b.shape}; b must be a vector "
                f"of shape ({n},) or a stack of matrices of shape (..., {n}, k).")
        try:
            return np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise _singular("solve", a.shape, ", so a x = b has no unique solution") from None

    def backward(self, grad, out, a, b):
        vector = b.ndim == 1  # treat b and x as one column, then drop it again
        g = expand_dims(grad, -1) if vector else grad
        x = expand_dims(out, -1) if vector else out
        grad_b = solve(_mT(a), g)
        grad_a = -matmul(grad_b, _mT(x)) if self.needs_input_grad[0] else None
        return grad_a, (grad_b[..., 0] if vector else grad_b)


def inv(a: Any) -> Tensor:
    """Inverse of a square matrix (or of each matrix in a stack).

    >>> import minigrad as mg
    >>> mg.linalg.inv(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    Tensor([[-2. ,  1. ],
            [ 1.5, -0.5]])
    """
    return Inv.apply(a)


def det(a: Any) -> Tensor:
    """Determinant of a square matrix (or of each matrix in a stack).

    >>> import minigrad as mg
    >>> round(mg.linalg.det(mg.tensor([[1.0, 2.0], [3.0, 4.0]])).item(), 10)
    -2.0
    """
    return Det.apply(a)


def slogdet(a: Any) -> SlogdetResult:
    """``(sign, logabsdet)`` with det = sign * exp(logabsdet); only ``logabsdet`` is differentiable.

    >>> import minigrad as mg
    >>> sign, logabsdet = mg.linalg.slogdet(mg.tensor([[2.0, 0.0], [0.0, -3.0]]))
    >>> sign.item(), round(logabsdet.item(), 6)
    (-1.0, 1.791759)
    """
    return SlogdetResult(SlogdetSign.apply(a), Slogdet.apply(a))


class SlogdetSign(Function):
    """out = the sign of det A (-1, 0 or 1);   piecewise constant: no gradient"""

    saves = ()

    def forward(self, a):
        _check_square(a, "slogdet")
        return np.linalg.slogdet(a)[0]

    def backward(self, grad, out, a):
        return None


def solve(a: Any, b: Any) -> Tensor:
    """Solve ``a @ x = b`` for x (batched; b of shape (n,) or (..., n, k), as NumPy 2).

    >>> import minigrad as mg
    >>> mg.linalg.solve(mg.tensor([[2.0, 0.0], [0.0, 4.0]]), mg.tensor([2.0, 2.0]))
    Tensor([1. , 0.5])
    """
    return Solve.apply(a, b)


# ---------------------------------------------------------------------------
# norm
# ---------------------------------------------------------------------------


class Norm(_Reduction):
    """out = sqrt(sum x^2);   d out/dx = x / out   (0 where out = 0, a subgradient, as PyTorch)"""

    def forward(self, x, axis=None, keepdims=False):
        axes = self.setup(x, axis, keepdims)
        return np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))

    def backward(self, grad, out, x):
        out = self._keep(out)
        return self._keep(grad) * x / where(out == 0, 1, out)


class PNorm(_Reduction):
    """out = (sum |x|^p)^(1/p);   d out/dx = sign(x) |x|^(p-1) / out^(p-1)

    0 where out = 0 (a zero vector) and where x = 0, as PyTorch: for p < 1 the
    formula there is 0 * inf. With p < 0 a zero entry makes the sum inf and out 0.
    """

    def forward(self, x, p, axis=None, keepdims=False):
        self.p = p
        axes = self.setup(x, axis, keepdims)
        with np.errstate(divide="ignore"):  # p < 0: |0|^p = inf, and inf^(1/p) = 0: right
            return np.sum(np.abs(x) ** p, axis=axes, keepdims=keepdims) ** (1 / p)

    def backward(self, grad, out, x):
        out = self._keep(out)
        zero = out == 0
        scale = self._keep(grad) / where(zero, 1, out) ** (self.p - 1)
        nonzero = x != 0
        size = _abs(where(nonzero, x, 1))  # |x|^(p-1) is inf at 0 for p < 1: keep it out
        return where(zero, 0, where(nonzero, scale * sign(x) * size ** (self.p - 1), 0))


class CountNonzero(_Reduction):
    """out = the number of x_i != 0 (ord=0);   piecewise constant, so no gradient: as
    PyTorch, backward runs and ``x.grad`` stays None (``mg.grad`` needs allow_unused=True)"""

    def forward(self, x, axis=None, keepdims=False):
        axes = self.setup(x, axis, keepdims)
        return np.sum(x != 0, axis=axes, keepdims=keepdims).astype(x.dtype)

    def backward(self, grad, out, x):
        return None


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False, *,
         dim: Any = None, keepdim: bool | None = None) -> Tensor:
    """Vector or matrix norm, as ``numpy.linalg.norm``.

    Vector norms (1-D input, or an int ``axis``): ``ord`` None or 2 (Euclidean),
    1, ``inf``, ``-inf``, 0 (count of non-zeros: no gradient, as PyTorch) or any other
    number p (``sum(|x|^p)^(1/p)``). Matrix norms (2-D input, or a 2-tuple
    ``axis``): None or ``"fro"``, 1, -1, ``inf``, ``-inf``. With ``ord=None`` and
    ``axis=None`` any input is flattened. The gradient of the Euclidean norm at 0
    is 0; ``abs'(0) = 0``; ties of ``inf`` norms split the gradient evenly.

    >>> import minigrad as mg
    >>> mg.linalg.norm(mg.tensor([3.0, 4.0])).item()
    5.0
    """
    axis, keepdims = dim_alias("norm", axis, dim, keepdims, keepdim)
    x = _tensor(x)
    if axis is None:
        if ord is None:
            out = Norm.apply(x, axis=None, keepdims=keepdims)
            return out.reshape((1,) * x.ndim) if keepdims else out
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D input, got "
                             f"shape {x.shape}. Pass axis= (an int or a pair of ints).")
        axis = tuple(range(x.ndim))
    axes = _normalize_axes(axis, x.ndim, "norm")
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: axis={axis!r} names {len(axes)} axes; give one (vector norm) or "
                     "two (matrix norm).")


def _vector_norm(x: Tensor, ord: Any, axis: int, keepdims: bool) -> Tensor:
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm, but a vector norm was asked "
                         "for (one axis). Use ord=2 or pass two axes.")
    if ord is None or ord == 2:
        return Norm.apply(x, axis=axis, keepdims=keepdims)
    if ord == 1:
        return _sum(_abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return _max(_abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return _min(_abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return CountNonzero.apply(x, axis=axis, keepdims=keepdims)
    return PNorm.apply(x, p=float(ord), axis=axis, keepdims=keepdims)


def _matrix_norm(x: Tensor, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    row, col = axes
    if ord is None or ord == "fro":
        return Norm.apply(x, axis=axes, keepdims=keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        # 1: largest column sum of |x| (sum over rows); inf: largest row sum (sum over columns)
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        sums = _sum(_abs(x), axis=summed, keepdims=True)
        pick = _max if ord > 0 else _min
        out = pick(sums, axis=other, keepdims=True)
        return out if keepdims else squeeze(out, axes)
    raise ValueError(f"norm: matrix ord={ord!r} is not supported; use None/'fro', 1, -1, inf "
                     "or -inf (spectral and nuclear norms need the SVD).")


# ---------------------------------------------------------------------------
# eigh (symmetric) and eig (real spectrum)
# ---------------------------------------------------------------------------


def _inverse_gaps(w: Tensor, op: str, warn: bool = True) -> Tensor:
    """F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it and for repeated pairs (with a warning).

    The mask of repeated pairs is made by ops (a comparison), so mg.compile recomputes it.
    """
    n = w.shape[-1]
    gaps = expand_dims(w, -2) - expand_dims(w, -1)  # gaps[..., i, j] = w_j - w_i
    scale = expand_dims(maximum(_max(_abs(w), axis=-1, keepdims=True), 1.0), -1)
    tiny = np.finfo(w.dtype).eps
    keep = _abs(gaps) > scale * (4 * n * tiny)  # False on the diagonal too (a gap of 0)
    if warn:
        _warn_near(op, gaps.data, np.maximum(np.abs(w.data).max(axis=-1), 1.0), tiny)
    safe = where(keep, gaps, np.ones((), w.dtype))
    return where(keep, 1.0 / safe, np.zeros((), w.dtype))


def _warn_near(op: str, gaps: np.ndarray, scale: np.ndarray, tiny: float) -> None:
    n = gaps.shape[-1]
    off = ~np.eye(n, dtype=bool)
    size = np.abs(gaps)
    near = off & (size <= np.sqrt(tiny) * scale[..., None, None])
    if near.any():
        smallest = float(size[..., off].min()) if off.any() else 0.0
        warnings.warn(
            f"{op}: eigenvalues are repeated or nearly so (smallest gap {smallest:.3g}); the "
            "eigenvectors' gradient is undefined there (1/gap). Pairs with a zero gap are "
            "dropped, which is exact only when the loss does not depend on the basis chosen "
            "inside a repeated eigenspace.", DegenerateEigenvaluesWarning, stacklevel=5)


def _from_symmetric(g: Tensor, uplo: str) -> Tensor:
    """Gradient w.r.t. the symmetric matrix S read from one triangle of A.

    NumPy's eigh reads only the lower (UPLO='L') triangle, so A_kl (k > l) enters
    S twice, as S_kl and S_lk: its gradient is g_kl + g_lk; the other triangle gets 0.
    """
    n = g.shape[-1]
    mask = np.tril(np.full((n, n), 2.0), -1) + np.eye(n)
    sym = (g + _mT(g)) * 0.5
    return sym * (mask if uplo == "L" else mask.T).astype(g.dtype)


class Eigh(Function):
    """out = [w; V], the eigenvalues (row 0) above the unit eigenvectors (rows 1..n) of
    symmetric A;   grad_A = V (diag(g_w) + F o V^T g_V) V^T,  F_ij = 1 / (w_j - w_i),
    read back into the one triangle that NumPy's eigh reads"""

    saves = ("out",)

    def forward(self, a, UPLO="L"):
        _check_square(a, "eigh")
        self.uplo = UPLO
        w, v = np.linalg.eigh(a, UPLO)
        return np.concatenate([w[..., None, :], v], axis=-2)

    def backward(self, grad, out, a):
        w, v, g_w, g_v = out[..., 0, :], out[..., 1:, :], grad[..., 0, :], grad[..., 1:, :]
        used = bool(np.any(g_v.data != 0))  # warn about repeated eigenvalues only if V is used
        inner = _diag_embed(g_w) + _inverse_gaps(w, "eigh", used) * matmul(_mT(v), g_v)
        return _from_symmetric(matmul(v, matmul(inner, _mT(v))), self.uplo)


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and unit eigenvectors (columns) of a symmetric matrix.

    As NumPy, only the ``UPLO`` triangle of ``a`` is read, so the gradient
    w.r.t. the other triangle is 0. Both outputs are differentiable; see the
    module docstring for repeated eigenvalues.

    >>> import minigrad as mg
    >>> w, v = mg.linalg.eigh(mg.tensor([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    Tensor([1., 3.])
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', not {UPLO!r}.")
    a = _tensor(a)
    _check_square(a.data, "eigh")
    _check_finite(a.data, "eigh")
    packed = Eigh.apply(a, UPLO=UPLO)
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


def _real_eig(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _check_square(a, "eig")
    _check_finite(a, "eig")
    w, v = np.linalg.eig(a)
    if np.iscomplexobj(w):
        if np.any(w.imag != 0):
            raise ValueError(
                f"eig: the matrix of shape {a.shape} has complex eigenvalues "
                f"(e.g. {w[w.imag != 0].flat[0]:.4g}); minigrad's eig handles real spectra "
                "only. For a symmetric matrix use mg.linalg.eigh.")
        w, v = w.real, v.real
    return w, v


def _eigvec_inverse_T(v: Tensor) -> Tensor:
    if np.any(np.abs(np.linalg.det(v.data)) < np.finfo(v.dtype).eps):
        raise LinAlgError("eig: the eigenvectors are linearly dependent (a defective matrix), "
                          "so the gradient of eig is undefined there.")
    return _mT(inv(v))


class Eig(Function):
    """out = [w; V], eigenvalues (row 0) above unit eigenvectors (rows 1..n) of real
    A = V diag(w) V^-1;   grad_A = V^-T (diag(g_w) + F o V^T g') V^T,  F_ij = 1 / (w_j - w_i),
    g' = g_V - V diag(V^T g_V) (the part along each column is held fixed by the unit norm)"""

    saves = ("out",)

    def forward(self, a):
        w, v = _real_eig(a)
        return np.concatenate([w[..., None, :], v], axis=-2)

    def backward(self, grad, out, a):
        w, v, g_w, g_v = out[..., 0, :], out[..., 1:, :], grad[..., 0, :], grad[..., 1:, :]
        used = bool(np.any(g_v.data != 0))  # warn about repeated eigenvalues only if V is used
        along = g_v - v * _sum(v * g_v, axis=-2, keepdims=True)
        inner = _diag_embed(g_w) + _inverse_gaps(w, "eig", used) * matmul(_mT(v), along)
        return matmul(_eigvec_inverse_T(v), matmul(inner, _mT(v)))


def eig(a: Any) -> EigResult:
    """Eigenvalues and unit eigenvectors of a real matrix whose eigenvalues are real.

    Ordered and normalized as ``numpy.linalg.eig`` (unit columns, LAPACK's order);
    a complex spectrum raises ``ValueError``. Both outputs are differentiable
    (for distinct eigenvalues; see the module docstring).

    >>> import minigrad as mg
    >>> w, v = mg.linalg.eig(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> [round(x, 4) for x in w.tolist()]
    [-0.3723, 5.3723]
    """
    packed = Eig.apply(a)
    return EigResult(packed[..., 0, :], packed[..., 1:, :])
