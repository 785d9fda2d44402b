"""W6 and W7: one training step of the examples' models (issue 15).

* W6 -- the digits CNN of ``examples/digits_cnn.py`` (conv 1->32 3x3,
  BatchNorm, ReLU, max-pool 2; conv 32->64 3x3, BatchNorm, ReLU, max-pool 2;
  dropout; linear 256->10; softmax cross-entropy), batch 64 of 8x8 images,
  one SGD step.
* W7 -- the tiny causal transformer of ``examples/makemore.py`` (vocabulary 27,
  context 16, embedding 64, 2 pre-norm blocks of 4-head causal attention and a
  GELU MLP 64-256-64, final LayerNorm, linear head), batch 32, one SGD step.

Each is written four ways, expression for expression: minigrad eager,
minigrad under ``mg.compile`` (when the package has it), PyTorch (CPU, one
thread) and -- for W6 -- NumPy by hand: im2col convolutions on
``sliding_window_view`` with gradients derived by hand (``w6_numpy``; its
derivation is in the comments and ``tests/test_examples_models.py`` checks it
against minigrad's gradient), the limit for this design. Dropout uses one fixed
mask (drawn with the data) so that every framework computes the same numbers.
Data are random images and tokens: the cost of a step does not depend on them.

Run ``python -m benchmarks.models`` (or ``python -m benchmarks --models``).
Reported per step: median milliseconds, minigrad's ratio to PyTorch (goal
<= 1.5 eager) and to NumPy (goal <= 1.2 compiled), and the peak memory traced
by ``tracemalloc`` during one step (NumPy and minigrad allocations; PyTorch's
allocator is invisible to it, so PyTorch's column is measured with
``torch.profiler``'s memory events instead).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.workloads import Result, Workload

COLUMNS = ["numpy", "minigrad", "compiled", "torch"]
LABELS = {"numpy": "NumPy im2col (by hand)", "minigrad": "minigrad eager",
          "compiled": "minigrad compiled", "torch": "PyTorch"}


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def cnn_data(batch: int = 64, c1: int = 32, c2: int = 64, size: int = 8, classes: int = 10,
             p: float = 0.25, dtype: str = "float64", lr: float = 0.05) -> dict[str, Any]:
    rng = np.random.default_rng(6)
    flat = c2 * (size // 4) ** 2

    def kaiming(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:]))
        return rng.uniform(-1, 1, shape) / np.sqrt(fan_in)

    def affine(c: int) -> list[np.ndarray]:   # BatchNorm's weight and bias
        return [1 + 0.1 * rng.standard_normal(c), 0.1 * rng.standard_normal(c)]

    params = [kaiming(c1, 1, 3, 3), *affine(c1), kaiming(c2, c1, 3, 3), *affine(c2),
              kaiming(classes, flat), kaiming(classes, flat)[:, 0]]
    keep = (rng.random((batch, flat)) >= p) / (1 - p)   # inverted dropout, one fixed mask
    return {"params": [w.astype(dtype) for w in params],
            "x": rng.uniform(0, 1, (batch, 1, size, size)).astype(dtype),
            "y": rng.integers(0, classes, batch), "mask": keep.astype(dtype), "lr": lr}


def transformer_data(batch: int = 32, block: int = 16, vocab: int = 27, n_embd: int = 64,
                     n_head: int = 4, n_layer: int = 2, dtype: str = "float64",
                     lr: float = 0.05) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    E = n_embd

    def normal(*shape: int) -> np.ndarray:
        return (0.02 * rng.standard_normal(shape)).astype(dtype)

    params = [normal(vocab, E), normal(block, E)]                    # token, position
    for _ in range(n_layer):
        params += [np.ones(E, dtype), np.zeros(E, dtype),            # ln1
                   normal(3 * E, E), np.zeros(3 * E, dtype),         # attention in_proj
                   normal(E, E), np.zeros(E, dtype),                 # attention out_proj
                   np.ones(E, dtype), np.zeros(E, dtype),            # ln2
                   normal(4 * E, E), np.zeros(4 * E, dtype),         # mlp fc
                   normal(E, 4 * E), np.zeros(E, dtype)]             # mlp proj
    params += [np.ones(E, dtype), np.zeros(E, dtype), normal(vocab, E), np.zeros(vocab, dtype)]
    return {"params": params, "idx": rng.integers(0, vocab, (batch, block)),
            "targets": rng.integers(0, vocab, (batch, block)), "n_head": n_head,
            "n_layer": n_layer, "lr": lr}


# ---------------------------------------------------------------------------
# W6 by hand: im2col on sliding_window_view, activations kept as (N, H, W, C)
# ---------------------------------------------------------------------------


def conv3x3_forward(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x3 convolution (no bias), padding 1, stride 1, on x of shape (N, H, W, C).

    im2col: every output pixel's 3x3xC input patch becomes one row of ``cols``
    (N*H*W, C*9), in (c, i, j) order to match ``w.reshape(O, C*9)``; the
    convolution is then one matrix product. Returns (out (N, H, W, O), cols)."""
    N, H, W, C = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = sliding_window_view(xp, (3, 3), axis=(1, 2)).reshape(N * H * W, C * 9)
    out = cols @ w.reshape(len(w), -1).T
    return out.reshape(N, H, W, len(w)), cols


