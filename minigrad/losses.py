"""Loss functions and information measures: ``mg.losses``.

Every loss compares a prediction with a target of *the same shape* and returns
a Tensor reduced by ``reduction="mean" | "sum" | "none"``. Shapes that differ
are an error, never a silent broadcast: ``pred`` of shape (n,) against a
target of shape (n, 1) would broadcast to an (n, n) matrix and train on the
wrong thing without a word.

The hot path is lean: ``mse`` is one subtract, one multiply and one mean; the
cross-entropies are single fused nodes whose backward is written with minigrad
ops (so second derivatives work).

>>> import minigrad as mg
>>> round(mg.losses.mse(mg.tensor([3.0, 5.0, 7.0]), mg.tensor([2.0, 5.0, 8.0])).item(), 4)
0.6667
>>> mg.losses.entropy(mg.tensor([0.5, 0.5]), base=2).item()
1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.engine import Function
from minigrad.ops.elementwise import log, log1p, sigmoid, where
from minigrad.ops.reductions import log_softmax, softmax
from minigrad.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "entropy",
    "huber",
    "kl_div",
    "mae",
    "mse",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------
# Checks shared by every loss
# ---------------------------------------------------------------------------


def _as_float(x: Any, name: str) -> Tensor:
    """A Tensor for ``x`` (integer or bool data become float64)."""
    t = x if isinstance(x, Tensor) else Tensor(x)
    if t.dtype.kind != "f":
        t = Tensor._make(t.data.astype(np.float64))
    return t


def _as_target(target: Any, like: Tensor, fn: str = "loss", name: str = "target") -> Tensor:
    """The target as a Tensor; plain data takes the prediction's float dtype."""
    if isinstance(target, Tensor):
        return target if target.dtype.kind == "f" else Tensor._make(
            target.data.astype(like.dtype))
    return Tensor._make(_numeric(target, fn, name).astype(like.dtype, copy=False))


def _numeric(target: Any, fn: str, name: str) -> np.ndarray:
    """``target`` as a NumPy array of numbers, or a TypeError naming ``fn``."""
    try:
        raw = np.asarray(target)
    except ValueError:  # ragged nested lists
        raw = np.asarray(None)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name} must be numbers (a Tensor, an array or a nested list "
                        f"of equal-length rows), got {type(target).__name__} "
                        f"{str(target)[:60]}. Pass numbers of the same shape as the prediction.")
    return raw


def _check_shapes(fn: str, a: Tensor, b: Tensor, names: tuple[str, str] = ("pred", "target")
                  ) -> None:
    if a.shape == b.shape:
        return
    na, nb = names
    try:
        where_to = f"they would broadcast to {np.broadcast_shapes(a.shape, b.shape)}"
    except ValueError:
        where_to = "they do not even broadcast together"
    if a.ndim == 1 and b.shape == a.shape + (1,):
        fix = f"Use {nb}.reshape(-1) or {na}.reshape(-1, 1)."
    elif b.ndim == 1 and a.shape == b.shape + (1,):
        fix = f"Use {nb}.reshape(-1, 1) or {na}.reshape(-1)."
    else:
        fix = "Reshape one of them so that both have the same shape."
    raise ValueError(f"{fn}: {na} has shape {a.shape} but {nb} has shape {b.shape}; "
                     f"{where_to}. {fix}")


def _check_unit_interval(fn: str, t: Tensor, name: str) -> None:
    data = t.data
    if data.size and (data.min() < 0 or data.max() > 1):
        bad = data.min() if data.min() < 0 else data.max()
        raise ValueError(f"{fn}: {name} must hold probabilities in [0, 1], but it contains "
                         f"{bad!r}. Pass probabilities (apply mg.sigmoid / mg.softmax first), "
                         f"or use the *_with_logits / cross_entropy form on raw scores.")


