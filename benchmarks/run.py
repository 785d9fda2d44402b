"""The harness: check every framework against NumPy, then time them side by side.

For each workload, every framework runs once (the warm-up, which also checks its
result against the hand-written NumPy result) and once more to choose how many
back-to-back runs make one sample of about 20 ms; then the checked frameworks
are sampled in round-robin order ``repeats`` times, so that a noisy moment on
the machine hits them all alike. Reported: the median and the fastest sample
(seconds per run), and the ratios to NumPy's median and fastest sample in the
same process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks import compiled, peers
from benchmarks.workloads import (
    WORKLOADS,
    Result,
    mlp_data,
    mlp_loss_minigrad,
    w2_memory_growth,
    w2_minigrad,
)

FRAMEWORKS = ["numpy", "minigrad", "compiled", "torch", "autograd", "mygrad", "jax", "micrograd"]
LABELS = {"numpy": "NumPy (by hand)", "minigrad": "minigrad", "compiled": "mg.compile",
          "torch": "PyTorch",
          "autograd": "HIPS autograd", "mygrad": "MyGrad", "jax": "JAX jit",
          "micrograd": "micrograd"}


# ---------------------------------------------------------------------------
# Threads, machine and versions
# ---------------------------------------------------------------------------


def fix_threads() -> str:
    """One thread everywhere. The environment variables are set by the package's
    ``__init__`` before NumPy loads; if NumPy was imported earlier (pytest),
    threadpoolctl, when installed, limits the BLAS already loaded."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
    threadpool_limits(1)
    return "1 (env vars + threadpoolctl)"


def machine_info(frameworks: Sequence[str], threads: str) -> dict[str, Any]:
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for name in frameworks:
        if name == "minigrad":
            import minigrad

            versions[name] = getattr(minigrad, "__version__", "dev")
        elif name in peers.PEERS and peers.installed(name):
            versions[name] = peers.version(name)
    blas = ""
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        pass
    return {"platform": platform.platform(), "processor": platform.processor() or
            platform.machine(), "cpu_count": os.cpu_count(), "blas": blas,
            "threads": threads, "versions": versions,
            "allocator_cache": _allocator_cache_applied(),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def _allocator_cache_applied() -> bool:
    """Whether mg.set_allocator_cache() is in effect (--allocator-cache; off by default)."""
    malloc = sys.modules.get("minigrad._malloc")
    return bool(malloc is not None and malloc.applied)


# ---------------------------------------------------------------------------
# Checking and timing
# ---------------------------------------------------------------------------


def compare(result: Result, reference: Result, rtol: float) -> str | None:
    """None when ``result`` matches ``reference``; otherwise what differs."""
    if len(result) != len(reference):
        return f"returned {len(result)} arrays, NumPy {len(reference)}"
    for i, (got, want) in enumerate(zip(result, reference, strict=True)):
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return f"output {i}: shape {got.shape} vs NumPy {want.shape}"
        scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-2)
        error = float(np.max(np.abs(got - want), initial=0.0)) / scale
        if not error <= rtol:
            return f"output {i}: relative error {error:.2e} > {rtol:.0e}"
    return None


def _timed(run: Callable[[], Result], number: int = 1) -> float:
    """Seconds per run, over ``number`` back-to-back runs (short workloads are
    repeated so that one sample lasts long enough to be measured reliably).

    Before timing, garbage is collected and every surviving object is frozen (moved
    where collections no longer scan it): each framework's collections then see only
    the objects its own runs create, not the hundreds of thousands that importing
    PyTorch and JAX left in this shared process (they made minigrad's W3 about 35 %
    slower than in a process of its own)."""
    gc.collect()
    gc.freeze()
    try:
        start = time.perf_counter()
        for _ in range(number):
            run()
        return (time.perf_counter() - start) / number
    finally:
        gc.unfreeze()


def _calibrate(run: Callable[[], Result], sample_s: float) -> int:
    """How many back-to-back runs make one sample of about ``sample_s`` seconds."""
    number = 1
    while True:
        each = _timed(run, number)
        if each * number >= sample_s / 4 or number >= 1000:
            return max(1, min(1000, round(sample_s / max(each, 1e-7))))
        number *= 2


