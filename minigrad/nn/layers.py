"""Layers for small models: convolution, pooling, dropout, normalization,
embeddings, activations and attention (PyTorch's names, arguments and defaults).

Each layer holds its parameters (and buffers) and calls a function of
:mod:`minigrad.nn.functional` in ``forward``. Initial values are PyTorch's
defaults, drawn from ``rng`` (a ``numpy.random.Generator``, a seed or
``None``); ``dtype`` (default float64) is the parameters' dtype, and the
input must share it.

>>> import minigrad as mg
>>> net = mg.nn.Sequential(mg.nn.Conv2d(1, 4, 3, padding=1, rng=0), mg.nn.ReLU(),
...                        mg.nn.MaxPool2d(2), mg.nn.Flatten(), mg.nn.Linear(4 * 4 * 4, 10, rng=0))
>>> net(mg.zeros((2, 1, 8, 8))).shape
(2, 10)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn import init, windows
from minigrad.nn.modules import Module, as_layer_input, float_dtype
from minigrad.tensor import Tensor

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "GELU",
    "LayerNorm",
    "LeakyReLU",
    "MaxPool2d",
    "SiLU",
    "Softplus",
]


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _positive_int(layer: str, name: str, value: Any) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, not {value!r}.")
    return int(value)


def _parameter(shape: tuple[int, ...], dtype: np.dtype) -> Tensor:
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------------------
# Convolution and pooling
# ---------------------------------------------------------------------------


class _ConvNd(Module):
    d = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", rng: Any = None, dtype: Any = None) -> None:
        name = type(self).__name__
        self.in_channels = _positive_int(name, "in_channels", in_channels)
        self.out_channels = _positive_int(name, "out_channels", out_channels)
        self.groups = _positive_int(name, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups}).")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, not "
                             f"{padding_mode!r}; pad the input with mg.pad first.")
        self.kernel_size = windows._tuple(kernel_size, self.d, "kernel_size", name)
        self.stride = windows._tuple(stride, self.d, "stride", name)
        self.dilation = windows._tuple(dilation, self.d, "dilation", name)
        self.padding = padding if isinstance(padding, str) else windows._tuple(
            padding, self.d, "padding", name, minimum=0)
        if isinstance(padding, str):  # checked now, not at the first forward
            windows._padding(padding, self.kernel_size, self.stride, self.dilation, name)
        dtype = float_dtype(name, dtype)
        gen = _rng(rng)
        self.weight = _parameter((out_channels, in_channels // groups) + self.kernel_size, dtype)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=gen)  # PyTorch's default
        self.bias = None
        if bias:
            fan_in = in_channels // groups * math.prod(self.kernel_size)
            self.bias = init.uniform_(_parameter((out_channels,), dtype),
                                      -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), rng=gen)

    def forward(self, x: Any) -> Tensor:
        x = as_layer_input(self, x, self.weight.dtype)
        return windows._conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                       self.groups, self.d, type(self).__name__)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0,) * self.d, "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.d:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-d convolution over ``(N, C_in, L)``: weight ``(C_out, C_in / groups, k)``,
    bias ``(C_out,)``, both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch."""

    d = 1


class Conv2d(_ConvNd):
    """2-d convolution over ``(N, C_in, H, W)``: weight ``(C_out, C_in / groups, kh, kw)``,
    bias ``(C_out,)``, both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch
    (fan_in = C_in / groups * kh * kw). See :func:`minigrad.nn.functional.conv2d`.

    >>> import minigrad as mg
    >>> mg.nn.Conv2d(3, 8, 3, stride=2, padding=1, rng=0)(mg.zeros((1, 3, 9, 9))).shape
    (1, 8, 5, 5)
    """

    d = 2