def _reduce(fn: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, not {reduction!r}.")


def _check_reduction(fn: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, not {reduction!r}.")


def _pair(fn: str, pred: Any, target: Any, reduction: str,
          names: tuple[str, str] = ("pred", "target")) -> tuple[Tensor, Tensor]:
    _check_reduction(fn, reduction)
    pred = _as_float(pred, names[0])
    target = _as_target(target, pred, fn, names[1])
    _check_shapes(fn, pred, target, names)
    return pred, target


# ---------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------


def mse(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((pred - target)^2).

    Its gradient with respect to ``pred`` is ``2 (pred - target) / n``.

    >>> import minigrad as mg
    >>> mg.losses.mse(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 4.0])).item()
    2.0
    """
    pred, target = _pair("mse", pred, target, reduction)
    diff = pred - target
    return _reduce("mse", diff * diff, reduction)


def mae(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|pred - target|) (gradient 0 where they are equal)."""
    pred, target = _pair("mae", pred, target, reduction)
    return _reduce("mae", abs(pred - target), reduction)


def huber(pred: Any, target: Any, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Huber loss, as ``torch.nn.functional.huber_loss``: with d = pred - target,
    ``0.5 d^2`` where ``|d| <= delta`` and ``delta (|d| - 0.5 delta)`` elsewhere."""
    if not delta > 0:
        raise ValueError(f"huber: delta must be positive, not {delta!r}.")
    pred, target = _pair("huber", pred, target, reduction)
    d = pred - target
    a = abs(d)
    loss = where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))  # a mask made by an op
    return _reduce("huber", loss, reduction)


# ---------------------------------------------------------------------------
# Classification losses
# ---------------------------------------------------------------------------


class BinaryCrossEntropy(Function):
    """out = -(t log p + (1 - t) log(1 - p)), each log clamped at -100 (as PyTorch);
    d out/dp = (p - t) / max(p (1 - p), 1e-12),   d out/dt = log(1 - p) - log p (unclamped,
    as PyTorch: inf at p = 0)"""

    def forward(self, p, t):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log1p(-p), -100.0)
        return -(t * log_p + (1 - t) * log_q)

    def backward(self, grad, out, p, t):
        grad_p = grad_t = None
        if self.needs_input_grad[0]:
            grad_p = grad * (p - t) / ((1 - p) * p).clip(1e-12, None)
        if self.needs_input_grad[1]:  # -logit(p), unclamped as PyTorch's; minigrad ops, so
            with np.errstate(divide="ignore"):  # that create_graph can differentiate it in p
                grad_t = grad * (log1p(-p) - log(p))
        return grad_p, grad_t


def binary_cross_entropy(probs: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities: -(t log p + (1 - t) log(1 - p)).

    Both ``probs`` and ``target`` must lie in [0, 1]. Logs are clamped at -100
    as in PyTorch, so p = 0 or 1 gives a large finite loss, not inf. For raw
    scores use :func:`binary_cross_entropy_with_logits` (stabler).
    """
    p, t = _pair("binary_cross_entropy", probs, target, reduction, ("probs", "target"))
    _check_unit_interval("binary_cross_entropy", p, "probs")
    _check_unit_interval("binary_cross_entropy", t, "target")
    return _reduce("binary_cross_entropy", BinaryCrossEntropy.apply(p, t), reduction)


class BinaryCrossEntropyWithLogits(Function):
    """out = log(1 + exp(x)) - t x   (the BCE of sigmoid(x), without computing it);
    d out/dx = sigmoid(x) - t,   d out/dt = -x"""

    def forward(self, x, t):
        with np.errstate(under="ignore"):  # log(1 + e^x) for x far below 0 is 0: right
            return np.logaddexp(0, x) - t * x  # logaddexp(0, x) = log(1 + e^x), stable for any x

    def backward(self, grad, out, x, t):
        grad_x = grad * (sigmoid(x) - t) if self.needs_input_grad[0] else None
        return grad_x, -grad * x if self.needs_input_grad[1] else None


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean"
                                     ) -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)``, computed stably for any logit.

    >>> import minigrad as mg
    >>> round(mg.losses.binary_cross_entropy_with_logits(mg.tensor([0.0]),
    ...                                                   mg.tensor([1.0])).item(), 4)
    0.6931
    """
    x, t = _pair("binary_cross_entropy_with_logits", logits, target, reduction,
                 ("logits", "target"))
    _check_unit_interval("binary_cross_entropy_with_logits", t, "target")
    return _reduce("binary_cross_entropy_with_logits",
                   BinaryCrossEntropyWithLogits.apply(x, t), reduction)


class CrossEntropy(Function):
    """out_i = logsumexp(x_i) - x_i[t_i] = -log_softmax(x_i)[t_i];
    d out_i/dx_ij = softmax(x_i)_j - [j == t_i]"""

    def forward(self, x, classes):
        self.onehot = np.zeros_like(x)
        rows = np.arange(x.shape[0])
        self.onehot[rows, classes] = 1
        shifted = x - x.max(axis=1, keepdims=True)
        with np.errstate(under="ignore"):
            lse = np.log(np.exp(shifted).sum(axis=1))
        return lse - shifted[rows, classes]

    def backward(self, grad, out, x):
        return grad.reshape(-1, 1) * (softmax(x, axis=1) - self.onehot)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of raw scores ``logits`` of shape (n, C), via log-softmax (stable).

    ``target`` is either class indices of shape (n,) (an integer array or
    integer Tensor, values in [0, C)) -- the loss of row i is
    ``-log_softmax(logits)[i, target[i]]`` -- or probabilities of shape (n, C),
    giving ``-sum_j target_ij log_softmax(logits)_ij``. The gradient with
    respect to the logits is ``softmax(logits) - target`` per row.

    >>> import minigrad as mg
    >>> round(mg.losses.cross_entropy(mg.tensor([[2.0, 0.0]]), [0]).item(), 4)
    0.1269
    """
    fn = "cross_entropy"
    _check_reduction(fn, reduction)
    x = _as_float(logits, "logits")
    if x.ndim != 2:
        raise ValueError(f"{fn}: logits must have shape (n, C), got {x.shape}. For one "
                         f"sample use logits.reshape(1, -1).")
    raw = target.data if isinstance(target, Tensor) else _numeric(target, fn, "target")
    if raw.dtype.kind in "iu":
        n, c = x.shape
        if raw.shape != (n,):
            raise ValueError(f"{fn}: class-index target must have shape ({n},) for logits of "
                             f"shape {x.shape}, got {raw.shape}. Use target.reshape(-1).")
        if raw.size and (raw.min() < 0 or raw.max() >= c):
            bad = raw.min() if raw.min() < 0 else raw.max()
            raise ValueError(f"{fn}: class index {bad} is out of range for {c} classes; "
                             f"indices must lie in [0, {c - 1}].")
        return _reduce(fn, CrossEntropy.apply(x, classes=raw), reduction)
    if raw.dtype.kind == "b":
        raise TypeError(f"{fn}: target of dtype bool is ambiguous; pass integer class "
                        f"indices or float probabilities of shape {x.shape}.")
    t = _as_target(target, x, fn)
    _check_shapes(fn, x, t, ("logits", "target"))
    _check_unit_interval(fn, t, "target")
    return _reduce(fn, -(t * log_softmax(x, axis=1)).sum(axis=1), reduction)


