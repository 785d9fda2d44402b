"""Interleaved before/after timing: one framework, one checkout, CPU time, fastest of N.

On a shared, noisy machine the harness's wall-clock medians can move 2-4x between
identical runs; comparing two checkouts is steadier when each cell is its own
process, timed in CPU seconds, and the rounds alternate between the checkouts::

    git worktree add /tmp/base <old commit>
    for round in 1 2 3; do for ckout in /tmp/base .; do
        python -m benchmarks.ab $ckout minigrad W1,W2,W2f32,W3,W4,W5 5
    done; done
    python -m benchmarks.ab . torch W1,W2,W2f32,W3,W4,W5 5
    python -m benchmarks.ab . minigrad W2,W2f32 5 cache   # with mg.set_allocator_cache()

Prints one JSON line: workload -> the fastest CPU time of one run, in seconds.
(Run it from the repository root: ``ROOT`` is put first on ``sys.path``.)
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time


def main(argv: list[str]) -> None:
    root, framework, keys, repeats = argv[0], argv[1], argv[2].split(","), int(argv[3])
    sys.path.insert(0, os.path.abspath(root))
    os.chdir(root)
    from benchmarks import peers
    from benchmarks import workloads as W
    from benchmarks.run import fix_threads

    fix_threads()
    if framework == "torch":
        import torch

        torch.set_num_threads(1)
    import minigrad

    if len(argv) > 4 and argv[4] == "cache":
        minigrad.set_allocator_cache()
    results = {}
    for key in keys:
        workload = W.WORKLOADS[key]
        data = workload.make_data(**workload.full)
        if framework in workload.impls:
            run = workload.impls[framework](data)
        else:
            run = peers.FACTORIES[key][framework](data)
        run()
        run()
        gc.collect()
        gc.freeze()
        best = float("inf")
        for _ in range(max(1, repeats)):
            start = time.process_time()
            run()
            best = min(best, time.process_time() - start)
        gc.unfreeze()
        results[key] = best
    print(json.dumps(results))


if __name__ == "__main__":  # pragma: no cover - a manual entry point
    main(sys.argv[1:])
