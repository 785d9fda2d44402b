"""Attention layers: ``MultiheadAttention`` (PyTorch's, batch first by default) and a
small pre-norm ``TransformerBlock`` built from it and the layers of ``layers.py``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.layers import GELU, Dropout, LayerNorm, _parameter, _positive_int, _rng
from minigrad.nn.modules import Linear, Module, as_layer_input, float_dtype
from minigrad.ops.elementwise import where
from minigrad.ops.shape import swapaxes
from minigrad.tensor import Tensor

__all__ = ["MultiheadAttention", "TransformerBlock"]


class MultiheadAttention(Module):
    """Multi-head attention as PyTorch's ``nn.MultiheadAttention``, batch first by default.

    Parameters (PyTorch's names and initialization): ``in_proj_weight``
    ``(3E, E)`` (Xavier-uniform), ``in_proj_bias`` ``(3E,)`` (zeros), ``out_proj``
    a ``Linear(E, E)`` (bias zeros). ``forward(query, key, value,
    key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``
    with weights ``(N, L, S)`` averaged over heads (``(N, heads, L, S)`` when
    ``average_attn_weights=False``; ``None`` when ``need_weights=False``).
    Masks follow PyTorch: a boolean ``attn_mask`` ``(L, S)`` or ``(N * heads, L, S)``
    is True where attention is *not* allowed, a float one is added to the
    scores; ``key_padding_mask`` ``(N, S)`` is True at keys to ignore.
    ``is_causal=True`` without a mask builds the causal mask.

    >>> import minigrad as mg
    >>> mha = mg.nn.MultiheadAttention(8, 2, rng=0)
    >>> x = mg.randn((3, 5, 8), rng=1)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = True, rng: Any = None, dtype: Any = None) -> None:
        self.embed_dim = _positive_int("MultiheadAttention", "embed_dim", embed_dim)
        self.num_heads = _positive_int("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads}).")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}.")
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), batch_first
        dtype = float_dtype("MultiheadAttention", dtype)
        gen = _rng(rng)
        self.in_proj_weight = init.xavier_uniform_(_parameter((3 * embed_dim, embed_dim), dtype),
                                                   rng=gen)
        self.in_proj_bias = _parameter((3 * embed_dim,), dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=gen, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)
        self.rng = gen

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
        dtype = self.in_proj_weight.dtype
        q, k, v = (as_layer_input(self, t, dtype) for t in (query, key, value))
        if not self.batch_first:
            q, k, v = (swapaxes(t, 0, 1) if t.ndim == 3 else t for t in (q, k, v))
        E, H, D = self.embed_dim, self.num_heads, self.head_dim
        for name, t in (("query", q), ("key", k), ("value", v)):
            if t.ndim != 3 or t.shape[-1] != E:
                layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
                raise ValueError(f"MultiheadAttention: {name} must have shape {layout} with "
                                 f"E = embed_dim = {E}, got {tuple(t.shape)}.")
        n, L, S = q.shape[0], q.shape[1], k.shape[1]
        if k.shape[:2] != v.shape[:2] or k.shape[0] != n:
            raise ValueError(f"MultiheadAttention: key {k.shape} and value {v.shape} must have "
                             f"the same batch and length, and the batch of query {q.shape}.")
        w, b = self.in_proj_weight, self.in_proj_bias
        heads = []
        for i, t in enumerate((q, k, v)):
            proj = t @ w[i * E:(i + 1) * E].T
            if b is not None:
                proj = proj + b[i * E:(i + 1) * E]
            heads.append(swapaxes(proj.reshape(n, t.shape[1], H, D), 1, 2))  # (N, H, len, D)
        qh, kh, vh = heads
        scores = (qh @ swapaxes(kh, -1, -2)) * (1.0 / math.sqrt(D))  # (N, H, L, S)
        scores, allowed = self._masked(scores, attn_mask, key_padding_mask, is_causal, n, L, S)
        weights = F.attention_weights(scores, allowed)  # a fully masked row: weights 0
        if self.training and self.dropout > 0.0:
            weights = F.dropout(weights, self.dropout, training=True, rng=self.rng)
        out = swapaxes(weights @ vh, 1, 2).reshape(n, L, E)
        out = self.out_proj(out)
        if not self.batch_first:
            out = swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        return out, (weights.mean(axis=1) if average_attn_weights else weights)

    def _masked(self, scores: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool,
                n: int, L: int, S: int) -> tuple:
        """The scores plus any float masks, and the bool Tensor of the scores that may be
        attended to (None when every one may). Masks stay Tensors: compiled code reads
        them at call time."""
        H = self.num_heads
        allowed = None
        if attn_mask is None and is_causal:
            allowed = F.causal_mask(L, S)
        elif attn_mask is not None:
            mask = F._mask_tensor(attn_mask, "MultiheadAttention")
            if mask.shape == (L, S):
                mask = mask.reshape(1, 1, L, S)
            elif mask.shape == (n * H, L, S):
                mask = mask.reshape(n, H, L, S)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask has shape {mask.shape} but must "
                                 f"be (L, S) = ({L}, {S}) or (N * num_heads, L, S) = "
                                 f"({n * H}, {L}, {S}) for query length {L} and key length {S}.")
            scores, allowed = _apply_mask(scores, mask, allowed)
        if key_padding_mask is not None:
            mask = F._mask_tensor(key_padding_mask, "MultiheadAttention")
            if mask.shape != (n, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask has shape {mask.shape} "
                                 f"but must be (N, S) = ({n}, {S}): True at keys to ignore.")
            scores, allowed = _apply_mask(scores, mask.reshape(n, 1, 1, S), allowed)
        return scores, allowed

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