# ---------------------------------------------------------------------------
# Information theory: entropy and KL divergence
# ---------------------------------------------------------------------------


class NegXLogX(Function):
    """out = -p log p, with 0 log 0 = 0;
    d out/dp = -(log p + 1) where p > 0, and 0 where p = 0 (a finite convention)"""

    def forward(self, p):
        positive = p != 0  # exact zeros only: NaN must propagate, not become 0
        return -p * np.log(np.where(positive, p, 1))

    def backward(self, grad, out, p):
        positive = p != 0
        return where(positive, -grad * (log(where(positive, p, 1)) + 1), 0.0)


class XLogXOverY(Function):
    """out = p log(p / q), with 0 where p = 0;
    d out/dp = log(p / q) + 1,   d out/dq = -p / q   (both 0 where p = 0)"""

    def forward(self, p, q):
        positive = p != 0  # exact zeros only: NaN must propagate, not become 0
        safe_p = np.where(positive, p, 1)
        with np.errstate(divide="ignore"):  # q = 0 < p: KL is +inf, as it should be
            return np.where(positive, p * (np.log(safe_p) - np.log(q)), 0)

    def backward(self, grad, out, p, q):
        mask = p != 0
        safe_p = where(mask, p, 1)
        grad_p = grad_q = None
        if self.needs_input_grad[0]:
            grad_p = where(mask, grad * (log(safe_p) - log(where(mask, q, 1)) + 1), 0.0)
        if self.needs_input_grad[1]:
            grad_q = where(mask, -grad * p / where(mask, q, 1), 0.0)
        return grad_p, grad_q


def _rows(fn: str, per_element: Tensor, reduction: str) -> Tensor:
    """Sum over the last axis (one value per distribution), then reduce over rows."""
    per_row = per_element.sum(axis=-1) if per_element.ndim else per_element
    return _reduce(fn, per_row, reduction)


def entropy(p: Any, base: float | None = None, reduction: str = "mean") -> Tensor:
    """Shannon entropy ``-sum p log p`` over the last axis (0 log 0 = 0).

    Natural log unless ``base`` (2 gives bits). ``p`` is not renormalized.
    For a batch (..., C) the per-row entropies are reduced by ``reduction``.
    The derivative ``-(log p + 1)`` tends to +inf as p -> 0; minigrad uses 0
    at p = 0, so the gradient is always finite (a zero-probability entry is
    treated as outside the support).

    >>> import minigrad as mg
    >>> mg.losses.entropy(mg.tensor([1.0, 0.0])).item()
    0.0
    """
    fn = "entropy"
    _check_reduction(fn, reduction)
    p = _as_float(p, "p")
    _check_unit_interval(fn, p, "p")
    h = _rows(fn, NegXLogX.apply(p), reduction)
    return h if base is None else h / _log_base(fn, base)


def kl_div(p: Any, q: Any, reduction: str = "mean") -> Tensor:
    """Kullback-Leibler divergence KL(p || q) = sum p log(p / q) over the last axis.

    Terms with p = 0 are 0 (with gradient 0); q = 0 where p > 0 gives +inf.
    Note the argument order differs from ``torch.nn.functional.kl_div``, which
    takes ``log q`` first.

    >>> import minigrad as mg
    >>> mg.losses.kl_div(mg.tensor([0.5, 0.5]), mg.tensor([0.5, 0.5])).item()
    0.0
    """
    p, q = _pair("kl_div", p, q, reduction, ("p", "q"))
    _check_unit_interval("kl_div", p, "p")
    _check_unit_interval("kl_div", q, "q")
    return _rows("kl_div", XLogXOverY.apply(p, q), reduction)


def _log_base(fn: str, base: float) -> float:
    if not (isinstance(base, (int, float)) and base > 0 and base != 1):
        raise ValueError(f"{fn}: base must be a positive number other than 1, not {base!r}.")
    return math.log(base)