def conv3x3_backward(dout: np.ndarray, cols: np.ndarray, w: np.ndarray, need_dx: bool
                     ) -> tuple[np.ndarray | None, np.ndarray]:
    """Gradients of ``conv3x3_forward``: out = cols @ W^T, so
    dW = dout^T @ cols and dcols = dout @ W; col2im
    adds each of the 9 kernel offsets' share of dcols back onto the padded
    input (9 slice additions, no loop over pixels)."""
    N, H, W, O = dout.shape
    d = dout.reshape(N * H * W, O)
    dw = (d.T @ cols).reshape(w.shape)
    if not need_dx:
        return None, dw
    C = w.shape[1]
    dcols = (d @ w.reshape(O, -1)).reshape(N, H, W, C, 3, 3)
    dxp = np.zeros((N, H + 2, W + 2, C), dout.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, i:i + H, j:j + W, :] += dcols[..., i, j]
    return dxp[:, 1:-1, 1:-1, :], dw


def batchnorm_forward(a: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-5
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode BatchNorm over (N, H, W) per channel (the last axis):
    xhat = (a - mean) / sqrt(var + eps), out = g xhat + b. Returns (out, xhat, 1/std)."""
    mean = a.mean(axis=(0, 1, 2))
    inv_std = 1 / np.sqrt(a.var(axis=(0, 1, 2)) + eps)
    xhat = (a - mean) * inv_std
    return xhat * g + b, xhat, inv_std


def batchnorm_backward(dout: np.ndarray, xhat: np.ndarray, g: np.ndarray, inv_std: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """With m values per channel, dxhat = g dout, and since the mean and the variance
    depend on every a: da = (1/std) (dxhat - mean(dxhat) - xhat mean(dxhat xhat));
    dg = sum(dout xhat), db = sum(dout)."""
    axes = (0, 1, 2)
    db = dout.sum(axis=axes)
    dg = (dout * xhat).sum(axis=axes)
    m = dout.size // dout.shape[-1]
    da = (g * inv_std / m) * (m * dout - db - xhat * dg)   # dxhat = g dout, factored
    return da, dg, db


def pool2_forward(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool, stride 2, on (N, H, W, C): max over the two window axes of a
    (N, H/2, 2, W/2, 2, C) view. Returns (out, the view)."""
    N, H, W, C = a.shape
    windows = a.reshape(N, H // 2, 2, W // 2, 2, C)
    return windows.max(axis=(2, 4)), windows


def pool2_backward(dout: np.ndarray, out: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Each window's gradient goes to its maximum. Ties only occur between ReLU
    zeros (continuous inputs), whose ReLU gradient is 0 anyway, so sending the
    gradient to every tied element gives the same input gradient as PyTorch's
    first-index rule."""
    hit = windows == out[:, :, None, :, None, :]
    da = hit * dout[:, :, None, :, None, :]
    N, H2, _, W2, _, C = windows.shape
    return da.reshape(N, 2 * H2, 2 * W2, C)


def w6_numpy_step(params: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray,
                  mask: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """Loss and gradients of one W6 step, by hand; ``params`` in PyTorch's layouts."""
    w1, g1, be1, w2, g2, be2, wf, bf = params
    N = len(x)
    # forward: conv -> BatchNorm -> ReLU -> pool, twice
    c1, cols1 = conv3x3_forward(x.transpose(0, 2, 3, 1), w1)
    a1, xhat1, inv1 = batchnorm_forward(c1, g1, be1)
    np.maximum(a1, 0, out=a1)                                  # ReLU in place
    p1, win1 = pool2_forward(a1)
    c2, cols2 = conv3x3_forward(p1, w2)
    a2, xhat2, inv2 = batchnorm_forward(c2, g2, be2)
    np.maximum(a2, 0, out=a2)
    p2, win2 = pool2_forward(a2)
    C2, H2, W2 = w2.shape[0], p2.shape[1], p2.shape[2]
    # PyTorch flattens (C, H, W); ours is (H, W, C): permute the head's columns
    # and the dropout mask instead of the activations.
    wf_hwc = wf.reshape(-1, C2, H2, W2).transpose(0, 2, 3, 1).reshape(len(wf), -1)
    mask_hwc = mask.reshape(N, C2, H2, W2).transpose(0, 2, 3, 1).reshape(N, -1)
    f = p2.reshape(N, -1) * mask_hwc                           # dropout
    z = f @ wf_hwc.T
    z += bf
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    # backward: d CE/d logits = (softmax - onehot) / N
    dz = probs
    dz[np.arange(N), y] -= 1
    dz /= N
    dwf_hwc, dbf = dz.T @ f, dz.sum(axis=0)
    df = (dz @ wf_hwc) * mask_hwc                              # through dropout
    dwf = dwf_hwc.reshape(-1, H2, W2, C2).transpose(0, 3, 1, 2).reshape(wf.shape)
    da2 = pool2_backward(df.reshape(p2.shape), p2, win2)
    da2 *= a2 > 0                                              # ReLU' (0 at 0)
    dc2, dg2, dbe2 = batchnorm_backward(da2, xhat2, g2, inv2)
    dp1, dw2 = conv3x3_backward(dc2, cols2, w2, need_dx=True)
    da1 = pool2_backward(dp1, p1, win1)
    da1 *= a1 > 0
    dc1, dg1, dbe1 = batchnorm_backward(da1, xhat1, g1, inv1)
    _, dw1 = conv3x3_backward(dc1, cols1, w1, need_dx=False)
    return float(loss), [dw1, dg1, dbe1, dw2, dg2, dbe2, dwf, dbf]


def w6_numpy(data: dict[str, Any]) -> Callable[[], Result]:
    x, y, mask, lr = data["x"], data["y"], data["mask"], data["lr"]

    def run() -> Result:
        params = [p.copy() for p in data["params"]]
        loss, grads = w6_numpy_step(params, x, y, mask)
        for p, g in zip(params, grads, strict=True):
            p -= lr * g
        return (np.asarray(loss),) + tuple(params)

    return run


# ---------------------------------------------------------------------------
# W6 in minigrad and PyTorch
# ---------------------------------------------------------------------------


def w6_loss_minigrad(mg: Any, params: Sequence[Any], x: Any, y: np.ndarray, mask: Any) -> Any:
    F = mg.nn.functional
    w1, g1, be1, w2, g2, be2, wf, bf = params
    h = F.batch_norm(F.conv2d(x, w1, padding=1), None, None, g1, be1, training=True)
    h = F.max_pool2d(mg.relu(h), 2)
    h = F.batch_norm(F.conv2d(h, w2, padding=1), None, None, g2, be2, training=True)
    h = F.max_pool2d(mg.relu(h), 2)
    h = h.reshape(h.shape[0], -1) * mask
    return mg.losses.cross_entropy(h @ wf.T + bf, y)


def _minigrad_step(loss_fn: Callable[..., Any], compiled: bool
                   ) -> Callable[[dict[str, Any], Sequence[Any]], Callable[[], Result]]:
    def factory(data: dict[str, Any], inputs: Sequence[Any]) -> Callable[[], Result]:
        import minigrad as mg

        fn = mg.compile(loss_fn) if compiled else loss_fn
        lr = data["lr"]

        def run() -> Result:
            params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
            loss = fn(params, *inputs)
            loss.backward()
            with mg.no_grad():
                for p in params:
                    p.data -= lr * p.grad.data
            return (loss.data,) + tuple(p.data for p in params)

        return run

    return factory


def _w6_minigrad(data: dict[str, Any], compiled: bool) -> Callable[[], Result]:
    import minigrad as mg

    def loss_fn(params: Sequence[Any], x: Any, mask: Any) -> Any:
        return w6_loss_minigrad(mg, params, x, data["y"], mask)

    inputs = (mg.tensor(data["x"]), mg.tensor(data["mask"]))
    return _minigrad_step(loss_fn, compiled)(data, inputs)


def w6_minigrad(data: dict[str, Any]) -> Callable[[], Result]:
    return _w6_minigrad(data, compiled=False)


def w6_compiled(data: dict[str, Any]) -> Callable[[], Result]:
    return _w6_minigrad(data, compiled=True)


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


def _torch_step(loss_fn: Callable[..., Any], data: dict[str, Any]) -> Callable[[], Result]:
    torch = _torch()
    lr = data["lr"]

    def run() -> Result:
        params = [torch.tensor(p, requires_grad=True) for p in data["params"]]
        loss = loss_fn(params)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        return (loss.detach().numpy(),) + tuple(p.detach().numpy() for p in params)

    return run


def w6_torch(data: dict[str, Any]) -> Callable[[], Result]:
    torch = _torch()
    F = torch.nn.functional
    x, mask = torch.from_numpy(data["x"]), torch.from_numpy(data["mask"])
    y = torch.from_numpy(data["y"])

    def loss_fn(params: Sequence[Any]) -> Any:
        w1, g1, be1, w2, g2, be2, wf, bf = params
        h = F.batch_norm(F.conv2d(x, w1, padding=1), None, None, g1, be1, training=True)
        h = F.max_pool2d(torch.relu(h), 2)
        h = F.batch_norm(F.conv2d(h, w2, padding=1), None, None, g2, be2, training=True)
        h = F.max_pool2d(torch.relu(h), 2)
        h = h.reshape(h.shape[0], -1) * mask
        return F.cross_entropy(h @ wf.T + bf, y)

    return _torch_step(loss_fn, data)


# ---------------------------------------------------------------------------
# W7: the tiny causal transformer
# ---------------------------------------------------------------------------


def w7_loss_minigrad(mg: Any, params: Sequence[Any], idx: np.ndarray, targets: np.ndarray,
                     n_head: int, n_layer: int) -> Any:
    F = mg.nn.functional
    B, T = idx.shape
    tok, pos = params[0], params[1]
    E = tok.shape[1]
    x = F.embedding(idx, tok) + pos[:T]
    for layer in range(n_layer):
        (ln1w, ln1b, inw, inb, outw, outb,
         ln2w, ln2b, fcw, fcb, projw, projb) = params[2 + 12 * layer: 14 + 12 * layer]
        h = F.layer_norm(x, (E,), ln1w, ln1b)
        qkv = h @ inw.T + inb
        q, k, v = (qkv[:, :, i * E:(i + 1) * E].reshape(B, T, n_head, E // n_head)
                   .transpose((0, 2, 1, 3)) for i in range(3))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + a.transpose((0, 2, 1, 3)).reshape(B, T, E) @ outw.T + outb
        h = F.layer_norm(x, (E,), ln2w, ln2b)
        x = x + F.gelu(h @ fcw.T + fcb) @ projw.T + projb
    lnw, lnb, headw, headb = params[-4:]
    logits = F.layer_norm(x, (E,), lnw, lnb) @ headw.T + headb
    return mg.losses.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1))


def _w7_minigrad(data: dict[str, Any], compiled: bool) -> Callable[[], Result]:
    import minigrad as mg

    def loss_fn(params: Sequence[Any]) -> Any:
        return w7_loss_minigrad(mg, params, data["idx"], data["targets"], data["n_head"],
                                data["n_layer"])

    return _minigrad_step(loss_fn, compiled)(data, ())


def w7_minigrad(data: dict[str, Any]) -> Callable[[], Result]:
    return _w7_minigrad(data, compiled=False)


def w7_compiled(data: dict[str, Any]) -> Callable[[], Result]:
    return _w7_minigrad(data, compiled=True)


def w7_torch(data: dict[str, Any]) -> Callable[[], Result]:
    torch = _torch()
    F = torch.nn.functional
    idx, targets = torch.from_numpy(data["idx"]), torch.from_numpy(data["targets"])
    n_head, n_layer = data["n_head"], data["n_layer"]

    def loss_fn(params: Sequence[Any]) -> Any:
        B, T = idx.shape
        tok, pos = params[0], params[1]
        E = tok.shape[1]
        x = F.embedding(idx, tok) + pos[:T]
        for layer in range(n_layer):
            (ln1w, ln1b, inw, inb, outw, outb,
             ln2w, ln2b, fcw, fcb, projw, projb) = params[2 + 12 * layer: 14 + 12 * layer]
            h = F.layer_norm(x, (E,), ln1w, ln1b)
            qkv = h @ inw.T + inb
            q, k, v = (qkv[:, :, i * E:(i + 1) * E].reshape(B, T, n_head, E // n_head)
                       .transpose(1, 2) for i in range(3))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + a.transpose(1, 2).reshape(B, T, E) @ outw.T + outb
            h = F.layer_norm(x, (E,), ln2w, ln2b)
            x = x + F.gelu(h @ fcw.T + fcb) @ projw.T + projb
        lnw, lnb, headw, headb = params[-4:]
        logits = F.layer_norm(x, (E,), lnw, lnb) @ headw.T + headb
        return F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1))

    return _torch_step(loss_fn, data)


WORKLOADS: dict[str, Workload] = {
    "W6": Workload("W6", "digits CNN (2 x conv-BatchNorm-ReLU-pool, dropout, linear), "
                   "batch 64, one SGD step", False, {"batch": 64}, {"batch": 4, "c1": 2, "c2": 3},
                   cnn_data, 1e-7, {"numpy": w6_numpy, "minigrad": w6_minigrad,
                                    "compiled": w6_compiled, "torch": w6_torch}),
    "W7": Workload("W7", "tiny transformer (2 blocks, 4 heads, embedding 64), batch 32, "
                   "context 16, one SGD step", False, {"batch": 32},
                   {"batch": 2, "block": 5, "n_embd": 8, "n_head": 2}, transformer_data,
                   1e-7, {"minigrad": w7_minigrad, "compiled": w7_compiled,
                          "torch": w7_torch}),
}


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


def available(column: str) -> str | None:
    """None when ``column`` can run here, else why not."""
    if column == "torch":
        import importlib.util

        return None if importlib.util.find_spec("torch") else "not installed"
    if column in ("minigrad", "compiled"):
        import minigrad as mg

        if not hasattr(mg.nn, "functional"):
            return "no mg.nn.functional yet"
        if column == "compiled" and not hasattr(mg, "compile"):
            return "no mg.compile yet"
    return None


def peak_mib(run: Callable[[], Result]) -> float:
    """Peak memory traced by tracemalloc during one run (MiB above the start)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


def torch_peak_mib(run: Callable[[], Result]) -> float:
    """Peak of PyTorch's CPU allocations during one run, replayed from the
    profiler's allocation and free events (tracemalloc does not see PyTorch's
    allocator). NaN if this PyTorch's profiler does not expose them."""
    import os

    from torch.profiler import ProfilerActivity, profile

    stderr = os.dup(2)               # the profiler's C++ side logs to fd 2
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                run()
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)
    try:
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    except AttributeError:
        return float("nan")
    live = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        live += e.nbytes()
        peak = max(peak, live)
    return peak / 2**20


