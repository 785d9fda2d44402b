"""The benchmark harness runs on tiny sizes and checks results (not a timing test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import run, workloads  # noqa: E402


def test_every_workload_runs_and_minigrad_matches_numpy(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    report = run.main(["--quick", "--frameworks", "minigrad", "--json", str(out)])
    saved = json.loads(out.read_text())
    assert saved["machine"]["versions"]["numpy"] == np.__version__
    keys = {r["workload"] for r in report["results"]}
    assert keys == set(workloads.WORKLOADS)
    for record in report["results"]:
        assert record["status"] == "ok", record
        assert record["median_s"] > 0 and record["ratio_median"] > 0
        if workloads.WORKLOADS[record["workload"]].per_op:
            assert record["us_per_op"] > 0
    extras = report["extras"]
    assert extras["backward_over_forward_W2_step"]["minigrad"] > 0
    assert len(extras["memory_W2"]["peak_mib"]) == 2


@pytest.mark.parametrize("key", list(workloads.WORKLOADS))
def test_numpy_and_minigrad_agree(key: str) -> None:
    workload = workloads.WORKLOADS[key]
    data = workload.make_data(**workload.quick)
    reference = workload.impls["numpy"](data)()
    result = workload.impls["minigrad"](data)()
    assert run.compare(result, reference, workload.rtol) is None


def test_hand_gradients_match_finite_differences() -> None:
    # The NumPy reference is hand-derived; check W4's gradient numerically so the
    # reference itself is trusted.
    data = workloads.moons_data(n=8, hidden=3)
    loss, *grads = workloads.w4_numpy(data)()
    params = data["params"]
    eps = 1e-6
    for p, g in zip(params, grads, strict=True):
        flat, numerical = p.reshape(-1), np.zeros(p.size)
        for i in range(p.size):
            old = flat[i]
            flat[i] = old + eps
            up = workloads.w4_numpy(data)()[0]
            flat[i] = old - eps
            down = workloads.w4_numpy(data)()[0]
            flat[i] = old
            numerical[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g.reshape(-1), numerical, rtol=1e-5, atol=1e-7)


def test_compare_reports_a_mismatch() -> None:
    good = (np.array([1.0, 2.0]),)
    assert run.compare(good, good, 1e-9) is None
    assert "relative error" in run.compare((np.array([1.0, 2.1]),), good, 1e-9)
    assert "shape" in run.compare((np.array([1.0]),), good, 1e-9)


def test_command_line_json_and_threads() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("OPENBLAS_NUM_THREADS", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "W3", "--quick", "--no-extras",
         "--frameworks", "minigrad", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["machine"]["threads"].startswith("1") or "=1" in report["machine"]["threads"]
    assert [r["framework"] for r in report["results"]] == ["numpy", "minigrad"]
    assert "| W3 " in done.stderr  # the table goes to stderr when JSON goes to stdout


def test_unknown_workload_is_a_clear_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        run.main(["W9", "--quick"])
    assert "unknown workload(s) ['W9']" in capsys.readouterr().err


def test_diagnostics_count_bytecodes_and_ops(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import diagnostics

    diagnostics.main(["opcodes", "w4"])
    out = capsys.readouterr().out
    assert "bytecodes per op" in out and "_fastpath.py:apply" in out
    assert "32 forward ops, 32 backward nodes" in out
    with pytest.raises(SystemExit, match="unknown section"):
        diagnostics.main(["nope"])