def bench_workload(key: str, frameworks: Sequence[str], quick: bool, repeats: int,
                   budget_s: float, sample_s: float = 0.02) -> list[dict[str, Any]]:
    workload = WORKLOADS[key]
    data = workload.make_data(**(workload.quick if quick else workload.full))
    factories = dict(workload.impls)
    if key in compiled.FACTORIES:  # benchmarks/compiled.py: the workload under mg.compile
        factories["compiled"] = compiled.FACTORIES[key]
    for name, factory in peers.FACTORIES.get(key, {}).items():
        if peers.installed(name):
            factories[name] = factory
    records: dict[str, dict[str, Any]] = {}
    runs: dict[str, Callable[[], Result]] = {}
    reference: Result | None = None
    for name in frameworks:
        record = {"workload": key, "framework": name, "status": "ok", "times_s": []}
        if name not in factories:
            record["status"] = "n/a" if name not in peers.PEERS or peers.installed(name) \
                else "not installed"
            records[name] = record
            continue
        try:
            run = factories[name](data)
            result = run()  # warm-up, and the result to check
        except Exception as exc:  # a peer failing (RecursionError, ...) is a result
            record["status"] = f"error: {type(exc).__name__}"
            records[name] = record
            continue
        if name == "numpy":
            reference = result
        elif reference is None:
            record["status"] = "unchecked: the NumPy reference failed"
        else:
            problem = compare(result, reference, workload.rtol)
            if problem:
                record["status"] = f"mismatch: {problem}"
        records[name] = record
        if record["status"] == "ok":
            runs[name] = run
            record["runs_per_sample"] = 1 if quick else _calibrate(run, sample_s)
    for _ in range(repeats):
        for name, run in runs.items():
            record = records[name]
            spent = sum(record["times_s"]) * record["runs_per_sample"]
            if record["times_s"] and spent > budget_s:
                continue  # slow peers get fewer repeats
            record["times_s"].append(_timed(run, record["runs_per_sample"]))
    base = records.get("numpy", {}).get("times_s")
    for record in records.values():
        times = record["times_s"]
        if not times:
            continue
        record["median_s"] = statistics.median(times)
        record["min_s"] = min(times)
        if base:
            record["ratio_median"] = record["median_s"] / statistics.median(base)
            record["ratio_min"] = record["min_s"] / min(base)
        if workload.per_op:
            record["us_per_op"] = record["median_s"] / data["ops"] * 1e6
            record["us_per_op_min"] = record["min_s"] / data["ops"] * 1e6
    return list(records.values())


# ---------------------------------------------------------------------------
# Extras: backward / forward, memory over a W2 run, gradcheck cost
# ---------------------------------------------------------------------------


def backward_forward(quick: bool, repeats: int) -> dict[str, Any]:
    """Median backward time over median forward time for one W2 training step."""
    import minigrad as mg

    params = WORKLOADS["W2"].quick if quick else WORKLOADS["W2"].full
    data = mlp_data(**params)
    x, t = mg.tensor(data["xs"][0]), mg.tensor(data["onehots"][0])
    weights = [mg.tensor(p, requires_grad=True) for p in data["params"]]
    forward, backward = [], []
    for _ in range(max(repeats, 3) * 4):
        for w in weights:
            w.grad = None
        start = time.perf_counter()
        loss = mlp_loss_minigrad(mg, weights, x, t)
        middle = time.perf_counter()
        loss.backward()
        forward.append(middle - start)
        backward.append(time.perf_counter() - middle)
    out = {"minigrad": statistics.median(backward) / statistics.median(forward),
           "minigrad_forward_ms": statistics.median(forward) * 1e3,
           "minigrad_backward_ms": statistics.median(backward) * 1e3}
    if peers.installed("torch"):
        torch = peers._torch()
        tx, tt = torch.from_numpy(data["xs"][0]), torch.from_numpy(data["onehots"][0])
        tw = [torch.tensor(p, requires_grad=True) for p in data["params"]]
        forward, backward = [], []
        for _ in range(max(repeats, 3) * 4):
            start = time.perf_counter()
            W1, b1, W2, b2, W3, b3 = tw
            h2 = torch.tanh(torch.tanh(tx @ W1 + b1) @ W2 + b2)
            loss = -(torch.log_softmax(h2 @ W3 + b3, dim=-1) * tt).sum() / tx.shape[0]
            middle = time.perf_counter()
            loss.backward()
            forward.append(middle - start)
            backward.append(time.perf_counter() - middle)
        out["torch"] = statistics.median(backward) / statistics.median(forward)
    return out


def memory_growth(quick: bool) -> dict[str, Any]:
    """Peak traced memory of a short and a 5x longer minigrad W2 run."""
    return w2_memory_growth(w2_minigrad, quick)


