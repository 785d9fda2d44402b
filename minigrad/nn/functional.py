"""``mg.nn.functional``: the stateless functions behind the layers (PyTorch's names).

Convolution and pooling live in ``windows.py`` (``Unfold`` / ``Fold``, im2col and
its adjoint) and are exported here. The rest are a few lines of existing ops,
except three single ops where small models spend their time: ``Normalize``
(batch and layer norm), ``Gelu`` and ``DropoutMask`` -- each with its rule in
minigrad ops, so that second derivatives and ``mg.compile`` go through them.

>>> import minigrad as mg
>>> x = mg.ones((1, 1, 4, 4))
>>> w = mg.ones((2, 1, 3, 3))
>>> mg.nn.functional.conv2d(x, w, padding=1).shape
(1, 2, 4, 4)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import engine
from minigrad.creation import arange
from minigrad.engine import Function
from minigrad.nn.windows import (  # convolution and pooling, exported here
    _tensor,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    fold,
    max_pool1d,
    max_pool2d,
    unfold,
)
from minigrad.ops.elementwise import _erf, exp, expm1, log1p, minimum, sigmoid, tanh, where
from minigrad.ops.elementwise import relu as _relu
from minigrad.ops.reductions import log_softmax, mean, softmax
from minigrad.ops.shape import swapaxes
from minigrad.tensor import Tensor
from minigrad.versions import mark_modified

__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "conv1d",
    "conv2d",
    "dropout",
    "elu",
    "embedding",
    "fold",
    "gelu",
    "layer_norm",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "relu",
    "scaled_dot_product_attention",
    "silu",
    "softmax",
    "softplus",
    "unfold",
]


# ---------------------------------------------------------------------------
# Dropout, normalization, embedding
# ---------------------------------------------------------------------------


class DropoutMask(Function):
    """out = a random mask shaped like x: 1 / (1 - p) with probability 1 - p, else 0;
    no gradient (dropout multiplies x by it)

    The draw is an op, so that ``mg.compile`` calls it again on every run (a
    fresh mask each step) instead of freezing one mask into the compiled code.
    """

    saves = ()

    name = "dropout_mask"

    def forward(self, x, p, rng):
        keep = rng.random(x.shape) >= p
        return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))

    def backward(self, grad, out, x):
        return None


def dropout(input: Any, p: float = 0.5, training: bool = True, rng: Any = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (training only; the identity when ``training=False`` or ``p == 0``).

    ``rng``: a ``numpy.random.Generator``, a seed (the same seed gives the same
    mask) or ``None`` (fresh entropy).
    """
    x = _tensor(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}.")
    if not training or p == 0.0:
        return x
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if p == 1.0:
        return x * np.zeros((), dtype=x.dtype)
    return x * DropoutMask.apply(x, p=p, rng=gen)


