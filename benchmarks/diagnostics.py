"""Where minigrad's time goes: the measurements behind benchmarks/README.md.

    python -m benchmarks.diagnostics            # everything (~1 min)
    python -m benchmarks.diagnostics opcodes gc # some of: opcodes gc faults replica w1 w4

* ``opcodes``: CPython bytecodes executed per op of the W3 chain, forward and
  backward, by function (``sys.settrace`` with ``f_trace_opcodes``):
  deterministic, so immune to a noisy machine.
* ``gc``: the W5 chain with the cyclic garbage collector on and off.
* ``faults``: page faults per W2 step in child processes, with
  ``mg.set_allocator_cache()`` (``MINIGRAD_MALLOC=keep``) and without (the default).
* ``replica``: W2 written out of place in plain NumPy, doing exactly the array
  work minigrad does, against the hand-written version and minigrad.
* ``w1``: the matrix-vector products of a W1 step, and minigrad's step by phase.
* ``w4``: how many ops one W4 forward + backward executes.

Times are the fastest of several runs (the machine is noisy); ratios are
measured side by side in this process.
"""

from __future__ import annotations

import collections
import gc
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.run import fix_threads  # the package sets one thread before NumPy loads

fix_threads()

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from benchmarks import workloads as W  # noqa: E402
from benchmarks.gradcheck_cost import _best_seconds  # noqa: E402
from minigrad import engine  # noqa: E402


def fastest(run: Callable[[], Any], repeats: int = 7) -> float:
    return _best_seconds(run, repeats)


def opcodes(ops: int = 1000) -> None:
    counts: collections.Counter[str] = collections.Counter()

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[f"{os.path.basename(code.co_filename)}:{code.co_name}"] += 1
        return tracer

    def report(what: str) -> None:
        print(f"  {what}: {sum(counts.values()) / ops:.0f} bytecodes per op")
        for name, n in counts.most_common(6):
            print(f"      {n / ops:6.1f}  {name}")
        counts.clear()

    x = mg.tensor([1.0], requires_grad=True)
    y = x
    sys.settrace(tracer)
    for _ in range(ops):
        y = y * 1.0000001
    sys.settrace(None)
    counts.pop("diagnostics.py:opcodes", None)  # the loop itself
    report("forward (y = y * c)")
    root = y.sum()
    sys.settrace(tracer)
    root.backward()
    sys.settrace(None)
    report("backward node (its rule is itself a no-grad op)")


def gc_share(ops: int = 50_000) -> None:
    data = W.chain_data(ops)
    run = W.chain_minigrad(data)
    on = fastest(run, 3)
    gc.disable()
    try:
        off = fastest(run, 3)
    finally:
        gc.enable()
    print(f"  W5 chain of {ops:,} ops: {on / ops * 1e6:.2f} µs/op with the collector, "
          f"{off / ops * 1e6:.2f} without ({(on - off) / ops * 1e6:.2f} µs/op is the collector)")


FAULTS_CHILD = """
import resource, sys
from benchmarks.run import fix_threads
fix_threads()
from benchmarks import workloads as W
import minigrad
run = W.w2_minigrad(W.mlp_data(256, (64, 128, 128, 10), 100, sys.argv[1]))
run()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
run()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 100)
"""


def faults() -> None:
    from minigrad import _malloc

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for dtype in ("float32", "float64"):
        line = []
        for setting in ("kept", "default"):  # with and without mg.set_allocator_cache()
            env = {**os.environ, "PYTHONPATH": root}
            env.pop("MINIGRAD_MALLOC", None)
            if setting == "kept":
                env["MINIGRAD_MALLOC"] = "keep"  # mg.set_allocator_cache() at import
            out = subprocess.run([sys.executable, "-c", FAULTS_CHILD, dtype], env=env,
                                 capture_output=True, text=True, check=True)
            line.append(f"{float(out.stdout):.0f} with malloc {setting}")
        print(f"  W2 {dtype}: page faults per step: " + ", ".join(line))
    print(f"  (this process: mg.set_allocator_cache() applied = {_malloc.applied})")