def gradcheck_cost(repeats: int) -> dict[str, Any]:
    """Seconds for mg.gradcheck on a smooth function of 100 parameters."""
    import minigrad as mg

    x = mg.tensor(np.linspace(-1, 1, 100), requires_grad=True)

    def f(x: Any) -> Any:
        return (x.tanh() * x + x.sin()).sum()

    try:
        times = []
        for _ in range(max(repeats, 1)):
            start = time.perf_counter()
            ok = mg.gradcheck(f, [x])
            times.append(time.perf_counter() - start)
    except NotImplementedError:
        return {"status": "gradcheck not implemented yet"}
    return {"status": "ok" if ok else "failed", "median_s": statistics.median(times)}


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def _cell(record: dict[str, Any] | None, per_op: bool, numpy: bool) -> str:
    if record is None:
        return "–"
    if "median_s" not in record:
        status = record["status"]
        return "–" if status == "n/a" else status
    if per_op:
        return f"{record['us_per_op']:.2f} µs/op"
    if numpy:
        return f"{record['median_s'] * 1e3:.2f} ms"
    return f"{record['ratio_median']:.2f}x"


def table(results: list[dict[str, Any]], frameworks: Sequence[str]) -> str:
    lines = ["| workload | " + " | ".join(LABELS[f] for f in frameworks) + " |",
             "|---" * (len(frameworks) + 1) + "|"]
    for key in dict.fromkeys(r["workload"] for r in results):
        by_name = {r["framework"]: r for r in results if r["workload"] == key}
        per_op = WORKLOADS[key].per_op
        cells = [_cell(by_name.get(f), per_op, f == "numpy") for f in frameworks]
        lines.append(f"| {key} {WORKLOADS[key].title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fastest_ratios(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        if "ratio_min" in r and r["framework"] != "numpy":
            extra = f", {r['us_per_op_min']:.2f} µs/op" if "us_per_op_min" in r else ""
            lines.append(f"{r['workload']:6s} {r['framework']:10s} fastest-sample ratio "
                         f"{r['ratio_min']:.2f}x{extra} ({len(r['times_s'])} samples of "
                         f"{r['runs_per_sample']} runs)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("workloads", nargs="*", default=[],
                        help=f"workloads to run (default all): {', '.join(WORKLOADS)}")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated columns (numpy is always run: it is the "
                             "reference)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per framework")
    parser.add_argument("--budget", type=float, default=15.0,
                        help="seconds after which a slow framework gets no more repeats")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="write JSON to PATH ('-' or no value: stdout, no table)")
    parser.add_argument("--allocator-cache", action="store_true",
                        help="call mg.set_allocator_cache() first (the opt-in that keeps "
                             "freed memory; process-wide, so every column gets it)")
    parser.add_argument("--models", action="store_true",
                        help="also run W6/W7, the issue-15 models (benchmarks/models.py)")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip backward/forward, memory and gradcheck measurements")
    args = parser.parse_args(argv)
    if args.allocator_cache:
        import minigrad as mg

        mg.set_allocator_cache()
    keys = [k.strip() for k in ",".join(args.workloads).split(",") if k.strip()] or \
        list(WORKLOADS)
    unknown = [k for k in keys if k not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    frameworks = ["numpy"] + [f for f in args.frameworks.split(",") if f and f != "numpy"]
    bad = [f for f in frameworks if f not in FRAMEWORKS]
    if bad:
        parser.error(f"unknown framework(s) {bad}; choose from {FRAMEWORKS}")
    repeats = 1 if args.quick else args.repeats
    to_stdout = args.json == "-"
    say = (lambda *a: print(*a, file=sys.stderr)) if to_stdout else print

    report: dict[str, Any] = {
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_info(frameworks, fix_threads()), "results": [], "extras": {}}
    say(json.dumps(report["machine"], indent=None))
    for key in keys:
        say(f"{key}: {WORKLOADS[key].title} ...")
        report["results"] += bench_workload(key, frameworks, args.quick, repeats, args.budget)
    if not args.no_extras and "minigrad" in frameworks:
        report["extras"]["backward_over_forward_W2_step"] = backward_forward(args.quick, repeats)
        report["extras"]["memory_W2"] = memory_growth(args.quick)
        report["extras"]["gradcheck_100_params"] = gradcheck_cost(1 if args.quick else 3)
    if not args.no_extras and "compiled" in frameworks:
        report["extras"]["compile_time"] = compiled.compile_times(keys, args.quick)
        report["extras"]["memory_W2_compiled"] = compiled.memory_growth(args.quick)
    say("")
    say(table(report["results"], frameworks))
    say("")
    say(fastest_ratios(report["results"]))
    for name, value in report["extras"].items():
        say(f"{name}: {json.dumps(value)}")
    if args.models:
        from benchmarks import models

        report["models"] = models.bench(list(models.WORKLOADS), quick=args.quick,
                                        repeats=repeats, say=say)
        say(models.table(report["models"]))
    if args.json:
        text = json.dumps(report, indent=1, default=float)
        if to_stdout:
            print(text)
        else:
            with open(args.json, "w") as handle:
                handle.write(text)
    return report