def _apply_mask(scores: Tensor, mask: Tensor, allowed: Tensor | None) -> tuple:
    """PyTorch's nn.MultiheadAttention convention: a bool mask is True where attention
    is NOT allowed; a float mask is added (-inf there: not allowed)."""
    if mask.dtype == bool:
        keep = mask == 0
    else:
        scores = scores + mask.astype(scores.dtype)
        keep = scores > -np.inf
    return scores, (keep if allowed is None else where(allowed, keep, False))


class TransformerBlock(Module):
    """A pre-norm transformer block (as in GPT-2 and makemore's transformer):
    ``x + attn(ln1(x))`` then ``x + mlp(ln2(x))``, with a GELU MLP of width
    ``mlp_ratio * embed_dim``. ``causal=True`` masks attention to earlier positions.
    Input and output ``(N, T, embed_dim)``.

    >>> import minigrad as mg
    >>> block = mg.nn.TransformerBlock(16, 4, rng=0)
    >>> block(mg.randn((2, 8, 16), rng=1)).shape
    (2, 8, 16)
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: int = 4, dropout: float = 0.0,
                 causal: bool = True, rng: Any = None, dtype: Any = None) -> None:
        gen = _rng(rng)
        self.causal = causal
        self.ln1 = LayerNorm(embed_dim, dtype=dtype)
        self.attn = MultiheadAttention(embed_dim, num_heads, dropout=dropout, rng=gen,
                                       dtype=dtype)
        self.ln2 = LayerNorm(embed_dim, dtype=dtype)
        self.fc = Linear(embed_dim, mlp_ratio * embed_dim, rng=gen, dtype=dtype)
        self.act = GELU()
        self.proj = Linear(mlp_ratio * embed_dim, embed_dim, rng=gen, dtype=dtype)
        self.drop = Dropout(dropout, rng=gen)

    def forward(self, x: Any, attn_mask: Any = None) -> Tensor:
        h = self.ln1(x)
        attended, _ = self.attn(h, h, h, attn_mask=attn_mask, need_weights=False,
                                is_causal=self.causal and attn_mask is None)
        x = x + self.drop(attended)
        return x + self.drop(self.proj(self.act(self.fc(self.ln2(x)))))
