"""What trusting and computing gradients costs.

1. ``gradcheck`` on a function of 100 parameters: its wall time, and that time
   over one forward evaluation (it needs 2 evaluations per parameter for the
   central differences, plus one forward and the backward passes).
2. The MLP training step of the benchmarks (64-128-128-10, batch 256, float64,
   built from raw ops: matmul, tanh, log_softmax): backward time over forward
   time. Backward rules are written with minigrad ops so that
   ``create_graph=True`` works, but ordinary backward runs them under
   ``no_grad`` and must stay cheap (target: backward <= 2x forward).

Run from the repository root: ``python -m benchmarks.gradcheck_cost`` (one BLAS
thread, set by ``benchmarks/__init__.py``). Times are the fastest of repeated
runs, the least disturbed by other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import minigrad as mg
from benchmarks.workloads import mlp_data, mlp_loss_minigrad


def _best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs: on a shared machine, the least disturbed one."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def gradcheck_cost(repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((32, 10)))
    w = mg.tensor(0.3 * rng.standard_normal((10, 10)), requires_grad=True)  # 100 parameters

    def f(w: mg.Tensor) -> mg.Tensor:
        return (mg.tanh(X @ w) ** 2).mean()

    def g(w: mg.Tensor) -> mg.Tensor:  # the same with a (32, 10) output: random VJPs
        return mg.tanh(X @ w)

    assert mg.gradcheck(f, [w]) and mg.gradcheck(g, [w])
    with mg.no_grad():
        forward = _best_seconds(lambda: f(w), repeats * 20)
    scalar = _best_seconds(lambda: mg.gradcheck(f, [w]), repeats)
    vector = _best_seconds(lambda: mg.gradcheck(g, [w]), repeats)
    second = _best_seconds(lambda: mg.gradgradcheck(f, [w]), max(1, repeats // 3))
    return {"forward_ms": 1e3 * forward, "gradcheck_ms": 1e3 * scalar,
            "gradcheck_vector_ms": 1e3 * vector, "gradgradcheck_ms": 1e3 * second,
            "gradcheck_over_forward": scalar / forward}


def mlp_ratio(repeats: int) -> dict[str, float]:
    data = mlp_data(256, (64, 128, 128, 10), steps=1)
    params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
    x, t = mg.tensor(data["xs"][0]), mg.tensor(data["onehots"][0])
    forwards, backwards, no_grads, create_graphs = [], [], [], []
    for _ in range(repeats + 3):  # the first 3 are warm-up
        start = time.perf_counter()
        loss = mlp_loss_minigrad(mg, params, x, t)
        middle = time.perf_counter()
        for p in params:
            p.grad = None
        loss.backward()
        end = time.perf_counter()
        forwards.append(middle - start)
        backwards.append(end - middle)
        with mg.no_grad():
            start = time.perf_counter()
            mlp_loss_minigrad(mg, params, x, t)
            no_grads.append(time.perf_counter() - start)
        loss = mlp_loss_minigrad(mg, params, x, t)
        start = time.perf_counter()
        mg.autograd.grad(loss, params, create_graph=True)
        create_graphs.append(time.perf_counter() - start)
    fwd, bwd = min(forwards[3:]), min(backwards[3:])
    return {"forward_ms": 1e3 * fwd, "backward_ms": 1e3 * bwd,
            "forward_no_grad_ms": 1e3 * min(no_grads[3:]),
            "backward_create_graph_ms": 1e3 * min(create_graphs[3:]),
            "backward_over_forward": bwd / fwd,
            "median_backward_over_forward": (statistics.median(backwards[3:])
                                             / statistics.median(forwards[3:]))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    cost = gradcheck_cost(max(3, args.repeats // 3))
    print("gradcheck on a 100-parameter function f(w) = mean(tanh(X @ w)^2), X (32, 10):")
    print("  (times: the fastest of several runs)")
    print(f"  one forward (no_grad)              {cost['forward_ms']:8.3f} ms")
    print(f"  gradcheck, scalar output           {cost['gradcheck_ms']:8.2f} ms"
          f"  = {cost['gradcheck_over_forward']:.0f} forwards (201 evaluations needed)")
    print(f"  gradcheck, (32, 10) output (VJPs)  {cost['gradcheck_vector_ms']:8.2f} ms")
    print(f"  gradgradcheck, scalar output       {cost['gradgradcheck_ms']:8.2f} ms")
    ratio = mlp_ratio(args.repeats)
    print("MLP training step 64-128-128-10, batch 256, float64 (fastest of "
          f"{args.repeats}):")
    print(f"  forward (recording the graph)      {ratio['forward_ms']:8.3f} ms")
    print(f"  forward under no_grad              {ratio['forward_no_grad_ms']:8.3f} ms")
    print(f"  backward                           {ratio['backward_ms']:8.3f} ms")
    print(f"  backward with create_graph=True    {ratio['backward_create_graph_ms']:8.3f} ms")
    verdict = "meets" if ratio["backward_over_forward"] <= 2 else "MISSES"
    print(f"  backward / forward                 {ratio['backward_over_forward']:8.2f}"
          f"  ({verdict} the target <= 2)")
    median = ratio["median_backward_over_forward"]
    print(f"  (ratio of the medians: {median:.2f}; medians suffer most from other load)")


if __name__ == "__main__":
    main()