def timed(run: Callable[[], Result], number: int, clock: Callable[[], float]) -> float:
    """Seconds per run over ``number`` back-to-back runs, the collector's survivors
    frozen first (as ``benchmarks.run._timed``), on ``clock``."""
    gc.collect()
    gc.freeze()
    try:
        start = clock()
        for _ in range(number):
            run()
        return (clock() - start) / number
    finally:
        gc.unfreeze()


def bench(keys: Sequence[str], columns: Sequence[str] = COLUMNS, quick: bool = False,
          repeats: int = 7, sample_s: float = 0.1, say: Callable[..., None] = print,
          memory: bool = True, clock: str = "wall") -> list[dict[str, Any]]:
    """Check every column against the reference (NumPy where it exists, else
    PyTorch, else eager minigrad), then time them round-robin. ``clock="cpu"``
    times with this process's CPU time (``time.process_time``) instead of the wall
    clock: on a machine shared with other busy processes, the wall clock also counts
    the time spent waiting for a core (all computation here runs on one thread)."""
    import time

    from benchmarks import run as harness

    tick = time.process_time if clock == "cpu" else time.perf_counter

    records = []
    for key in keys:
        workload = WORKLOADS[key]
        say(f"{key}: {workload.title} ...")
        data = workload.make_data(**(workload.quick if quick else workload.full))
        runs: dict[str, Callable[[], Result]] = {}
        by_column: dict[str, dict[str, Any]] = {}
        reference: tuple[str, Result] | None = None
        order = [c for c in ("numpy", "torch", "minigrad", "compiled") if c in columns]
        for column in order:
            record = {"workload": key, "framework": column, "status": "ok", "times_s": []}
            by_column[column] = record
            why = "n/a" if column not in workload.impls else available(column)
            if why:
                record["status"] = why
                continue
            try:
                run = workload.impls[column](data)
                result = run()
            except Exception as exc:
                record["status"] = f"error: {type(exc).__name__}: {exc}"[:200]
                continue
            if reference is None:
                reference = (column, result)
            else:
                problem = harness.compare(result, reference[1], workload.rtol)
                if problem:
                    record["status"] = f"mismatch with {reference[0]}: {problem}"
                    continue
            record["checked_against"] = reference[0]
            runs[column] = run
            record["runs_per_sample"] = 1 if quick else max(
                1, round(sample_s / max(timed(run, 1, tick), 1e-6)))
            if memory:
                record["peak_mib"] = (torch_peak_mib(run) if column == "torch"
                                      else peak_mib(run))
        for _ in range(repeats):
            for column, run in runs.items():
                record = by_column[column]
                record["times_s"].append(timed(run, record["runs_per_sample"], tick))
        for record in by_column.values():
            if record["times_s"]:
                record["median_s"] = statistics.median(record["times_s"])
                record["min_s"] = min(record["times_s"])
        for column in ("minigrad", "compiled"):
            record = by_column.get(column, {})
            for base in ("torch", "numpy"):
                if "median_s" in record and "median_s" in by_column.get(base, {}):
                    record[f"over_{base}"] = record["median_s"] / by_column[base]["median_s"]
        records += [by_column[c] for c in columns if c in by_column]
    return records