class MaxPool2d(Module):
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size); tied
    maxima share the gradient."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False, ceil_mode: bool = False):
        if return_indices:
            raise ValueError("MaxPool2d: return_indices=True is not supported.")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x: Any) -> Tensor:
        return windows._pool("max", x, self.kernel_size, self.stride, self.padding, self.dilation,
                       self.ceil_mode, 2, "MaxPool2d")

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows (stride defaults to the kernel size)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Any) -> Tensor:
        return windows._pool("avg", x, self.kernel_size, self.stride, self.padding, 1,
                       self.ceil_mode, 2, "AvgPool2d", self.count_include_pad)

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` into one (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        n = max(x.ndim, 1)
        for name, dim in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -n <= dim < n:
                raise IndexError(f"Flatten: {name}={dim} is out of range for an input of shape "
                                 f"{x.shape} ({x.ndim} axes: valid -{n} to {n - 1}).")
        start, end = self.start_dim % n, self.end_dim % n
        if x.ndim == 0 or start > end:
            raise ValueError(f"Flatten: cannot flatten axes {self.start_dim}..{self.end_dim} of "
                             f"an input of shape {x.shape}.")
        return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# ---------------------------------------------------------------------------
# Dropout and normalization
# ---------------------------------------------------------------------------


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the rest
    by ``1 / (1 - p)``; in evaluation mode (``model.eval()``), the identity.
    ``rng`` seeds the masks: the same seed gives the same sequence of masks."""

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}.")
        self.p = float(p)
        self.rng = _rng(rng)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _BatchNorm(Module):
    ndims: tuple[int, ...] = (2, 3)
    shape_text = "(N, C) or (N, C, L)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = None) -> None:
        name = type(self).__name__
        self.num_features = _positive_int(name, "num_features", num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = self._dtype = float_dtype(name, dtype)
        self.weight = Tensor(np.ones(num_features, dtype), requires_grad=True) if affine else None
        self.bias = Tensor(np.zeros(num_features, dtype), requires_grad=True) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: Any) -> Tensor:
        name = type(self).__name__
        dtype = next((t.dtype for t in (self.weight, self.running_mean) if t is not None),
                     self._dtype)  # the parameters' dtype, after any model.to(dtype)
        x = as_layer_input(self, x, dtype)
        if x.ndim not in self.ndims:
            raise ValueError(f"{name}: expected input of shape {self.shape_text}, got shape "
                             f"{x.shape}.")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: input has {x.shape[1]} channels on axis 1 (shape "
                             f"{x.shape}) but the layer has num_features={self.num_features}. "
                             f"Build {name}({x.shape[1]}) or fix the input.")
        use_batch = self.training or self.running_mean is None
        stats = (self.running_mean, self.running_var) if (
            not self.training or self.track_running_stats) else (None, None)
        # the counter and the running statistics are updated inside the normalizing op
        return F._batch_norm(x, *stats, self.weight, self.bias, use_batch, self.momentum,
                             self.eps, self.num_batches_tracked if self.training else None)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)``: each channel normalized by the
    batch's mean and (biased) variance in training, by the running statistics in
    evaluation; ``running_mean``, ``running_var`` and ``num_batches_tracked`` are
    buffers (saved in ``state_dict``, not trained), updated as PyTorch does
    (``momentum``; the running variance is unbiased). ``weight`` starts at 1,
    ``bias`` at 0.

    >>> import minigrad as mg
    >>> bn = mg.nn.BatchNorm1d(3)
    >>> y = bn(mg.randn((8, 3), rng=0))
    >>> bool(abs(y.data.mean(axis=0)).max() < 1e-12)
    True
    """

    ndims = (2, 3)
    shape_text = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)``, per channel (see :class:`BatchNorm1d`)."""

    ndims = (4,)
    shape_text = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalize over the last axes (``normalized_shape``), then scale and shift by
    ``weight`` (ones) and ``bias`` (zeros) of that shape."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype: Any = None) -> None:
        shape = (tuple(normalized_shape) if isinstance(normalized_shape, (list, tuple))
                 else (normalized_shape,))
        for n in shape:
            _positive_int("LayerNorm", "normalized_shape", n)
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = float_dtype("LayerNorm", dtype)
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Tensor(np.ones(self.normalized_shape, dtype), requires_grad=True)
            if bias:
                self.bias = Tensor(np.zeros(self.normalized_shape, dtype), requires_grad=True)
        self._dtype = dtype

    def forward(self, x: Any) -> Tensor:
        x = as_layer_input(self, x, self._dtype if self.weight is None else self.weight.dtype)
        F._check_normalized_shape(x.shape, self.normalized_shape, "LayerNorm")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class Embedding(Module):
    """A lookup table: integer indices of any shape -> rows of ``weight``
    (``(num_embeddings, embedding_dim)``, drawn from N(0, 1) as PyTorch; the row
    ``padding_idx``, if given, starts at 0 and gets no gradient).

    >>> import minigrad as mg
    >>> emb = mg.nn.Embedding(27, 10, rng=0)
    >>> emb([[1, 2, 3], [4, 5, 6]]).shape
    (2, 3, 10)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 rng: Any = None, dtype: Any = None) -> None:
        self.num_embeddings = _positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings.")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        dtype = float_dtype("Embedding", dtype)
        self.weight = init.normal_(_parameter((num_embeddings, embedding_dim), dtype), rng=rng)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices: Any) -> Tensor:
        F._indices(indices, self.num_embeddings, "Embedding")
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None
                       else "")


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


class GELU(Module):
    """x * Phi(x); ``approximate="tanh"`` for the tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', not {approximate!r}.")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class SiLU(Module):
    """x * sigmoid(x)."""

    def forward(self, x: Any) -> Tensor:
        return F.silu(x)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta (x itself above ``threshold``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Any) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"