class Normalize(Function):
    """out = (x - m) / sqrt(v + eps), m and v the mean and (biased) variance over ``axes``;
    d out/dx = (grad - mean(grad) - out * mean(grad * out)) / sqrt(v + eps)

    The core of batch_norm and layer_norm as one node. (The rule: x moves out
    directly, through the mean, which shifts every element, and through the
    variance, which rescales them; the last two give the two subtracted means.)
    ``stats`` (batch_norm in training) receives the batch's mean and variance
    here, in forward, so that a step compiled by ``mg.compile`` updates the
    running statistics on every run, not only while it was traced.
    """

    def forward(self, x, axes, eps, stats=None):
        self.axes, self.eps = axes, eps
        batch_mean = x.mean(axis=axes, keepdims=True)
        centered = x - batch_mean
        batch_var = (centered * centered).mean(axis=axes, keepdims=True)
        if stats is not None and engine.tracer is None:  # not while mg.compile records the op
            stats.update(batch_mean.reshape(-1), batch_var.reshape(-1), x.size // batch_mean.size)
        return centered / np.sqrt(batch_var + eps)

    def backward(self, grad, out, x):
        axes = self.axes
        centered = x - mean(x, axis=axes, keepdims=True)
        inv_std = (mean(centered * centered, axis=axes, keepdims=True) + self.eps) ** -0.5
        return inv_std * (grad - mean(grad, axis=axes, keepdims=True)
                          - out * mean(grad * out, axis=axes, keepdims=True))


class _RunningStats:
    """BatchNorm's running statistics, updated in place by Normalize's forward:
    ``running = (1 - momentum) * running + momentum * batch`` (the unbiased batch
    variance for ``running_var``), as PyTorch. With a ``count`` (the layer's
    ``num_batches_tracked``) it is incremented too, and ``momentum=None`` means
    the cumulative average, momentum = 1 / count."""

    def __init__(self, mean: Any, var: Any, momentum: float | None, count: Any = None) -> None:
        self.mean, self.var, self.momentum, self.count = mean, var, momentum, count

    def update(self, batch_mean: np.ndarray, batch_var: np.ndarray, n: int) -> None:
        if self.count is not None:
            self.count.data[...] += 1
        momentum = self.momentum if self.momentum is not None else 1.0 / float(self.count.data)
        for running, batch in ((self.mean, batch_mean), (self.var, batch_var * (n / (n - 1)))):
            array = running.data if isinstance(running, Tensor) else running
            array *= 1 - momentum
            array += momentum * batch.astype(array.dtype, copy=False)
        touched = [t for t in (self.mean, self.var, self.count) if isinstance(t, Tensor)]
        mark_modified(*touched, where="nn.functional.batch_norm (running statistics)")


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None,
               bias: Any = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalize each channel (axis 1) of ``(N, C, ...)`` over the batch and the other axes.

    Training: the batch mean and (biased) variance normalize; ``running_mean`` and
    ``running_var`` (when given) are updated in place as PyTorch does,
    ``running = (1 - momentum) * running + momentum * batch``, with the *unbiased*
    batch variance. Evaluation: the running statistics normalize.
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any, bias: Any,
                training: bool, momentum: float | None, eps: float,
                num_batches_tracked: Any = None) -> Tensor:
    """batch_norm, and the BatchNorm layers' counter of batches (see _RunningStats)."""
    x = _tensor(input)
    where_ = "batch_norm"
    if x.ndim < 2:
        raise ValueError(f"{where_}: expected input of shape (N, C) or (N, C, ...), got "
                         f"shape {x.shape}.")
    c = x.shape[1]
    axes = (0, *range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(np.shape(t.data if isinstance(t, Tensor) else t)) != (c,):
            raise ValueError(f"{where_}: {name} must have shape ({c},) for input of shape "
                             f"{x.shape} ({c} channels), got {np.shape(_array(t))}.")
    if training or running_mean is None or running_var is None:
        count = x.size // c
        if training and count <= 1:
            raise ValueError(f"{where_}: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}. Use a batch of 2 or more, or "
                             "call model.eval().")
        stats = None
        if training and running_mean is not None and running_var is not None:
            stats = _RunningStats(running_mean, running_var, momentum, num_batches_tracked)
        out = Normalize.apply(x, axes=axes, eps=eps, stats=stats)
    else:  # the buffers as Tensors: ops read their current values (also when compiled)
        rm, rv = (t if isinstance(t, Tensor) else Tensor(t, dtype=x.dtype)
                  for t in (running_mean, running_var))
        out = (x - rm.reshape(shape)) * (rv.reshape(shape) + eps) ** -0.5
    if weight is not None:
        out = out * _tensor(weight).reshape(shape)
    if bias is not None:
        out = out + _tensor(bias).reshape(shape)
    return out


def layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` axes (mean 0, biased variance 1),
    then scale by ``weight`` and shift by ``bias`` (both of ``normalized_shape``)."""
    x = _tensor(input)
    normalized = (tuple(normalized_shape) if isinstance(normalized_shape, (list, tuple))
                  else (int(normalized_shape),))
    _check_normalized_shape(x.shape, normalized, "layer_norm")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(np.shape(_array(t))) != normalized:
            raise ValueError(f"layer_norm: {name} must have the shape of normalized_shape "
                             f"{normalized}, got {tuple(np.shape(_array(t)))} (input of shape "
                             f"{x.shape}).")
    out = Normalize.apply(x, axes=tuple(range(x.ndim - len(normalized), x.ndim)), eps=eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _check_normalized_shape(shape: tuple, normalized: tuple, where: str) -> None:
    if shape[len(shape) - len(normalized):] != normalized or len(normalized) > len(shape):
        raise ValueError(
            f"{where}: normalized_shape {normalized} must match the last {len(normalized)} "
            f"axes of the input, but the input has shape {shape}. Use normalized_shape="
            f"{shape[-len(normalized):] if normalized and len(shape) >= len(normalized) else shape}"
            " or reshape the input.")


def embedding(input: Any, weight: Any, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (``(num_embeddings, dim)``) at the integer indices ``input``
    (any shape): the result has shape ``input.shape + (dim,)``. Repeated indices
    accumulate their gradients; row ``padding_idx`` receives none."""
    weight = _tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, dim), got shape "
                         f"{weight.shape}.")
    index = _indices(input, weight.shape[0], "embedding")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    rows = weight[index]
    if padding_idx is None:
        return rows
    at_pad = (index == padding_idx)[..., None]
    return where(at_pad, weight.detach()[index], rows)


def _indices(input: Any, n: int, where_: str) -> np.ndarray:
    index = input.data if isinstance(input, Tensor) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{where_}: indices must be integers, got dtype {index.dtype}. "
                        "Convert with x.astype(np.int64).")
    if index.size and index.min() < 0:  # as PyTorch: no counting from the end
        raise IndexError(f"{where_}: index {int(index.min())} is out of range for {n} "
                         f"embeddings (valid: 0 to {n - 1}; negative indices are not "
                         "allowed). Fix the indices.")
    if index.size and index.max() >= n:
        raise IndexError(f"{where_}: index {int(index.max())} is out of range for {n} embeddings "
                         f"(valid: 0 to {n - 1}). Build the layer with num_embeddings > "
                         f"{int(index.max())}, or fix the indices.")
    return index


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


def relu(input: Any) -> Tensor:
    """max(x, 0); the gradient at 0 is 0."""
    return _relu(input)


class Gelu(Function):
    """out = x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2 the normal CDF;
    d out/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the normal density

    With approximate="tanh": Phi(x) ~ (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3),
    d out/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) u'(x) / 2.
    One node instead of five: GELU sits on the widest activations of a transformer.
    """

    saves = ("inputs",)

    def forward(self, x, approximate):
        self.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x * x * x)))
        return 0.5 * x * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))))

    def backward(self, grad, out, x):
        if self.approximate == "tanh":
            t = tanh(_GELU_C * (x + 0.044715 * x * x * x))
            slope = _GELU_C * (1.0 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * slope)
        # Phi(x) = out / x: no second erf (the costliest part); Phi(0) = 1/2
        away = abs(x) > 1e-100
        cdf = where(away, out / where(away, x, 1.0), 0.5)
        pdf = exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return grad * (cdf + x * pdf)


_GELU_C = math.sqrt(2.0 / math.pi)


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x * Phi(x) with Phi the normal CDF: exact (``0.5 x (1 + erf(x / sqrt 2))``) or, with
    ``approximate="tanh"``, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}.")
    return Gelu.apply(_tensor(input), approximate=approximate)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x (the slope's side at 0, as PyTorch)."""
    x = _tensor(input)
    return where(x > 0, x, x * negative_slope)  # the mask is an op: compiled code recomputes it


def elu(input: Any, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    x = _tensor(input)
    positive = x > 0
    return where(positive, x, alpha * expm1(where(positive, 0.0, x)))  # no exp of a large x


def silu(input: Any) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _tensor(input)
    return x * sigmoid(x)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta; x itself where beta x > threshold (as PyTorch)."""
    x = _tensor(input)
    linear = x * beta > threshold
    safe = where(linear, 0.0, x)  # exp never sees a large argument
    return where(linear, x, log1p(exp(safe * beta)) / beta)


def log_sigmoid(input: Any) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)), stable for any x."""
    x = _tensor(input)
    return minimum(x, 0.0) - log1p(exp(-abs(x)))


# ---------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, rng: Any = None) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two axes, as PyTorch.

    ``query`` ``(..., L, E)``, ``key`` ``(..., S, E)``, ``value`` ``(..., S, Ev)``.
    ``attn_mask``: boolean (True = may attend) or float (added to the scores),
    broadcastable to ``(..., L, S)``. ``is_causal``: position i attends to j <= i.
    ``scale`` defaults to ``1 / sqrt(E)``.
    """
    q, k, v = _tensor(query), _tensor(key), _tensor(value)
    where_ = "scaled_dot_product_attention"
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] \
            or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{where_}: query {q.shape}, key {k.shape} and value {v.shape} must be "
                         "(..., L, E), (..., S, E) and (..., S, Ev).")
    L, S = q.shape[-2], k.shape[-2]
    scores = (q @ swapaxes(k, -1, -2)) * (1.0 / math.sqrt(q.shape[-1]) if scale is None
                                         else scale)
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{where_}: pass either attn_mask or is_causal=True, not both.")
        # every row keeps column 0, so no row is fully masked
        return _attend(where(causal_mask(L, S), scores, _lowest(scores)), v, dropout_p, rng)
    if attn_mask is None:
        return _attend(scores, v, dropout_p, rng)
    mask = _mask_tensor(attn_mask, where_)
    if not _broadcasts_to(mask.shape, scores.shape):
        raise ValueError(f"{where_}: attn_mask has shape {mask.shape} but the attention "
                         f"scores have shape {scores.shape} (..., L={L}, S={S}); give a "
                         f"mask of shape ({L}, {S}) or one that broadcasts to "
                         f"{scores.shape}.")
    if mask.dtype == bool:  # True = may attend
        return _attend(scores, v, dropout_p, rng, mask)
    scores = scores + mask.astype(scores.dtype)  # added; a row -inf everywhere is fully masked
    return _attend(scores, v, dropout_p, rng, scores > -np.inf)


def _attend(scores: Tensor, v: Tensor, dropout_p: float, rng: Any,
            allowed: Tensor | None = None) -> Tensor:
    """softmax(scores) v, with the scores where ``allowed`` (a bool Tensor) is False
    left out. A query row with no key allowed gets weights 0, so an output of 0 (as PyTorch's
    scaled_dot_product_attention). Left-out scores become the dtype's lowest finite
    number, never -inf: exp of it is exactly 0 all the same, and no inf or NaN appears
    for ``detect_anomaly`` to stop at."""
    weights = attention_weights(scores, allowed)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True, rng=rng)
    return weights @ v


def attention_weights(scores: Tensor, allowed: Tensor | None = None) -> Tensor:
    """softmax over the last axis of the scores where ``allowed``; 0 elsewhere, and 0 on
    a row with nothing allowed (see _attend)."""
    if allowed is None:
        return softmax(scores, axis=-1)
    weights = softmax(where(allowed, scores, _lowest(scores)), axis=-1)
    return where(allowed.sum(axis=-1, keepdims=True) > 0, weights, 0.0)


def causal_mask(L: int, S: int) -> Tensor:
    """The bool ``(L, S)`` mask True where query i may attend to key j <= i, built with
    ops from the shapes (``mg.compile`` records it rather than baking in an array)."""
    return arange(L).reshape(L, 1) >= arange(S)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _lowest(t: Tensor) -> float:
    return float(np.finfo(t.dtype).min)


def _mask_tensor(attn_mask: Any, where_: str) -> Tensor:
    """attn_mask as a Tensor (a Tensor stays one: compiled code reads it at call time);
    bool or floating only, as PyTorch."""
    mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(np.asarray(attn_mask))
    if mask.dtype != bool and mask.dtype.kind != "f":
        raise TypeError(f"{where_}: attn_mask must be a bool or floating mask (bool: True "
                        f"where attention is allowed; float: added to the scores), got dtype "
                        f"{mask.dtype}. Convert it, e.g. attn_mask.astype(bool).")
    return mask


def _array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)
