"""Sliding windows: ``Unfold`` / ``Fold`` and the convolutions and poolings built on
them (``mg.nn.functional`` exports the public functions).

``Unfold`` (im2col) turns an image ``(N, C, H, W)`` into its windows
``(N, C, kh, kw, OH, OW)``: a strided view of the (padded) input, no Python loop
over pixels. A convolution is then one matrix product of the flattened kernel
with the windows, and a pooling a max or mean over the window axes. The
gradient of ``Unfold`` is its adjoint ``Fold``, which adds every window's
gradient back where the window was read (a loop over the few kernel offsets,
never over pixels); ``Fold``'s own gradient is ``Unfold`` again. Both are
minigrad ops, so second derivatives and ``mg.compile`` go through convolutions
and poolings like through any other op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.engine import Function
from minigrad.ops.reductions import max as reduce_max
from minigrad.ops.reductions import mean
from minigrad.ops.shape import pad, transpose
from minigrad.tensor import Tensor

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
    ``kernel_size``; ``padding`` adds entries that never win (as PyTorch's -inf padding).

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
        # max: pad with the lowest finite value, never -inf (no inf for detect_anomaly);
        # every window holds a real element (padding <= kernel / 2), so padding never wins
        fill = float(np.finfo(x.dtype).min) if kind == "max" else 0.0
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
# Helpers
# ---------------------------------------------------------------------------


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _tuple(value: Any, d: int, name: str, where: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of d ints, as a tuple of d ints >= minimum."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * d
    if len(values) != d or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   and v >= minimum for v in values):
        raise ValueError(f"{where}: {name} must be an int >= {minimum} or {d} of them, "
                         f"got {value!r}.")
    return tuple(int(v) for v in values)
