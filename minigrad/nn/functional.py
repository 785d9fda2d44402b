"""``mg.nn.functional``: the stateless functions behind the layers (PyTorch's names).

Convolution and pooling rest on one pair of ops. ``Unfold`` (im2col) turns an
image ``(N, C, H, W)`` into its windows ``(N, C, kh, kw, OH, OW)``: a strided
view of the (padded) input, no Python loop over pixels. A convolution is then
one matrix product of the flattened kernel with the windows, and a pooling is a
max or mean over the window axes. The gradient of ``Unfold`` is its adjoint
``Fold``, which adds every window's gradient back where the window was read
(a loop over the few kernel offsets, never over pixels); ``Fold``'s own
gradient is ``Unfold`` again. Both are minigrad ops, so second derivatives and
``mg.compile`` go through convolutions and poolings like through any other op.

Everything else here is a few lines of existing ops: their gradients come from
the ops' rules.

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
from minigrad.engine import Function
from minigrad.ops.elementwise import _erf, exp, expm1, log1p, minimum, sigmoid, tanh, where
from minigrad.ops.elementwise import relu as _relu
from minigrad.ops.reductions import max as reduce_max
from minigrad.ops.reductions import mean, softmax
from minigrad.ops.shape import pad, swapaxes, transpose
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
    "max_pool1d",
    "max_pool2d",
    "relu",
    "scaled_dot_product_attention",
    "silu",
    "softplus",
    "unfold",
]


# ---------------------------------------------------------------------------
# Unfold and Fold: the windows of an image, and their adjoint.
# ---------------------------------------------------------------------------


class Unfold(Function):
    """out[n, c, k..., o...] = x[n, c, o * stride + k * dilation ...]   (im2col)

    ``x`` is ``(N, C, *spatial)``, ``out`` is ``(N, C, *kernel, *out_spatial)``: for each
    channel and kernel offset, the pixels it meets at every output position, so
    that a convolution is ``W.reshape(O, C * K) @ out.reshape(N, C * K, P)``, which
    comes out as ``(N, O, P)``: already the image layout.
    d out/dx adds each window's gradient back where it was read: ``Fold``.
    """

    saves = ()

    def forward(self, x, kernel, stride, dilation):
        self.shape, self.kernel, self.stride, self.dilation = x.shape, kernel, stride, dilation
        d = len(kernel)
        axes = tuple(range(2, 2 + d))
        spans = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
        windows = np.lib.stride_tricks.sliding_window_view(x, spans, axis=axes)
        # windows: (N, C, *positions, *spans); keep every stride-th position and
        # every dilation-th element of a span
        windows = windows[(slice(None), slice(None))
                          + tuple(slice(None, None, s) for s in stride)
                          + tuple(slice(None, None, dl) for dl in dilation)]
        return windows.transpose((0, 1, *range(2 + d, 2 + 2 * d), *range(2, 2 + d)))

    def backward(self, grad, out, x):
        return Fold.apply(grad, shape=self.shape, kernel=self.kernel, stride=self.stride,
                          dilation=self.dilation)


class Fold(Function):
    """out = zeros(shape) with each window of g added back where Unfold read it   (col2im)

    The adjoint of Unfold: a loop over the kernel offsets (9 for a 3x3 kernel),
    each adding a strided slab of g; overlapping windows accumulate.
    d out/dg = Unfold(grad).
    """

    saves = ()

    def forward(self, g, shape, kernel, stride, dilation):
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        d = len(kernel)
        out = np.zeros(shape, dtype=g.dtype)
        positions = g.shape[2 + d:]
        if stride == kernel and all(dl == 1 for dl in dilation):
            # the windows tile the image without overlap: one strided copy,
            # (N, C, kh, kw, P, Q) -> (N, C, P, kh, Q, kw) -> (N, C, P * kh, Q * kw)
            order = (0, 1, *[a for i in range(d) for a in (2 + d + i, 2 + i)])
            covered = tuple(p * k for p, k in zip(positions, kernel))
            tiled = g.transpose(order).reshape(g.shape[:2] + covered)
            out[(slice(None), slice(None)) + tuple(slice(0, n) for n in covered)] = tiled
            return out
        everything = (slice(None), slice(None))
        for offset in np.ndindex(*kernel):
            where_read = tuple(slice(k * dl, k * dl + s * (p - 1) + 1, s)
                               for k, dl, s, p in zip(offset, dilation, stride, positions))
            out[everything + where_read] += g[everything + offset]
        return out

    def backward(self, grad, out, g):
        return unfold(grad, self.kernel, stride=self.stride, dilation=self.dilation)


def unfold(x: Any, kernel_size: Any, stride: Any = 1, dilation: Any = 1) -> Tensor:
    """The sliding windows of ``x`` (``(N, C, *spatial)``) as ``(N, C, *kernel, *out_spatial)``.

    No padding here: pad first with :func:`minigrad.pad`.
    """
    x = _tensor(x)
    d = x.ndim - 2
    kernel = _tuple(kernel_size, d, "kernel_size", "unfold")
    stride = _tuple(stride, d, "stride", "unfold")
    dilation = _tuple(dilation, d, "dilation", "unfold")
    return Unfold.apply(x, kernel=kernel, stride=stride, dilation=dilation)


def fold(g: Any, output_size: Any, kernel_size: Any, stride: Any = 1, dilation: Any = 1) -> Tensor:
    """The adjoint of :func:`unfold`: windows ``(N, C, *kernel, *out_spatial)`` added back
    into an array of shape ``output_size`` (``(N, C, *spatial)``)."""
    g = _tensor(g)
    shape = tuple(output_size)
    d = len(shape) - 2
    return Fold.apply(g, shape=shape, kernel=_tuple(kernel_size, d, "kernel_size", "fold"),
                      stride=_tuple(stride, d, "stride", "fold"),
                      dilation=_tuple(dilation, d, "dilation", "fold"))


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-d convolution (cross-correlation, as PyTorch): input ``(N, C_in, L)``, weight
    ``(C_out, C_in / groups, k)``, bias ``(C_out,)``; ``padding`` an int, ``"valid"`` or
    ``"same"``."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation, as PyTorch): input ``(N, C_in, H, W)``, weight
    ``(C_out, C_in / groups, kh, kw)``, bias ``(C_out,)``. ``stride``, ``padding``
    (zeros) and ``dilation`` are ints or pairs; ``padding`` may also be ``"valid"``
    or ``"same"``.

    Unfold the padded input into windows, then one matrix product per group.

    >>> import minigrad as mg
    >>> x = mg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])          # (1, 1, 2, 2)
    >>> mg.nn.functional.conv2d(x, mg.ones((1, 1, 2, 2))).tolist()
    [[[[10.0]]]]
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def _conv(x: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any,
          groups: int, d: int, where: str) -> Tensor:
    x, weight = _tensor(x), _tensor(weight)
    bias = None if bias is None else _tensor(bias)
    spatial = "(N, C, L)" if d == 1 else "(N, C, H, W)"
    if weight.ndim != d + 2:
        raise ValueError(f"{where}: weight must have {d + 2} dimensions (C_out, C_in / groups, "
                         f"{'k' if d == 1 else 'kh, kw'}), got shape {weight.shape}.")
    unbatched = x.ndim == d + 1
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.ndim != d + 2:
        raise ValueError(f"{where}: expected input of shape {spatial} ({d + 2} dimensions) or "
                         f"unbatched ({d + 1}), got shape {x.shape}. "
                         + ("Add a channel axis with x.reshape(N, 1, H, W)."
                            if x.ndim == d + 1 - 1 and d == 2 else "Reshape the input."))
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups!r}.")
    c_out, c_per_group = weight.shape[:2]
    if c_out % groups:
        raise ValueError(f"{where}: out_channels {c_out} is not divisible by groups={groups}.")
    if x.shape[1] != c_per_group * groups:
        raise ValueError(f"{where}: input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"weight {weight.shape} with groups={groups} expects "
                         f"{c_per_group * groups}. Pass an input with {c_per_group * groups} "
                         f"channels, or build the layer with in_channels={x.shape[1]}.")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"{where}: bias must have shape ({c_out},), got {bias.shape}.")
    kernel = weight.shape[2:]
    stride = _tuple(stride, d, "stride", where)
    dilation = _tuple(dilation, d, "dilation", where)
    widths = _padding(padding, kernel, stride, dilation, where)
    _check_fits(x.shape, widths, kernel, dilation, where)
    if any(w != (0, 0) for w in widths):
        x = pad(x, ((0, 0), (0, 0)) + widths)
    cols = unfold(x, kernel, stride=stride, dilation=dilation)  # (N, C, *K, *P)
    n, positions = cols.shape[0], cols.shape[2 + d:]
    # one product per group: (G, O/G, C/G * K) @ (N, G, C/G * K, P) -> (N, G, O/G, P)
    kernels = weight.reshape(groups, c_out // groups, -1)
    out = kernels @ cols.reshape(n, groups, -1, math.prod(positions))
    out = out.reshape((n, c_out) + positions)
    if bias is not None:
        out = out + bias.reshape((c_out,) + (1,) * d)
    return out.reshape(out.shape[1:]) if unbatched else out


def _padding(padding: Any, kernel: Any, stride: Any, dilation: Any,
             where: str) -> tuple[tuple[int, int], ...]:
    d = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{where}: padding='same' needs stride=1, got stride={stride}.")
            total = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)  # the extra one on the right
        raise ValueError(f"{where}: padding must be an int, a tuple, 'valid' or 'same', "
                         f"not {padding!r}.")
    return tuple((p, p) for p in _tuple(padding, d, "padding", where, minimum=0))


def _check_fits(shape: Any, widths: Any, kernel: Any, dilation: Any, where: str) -> None:
    for size, (before, after), k, dl in zip(shape[2:], widths, kernel, dilation):
        if size + before + after < dl * (k - 1) + 1:
            padded = tuple(s + b + a for s, (b, a) in zip(shape[2:], widths))
            raise ValueError(
                f"{where}: the kernel {tuple(kernel)} (dilation {tuple(dilation)}) is larger "
                f"than the padded input {padded} (input shape {tuple(shape)}). Use a smaller "
                "kernel, more padding, or a larger input.")


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """Maximum over windows of ``(N, C, L)`` (see :func:`max_pool2d`)."""
    return _pool("max", input, kernel_size, stride, padding, dilation, ceil_mode, 1, "max_pool1d")


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """Maximum over each ``kernel_size`` window of ``(N, C, H, W)``; ``stride`` defaults to
    ``kernel_size``, ``padding`` pads with -inf.

    The gradient goes to the window's maximum; tied maxima in a window share it
    evenly (as minigrad's ``max``; PyTorch gives it all to one of them).

    >>> import minigrad as mg
    >>> x = mg.arange(16.0).reshape(1, 1, 4, 4)
    >>> mg.nn.functional.max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _pool("max", input, kernel_size, stride, padding, dilation, ceil_mode, 2, "max_pool2d")


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over windows of ``(N, C, L)`` (see :func:`avg_pool2d`)."""
    return _pool("avg", input, kernel_size, stride, padding, 1, ceil_mode, 1, "avg_pool1d",
                 count_include_pad)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over each ``kernel_size`` window of ``(N, C, H, W)``; ``stride`` defaults to
    ``kernel_size``; ``padding`` pads with zeros, counted in the mean unless
    ``count_include_pad=False`` (as PyTorch)."""
    return _pool("avg", input, kernel_size, stride, padding, 1, ceil_mode, 2, "avg_pool2d",
                 count_include_pad)


def _pool(kind: str, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
          ceil_mode: bool, d: int, where: str, count_include_pad: bool = True) -> Tensor:
    x = _tensor(x)
    unbatched = x.ndim == d + 1
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.ndim != d + 2:
        raise ValueError(f"{where}: expected input of shape "
                         f"{'(N, C, L)' if d == 1 else '(N, C, H, W)'} or unbatched, got shape "
                         f"{x.shape}.")
    if ceil_mode:
        raise ValueError(f"{where}: ceil_mode=True is not supported; pad the input instead.")
    kernel = _tuple(kernel_size, d, "kernel_size", where)
    stride = kernel if stride is None or stride == [] else _tuple(stride, d, "stride", where)
    dilation = _tuple(dilation, d, "dilation", where)
    pads = _tuple(padding, d, "padding", where, minimum=0)
    if any(2 * p > k for p, k in zip(pads, kernel)):
        raise ValueError(f"{where}: padding {pads} must be at most half the kernel size "
                         f"{kernel} (as PyTorch).")
    widths = tuple((p, p) for p in pads)
    _check_fits(x.shape, widths, kernel, dilation, where)
    # The windows as (kernel offsets, N, C, *positions), offsets first: a max or mean
    # over a leading axis is elementwise work on whole slabs, far faster in NumPy than
    # reducing many tiny trailing axes.
    if stride == kernel and not any(pads) and all(dl == 1 for dl in dilation):
        # windows that tile the image (the usual 2x2 pooling) need no unfold: view
        # (N, C, H, W) as (N, C, H / 2, 2, W / 2, 2)
        positions = tuple(n // k for n, k in zip(x.shape[2:], kernel))
        covered = tuple(p * k for p, k in zip(positions, kernel))
        if covered != x.shape[2:]:  # rows and columns no window reaches
            x = x[(slice(None), slice(None)) + tuple(slice(0, n) for n in covered)]
        blocks = x.reshape(x.shape[:2] + tuple(v for pk in zip(positions, kernel) for v in pk))
        windows = transpose(blocks, (*range(3, 3 + 2 * d, 2), 0, 1, *range(2, 2 + 2 * d, 2)))
    else:
        fill = -np.inf if kind == "max" else 0.0
        if any(pads):
            x = pad(x, ((0, 0), (0, 0)) + widths, constant_values=fill)
        windows = transpose(unfold(x, kernel, stride, dilation),  # (N, C, *K, *P)
                            (*range(2, d + 2), 0, 1, *range(d + 2, 2 * d + 2)))
    windows = windows.reshape((-1,) + windows.shape[d:])  # (K, N, C, *P)
    if kind == "max":
        out = reduce_max(windows, axis=0)
    elif count_include_pad or not any(pads):
        out = mean(windows, axis=0)
    else:  # divide by the number of real (unpadded) elements in each window
        real = np.pad(np.ones((1, 1) + tuple(n - 2 * p for n, p in zip(x.shape[2:], pads))),
                      ((0, 0), (0, 0)) + widths)
        counts = unfold(Tensor(real), kernel, stride, dilation).data.sum(
            axis=tuple(range(2, 2 + d)))  # (1, 1, *P)
        out = windows.sum(axis=0) / counts.astype(x.dtype)
    return out.reshape(out.shape[1:]) if unbatched else out


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
    if index.size and (index.min() < -n or index.max() >= n):
        bad = index.max() if index.max() >= n else index.min()
        raise IndexError(f"{where_}: index {int(bad)} is out of range for {n} embeddings "
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
        away = abs(x).data > 1e-100
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
    return where(x.data > 0, x, x * negative_slope)


def elu(input: Any, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    x = _tensor(input)
    positive = x.data > 0
    return where(positive, x, alpha * expm1(where(positive, 0.0, x)))  # no exp of a large x


def silu(input: Any) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _tensor(input)
    return x * sigmoid(x)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta; x itself where beta x > threshold (as PyTorch)."""
    x = _tensor(input)
    linear = (x.data * beta) > threshold
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
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        try:
            np.broadcast_shapes(mask.shape, scores.shape)
            if np.broadcast_shapes(mask.shape, scores.shape) != scores.shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"{where_}: attn_mask has shape {mask.shape} but the attention "
                             f"scores have shape {scores.shape} (..., L={L}, S={S}); give a "
                             f"mask of shape ({L}, {S}) or one that broadcasts to "
                             f"{scores.shape}.") from None
        if mask.dtype == bool:
            scores = where(mask, scores, -np.inf)
        else:
            scores = scores + (attn_mask if isinstance(attn_mask, Tensor) else mask)
    weights = softmax(scores, axis=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True, rng=rng)
    return weights @ v


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _tuple(value: Any, d: int, name: str, where: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of d ints, as a tuple of d ints >= minimum."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * d
    if len(values) != d or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   and v >= minimum for v in values):
        raise ValueError(f"{where}: {name} must be an int >= {minimum} or {d} of them, "
                         f"got {value!r}.")
    return tuple(int(v) for v in values)