def table(records: list[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> str:
    def cell(record: dict[str, Any] | None) -> str:
        if record is None:
            return "–"
        if "median_s" not in record:
            return "–" if record["status"] == "n/a" else record["status"]
        text = f"{record['median_s'] * 1e3:.2f} ms"
        ratios = [f"{record[f'over_{b}']:.2f}x {n}" for b, n in
                  (("torch", "PyTorch"), ("numpy", "NumPy")) if f"over_{b}" in record]
        if ratios:
            text += " (" + ", ".join(ratios) + ")"
        return text + (f"; {record['peak_mib']:.1f} MiB" if "peak_mib" in record else "")

    lines = ["| workload | " + " | ".join(LABELS[c] for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for key in dict.fromkeys(r["workload"] for r in records):
        by_column = {r["framework"]: r for r in records if r["workload"] == key}
        lines.append(f"| {key} {WORKLOADS[key].title} | "
                     + " | ".join(cell(by_column.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _example(name: str) -> Any:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_steps(steps: int = 50, repeats: int = 5, say: Callable[..., None] = print
                  ) -> dict[str, dict[str, float]]:
    """CPU milliseconds per training step (forward, backward, AdamW) of the
    makemore models as the example trains them, eager and with ``--compile``
    (traced once, before timing), alternated ``repeats`` times: how much
    ``mg.compile`` speeds up each example. The digits CNN's step is W6."""
    import time

    import minigrad as mg

    makemore = _example("makemore")
    train_words, _, _ = makemore.load_words()
    cases = {
        "makemore mlp (batch 256)": (lambda: makemore.MLP(rng=0),
                                     makemore.context_windows(train_words, 3), 256),
        "makemore transformer (batch 32)": (lambda: makemore.Transformer(rng=0),
                                            makemore.sequences(train_words, 16), 32),
    }
    out: dict[str, dict[str, float]] = {}
    for name, (make, (X, Y), batch) in cases.items():
        rng = np.random.default_rng(0)
        runners = {}
        for mode in ("eager", "compiled"):
            model = make()
            optimizer = mg.optim.AdamW(model.parameters(), lr=1e-3)
            forward = mg.compile(model) if mode == "compiled" else model

            def run(model: Any = model, optimizer: Any = optimizer, forward: Any = forward,
                    X: np.ndarray = X, Y: np.ndarray = Y, batch: int = batch,
                    rng: np.random.Generator = rng) -> None:
                for _ in range(steps):
                    ix = rng.integers(0, len(X), batch)
                    optimizer.zero_grad()
                    model.loss(X[ix], Y[ix], forward).backward()
                    optimizer.step()

            run()  # the trace, and warm caches
            runners[mode] = run
        times: dict[str, list[float]] = {mode: [] for mode in runners}
        for _ in range(repeats):
            for mode, run in runners.items():
                start = time.process_time()
                run()
                times[mode].append((time.process_time() - start) / steps * 1e3)
        out[name] = {mode: statistics.median(t) for mode, t in times.items()}
        out[name]["speedup"] = out[name]["eager"] / out[name]["compiled"]
        say(f"{name}: eager {out[name]['eager']:.2f} ms/step, compiled "
            f"{out[name]['compiled']:.2f} ms/step: {out[name]['speedup']:.2f}x "
            f"(CPU time, median of {repeats} runs of {steps} steps)")
    return out


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--columns", default=",".join(COLUMNS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="also write the records as JSON")
    parser.add_argument("--examples", action="store_true",
                        help="also time the makemore models' training steps, eager vs compiled")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: time with process CPU time (for a busy shared machine)")
    args = parser.parse_args(argv)
    from benchmarks.run import fix_threads

    fix_threads()
    columns = [c for c in args.columns.split(",") if c]
    unknown = [k for k in args.workloads if k not in WORKLOADS] + \
        [c for c in columns if c not in COLUMNS]
    if unknown:
        parser.error(f"unknown {unknown}; workloads {list(WORKLOADS)}, columns {COLUMNS}")
    records = bench(args.workloads, columns, args.quick, 1 if args.quick else args.repeats,
                    clock=args.clock)
    print(table(records, columns))
    if args.examples:
        example_steps(steps=10 if args.quick else 50, repeats=1 if args.quick else 5)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(records, handle, indent=1, default=float)
    return records


if __name__ == "__main__":
    main(sys.argv[1:])