def _w2_replica(data: dict[str, Any]) -> Callable[[], Any]:
    """W2 in NumPy, doing what minigrad's ops and backward rules do, out of place."""
    xs, onehots, lr, steps = data["xs"], data["onehots"], data["lr"], data["steps"]

    def run() -> Any:
        W1, b1, W2, b2, W3, b3 = (p.copy() for p in data["params"])
        for step in range(steps):
            x, t = xs[step % len(xs)], onehots[step % len(xs)]
            h1 = np.tanh(x @ W1 + b1)
            h2 = np.tanh(h1 @ W2 + b2)
            z = h2 @ W3 + b3
            peak = np.max(z, axis=-1, keepdims=True)
            shifted = z - np.where(np.isfinite(peak), peak, 0)
            logp = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
            loss = -(logp * t).sum() / len(x)  # noqa: F841
            g = np.broadcast_to(-np.asarray(1.0, z.dtype) / len(x), z.shape) * t
            dz = g - np.exp(logp) * np.sum(g, axis=-1, keepdims=True)
            dh2 = (dz @ W3.T) * (1 - h2 * h2)
            dh1 = (dh2 @ W2.T) * (1 - h1 * h1)
            grads = (x.T @ dh1, dh1.sum(axis=0), h1.T @ dh2, dh2.sum(axis=0),
                     h2.T @ dz, dz.sum(axis=0))
            for p, gp in zip((W1, b1, W2, b2, W3, b3), grads, strict=True):
                p -= lr * gp.copy()  # minigrad copies each leaf gradient into .grad
        return W1

    return run


def replica() -> None:
    for dtype in ("float64", "float32"):
        data = W.mlp_data(256, (64, 128, 128, 10), 100, dtype)
        runs = {"NumPy by hand": W.w2_numpy(data), "out-of-place replica": _w2_replica(data),
                "minigrad": W.w2_minigrad(data)}
        times = {name: fastest(run, 5) for name, run in runs.items()}
        base = times["NumPy by hand"]
        print(f"  W2 {dtype}: " + ", ".join(f"{name} {t * 1e3:.1f} ms ({t / base:.2f}x)"
                                           for name, t in times.items()))


def w1(steps: int = 300) -> None:
    data = W.linreg_data(10_000, 10, steps)
    X, y = data["X"], data["y"]
    XT = np.ascontiguousarray(X.T)
    w, r = np.ones(10), np.ones(10_000)
    products = {"X @ w": lambda: X @ w, "X.T @ r (minigrad)": lambda: X.T @ r,
                "contiguous X^T @ r (the hand version)": lambda: XT @ r}
    print("  " + ", ".join(f"{name} {fastest(f, 200) * 1e6:.1f} µs"
                           for name, f in products.items()))
    Xt, yt = mg.tensor(X), mg.tensor(y)
    wt = mg.tensor(data["w"], requires_grad=True)
    bt = mg.tensor(data["b"], requires_grad=True)
    phases: dict[str, list[float]] = {"forward": [], "backward": [], "update": []}
    for _ in range(steps):
        t0 = time.perf_counter()
        r_ = Xt @ wt + bt - yt
        loss = (r_ * r_).mean()
        t1 = time.perf_counter()
        wt.grad = bt.grad = None
        loss.backward()
        t2 = time.perf_counter()
        with mg.no_grad():
            wt.data -= data["lr"] * wt.grad.data
            bt.data -= data["lr"] * bt.grad.data
        t3 = time.perf_counter()
        for name, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            phases[name].append(dt)
    hand = fastest(W.w1_numpy(data), 5) / steps
    print("  minigrad W1 step (median): " + ", ".join(
        f"{name} {np.median(v) * 1e6:.1f} µs" for name, v in phases.items())
        + f"; hand-written NumPy step {hand * 1e6:.1f} µs")


def w4() -> None:
    data = W.moons_data(100, 16)
    counts = {"forward": 0, "inside backward rules": 0}
    plain_apply = engine.Function.apply.__func__

    def counting_apply(cls: Any, *inputs: Any, **params: Any) -> Any:
        counts["forward" if engine.is_grad_enabled() else "inside backward rules"] += 1
        return plain_apply(cls, *inputs, **params)

    params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
    engine.Function.apply = classmethod(counting_apply)
    try:
        loss = W.moons_loss_minigrad(params, mg.tensor(data["X"]), mg.tensor(data["y"]),
                                     data["alpha"])
        nodes = sum(t._ctx is not None for t in engine.toposort([loss]))
        loss.backward()
    finally:
        engine.Function.apply = classmethod(plain_apply)
    print(f"  W4 forward + backward: {counts['forward']} forward ops, {nodes} backward nodes, "
          f"{counts['inside backward rules']} ops inside backward rules")


SECTIONS = {"opcodes": opcodes, "gc": gc_share, "faults": faults, "replica": replica,
            "w1": w1, "w4": w4}


def main(argv: list[str] | None = None) -> None:
    names = (sys.argv[1:] if argv is None else argv) or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    print(f"minigrad diagnostics, NumPy {np.__version__}, Python {sys.version.split()[0]}, "
          f"max RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
    for name in names:
        print(f"{name}:")
        SECTIONS[name]()


if __name__ == "__main__":
    main()
