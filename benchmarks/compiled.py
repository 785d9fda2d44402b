"""The workloads under ``mg.compile``: the column "compiled" of the benchmark table.

Each factory is the eager minigrad version (``workloads.py``) with the loss
function wrapped in ``mg.compile``; the update step is the same NumPy line as
there. The compiled function is traced once, when the factory is called (a
warm-up call), so the timed runs measure the steady state; the trace-and-compile
time is measured separately by :func:`compile_times` (a fresh ``mg.compile`` per
sample, so every sample traces).

    python -m benchmarks W1,W2,W3,W4,W5 --frameworks minigrad,compiled
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.workloads import (
    WORKLOADS,
    Result,
    chain_data,
    mlp_loss_minigrad,
    moons_loss_minigrad,
    w2_memory_growth,
)


def w1_compiled(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    X, y, lr, steps = mg.tensor(data["X"]), mg.tensor(data["y"]), data["lr"], data["steps"]

    def loss_fn(w: Any, b: Any) -> Any:
        r = X @ w + b - y
        return (r * r).mean()

    step = mg.compile(loss_fn)
    step(mg.tensor(data["w"], requires_grad=True), mg.tensor(data["b"], requires_grad=True))

    def run() -> Result:
        w = mg.tensor(data["w"], requires_grad=True)
        b = mg.tensor(data["b"], requires_grad=True)
        for _ in range(steps):
            loss = step(w, b)
            w.grad = b.grad = None
            loss.backward()
            with mg.no_grad():
                w.data -= lr * w.grad.data
                b.data -= lr * b.grad.data
        return w.data, b.data

    run.compiled = step  # type: ignore[attr-defined]
    return run


def w2_compiled(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    xs = [mg.tensor(x) for x in data["xs"]]
    ts = [mg.tensor(t) for t in data["onehots"]]
    lr, steps = data["lr"], data["steps"]

    def loss_fn(W1: Any, b1: Any, W2: Any, b2: Any, W3: Any, b3: Any, x: Any, t: Any) -> Any:
        return mlp_loss_minigrad(mg, [W1, b1, W2, b2, W3, b3], x, t)

    step = mg.compile(loss_fn)
    step(*[mg.tensor(p, requires_grad=True) for p in data["params"]], xs[0], ts[0])

    def run() -> Result:
        params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
        for i in range(steps):
            loss = step(*params, xs[i % len(xs)], ts[i % len(xs)])
            for p in params:
                p.grad = None
            loss.backward()
            with mg.no_grad():
                for p in params:
                    p.data -= lr * p.grad.data
        return tuple(p.data for p in params)

    run.compiled = step  # type: ignore[attr-defined]
    return run


def chain_compiled(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    c, ops = data["c"], data["ops"]

    def chain(x: Any) -> Any:
        y = x
        for _ in range(ops):
            y = y * c
        return y

    step = mg.compile(chain)
    step(mg.tensor(data["x"], requires_grad=True))

    def run() -> Result:
        x = mg.tensor(data["x"], requires_grad=True)
        y = step(x)
        y.sum().backward()
        return y.data, x.grad.data

    run.compiled = step  # type: ignore[attr-defined]
    return run


def w4_compiled(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    X, y, alpha = mg.tensor(data["X"]), mg.tensor(data["y"]), data["alpha"]

    def loss_fn(*params: Any) -> Any:
        return moons_loss_minigrad(list(params), X, y, alpha)

    step = mg.compile(loss_fn)
    step(*[mg.tensor(p, requires_grad=True) for p in data["params"]])

    def run() -> Result:
        params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
        loss = step(*params)
        loss.backward()
        return (loss.data,) + tuple(p.grad.data for p in params)

    run.compiled = step  # type: ignore[attr-defined]
    return run


FACTORIES: dict[str, Callable[[dict[str, Any]], Callable[[], Result]]] = {
    "W1": w1_compiled, "W2": w2_compiled, "W2f32": w2_compiled, "W3": chain_compiled,
    "W4": w4_compiled, "W5": chain_compiled}


def compile_times(keys: list[str], quick: bool, repeats: int = 3) -> dict[str, Any]:
    """Seconds for the first call of a fresh compiled function: trace, generate,
    compile (the median of ``repeats`` fresh ones), and the generated code's size."""
    out = {}
    for key in keys:
        if key not in FACTORIES:
            continue
        workload = WORKLOADS[key]
        data = workload.make_data(**(workload.quick if quick else workload.full))
        times = []
        for _ in range(max(1, repeats)):
            gc.collect()
            start = time.perf_counter()
            run = FACTORIES[key](data)  # the factory's warm-up call traces
            times.append(time.perf_counter() - start)
        code = run.compiled.code  # type: ignore[attr-defined]
        out[key] = {"trace_and_compile_s": statistics.median(times),
                    "generated_lines": code.count("\n")}
    return out


def memory_growth(quick: bool) -> dict[str, Any]:
    """Peak traced memory of a compiled W2 run of 1/5 and of all its steps."""
    return w2_memory_growth(w2_compiled, quick)


def main() -> None:  # pragma: no cover - a manual entry point
    import sys

    keys = sys.argv[1:] or list(FACTORIES)
    print(compile_times(keys, quick=False))
    print(memory_growth(quick=False))
    data = chain_data(50)
    print(FACTORIES["W3"](data).compiled.code[:2000])  # type: ignore[attr-defined]


if __name__ == "__main__":  # pragma: no cover
    np.seterr(all="ignore")
    main()
