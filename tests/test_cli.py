"""The ``minigrad`` command: ``demo`` end to end, ``explain`` and its safe parser."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import viz
from minigrad.__main__ import evaluate, main, parse_assignments, seed_data

ROOT = Path(__file__).resolve().parents[1]


def test_evaluate_builds_named_graph_with_the_right_value():
    root = evaluate("tanh(x*w + b)", {"x": 2.0, "w": -3.0, "b": 6.88})
    assert root.name == "tanh(x * w + b)"
    assert root.item() == pytest.approx(math.tanh(2 * -3 + 6.88))
    assert [p.name for p in root.parents] == ["x * w + b"]
    root = evaluate("-x ** 2 / y + exp(x) - 3", {"x": 1.5, "y": 2.0})
    assert root.item() == pytest.approx(-(1.5**2) / 2 + math.exp(1.5) - 3)


@pytest.mark.parametrize("expr, message", [
    ("__import__('os').system('true')", "is not allowed"),
    ("x.__class__", "is not allowed"),
    ("open('f')", "is not allowed"),
    ("[x for x in y]", "is not allowed"),
    ("x if x else x", "is not allowed"),
    ("tanh(x, axis=0)", "is not allowed"),
    ("tanh(q)", "uses 'q' but no value was given. Add --set q=VALUE"),
    ("tanh(x", "cannot parse"),
    ("2 * 3", "does not depend on any --set name"),
])
def test_evaluate_refuses_anything_else(expr, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate(expr, {"x": 1.0, "y": 2.0})


def test_parse_assignments():
    values = parse_assignments(["x=2", "w=-3", "v=[1, 2.5]"])
    assert values["w"] == -3.0 and values["v"].tolist() == [1.0, 2.5]
    for bad in ("x", "1x=2", "x=os.sep", "x=[1, 'a']"):
        with pytest.raises(ValueError, match="explain: "):
            parse_assignments([bad])


def test_explain_command_prints_steps_and_writes_the_graph(tmp_path, capsys):
    rc = main(["explain", "tanh(x*w + b)", "--set", "x=2", "w=-3", "b=6.88",
               "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Step 1: tanh(x * w + b)\n" in out
    # d tanh/dn = 1 - tanh(0.88)^2, dn/dx = w
    dn = 1 - math.tanh(0.88) ** 2
    assert f"dL/dx = {-3 * dn:.4g}" in out and f"dL/db = {dn:.4g}" in out
    graph = tmp_path / ("explain_graph.svg" if viz.can_render() else "explain_graph.dot")
    assert graph.exists() and "tanh" in graph.read_text()


def test_explain_command_errors_exit_2(capsys):
    assert main(["explain", "os.system('x')", "--set", "x=1"]) == 2
    assert "minigrad explain: error:" in capsys.readouterr().err


def test_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    for text in ("engine", "analytic", "finite diff", "closed form", "GD", "SGD"):
        assert text in out
    # the closed form of the seed data, and GD reaching it
    X, y = seed_data()
    w, b = mg.models.linear_regression_closed_form(X, y)
    assert re.search(rf"closed form\s+{w[0]:.5f}\s+{b:.5f}", out)
    assert re.search(rf"GD\s+{w[0]:.5f}\s+{b:.5f}", out)
    folder = tmp_path / "out"
    assert "Backward pass for L = loss" in (folder / "explain.txt").read_text()
    assert (folder / "graph.svg").exists() or (folder / "graph.dot").exists()
    if importlib.util.find_spec("matplotlib") is not None:
        for name in ("fit.png", "loss_curves.png"):
            assert (folder / name).read_bytes()[:4] == b"\x89PNG"


def test_seed_data_is_the_seed_example():
    np.random.seed(42)
    X = np.random.rand(100, 1)
    y = 2 * X + 1 + 0.1 * np.random.randn(100, 1)
    X2, y2 = seed_data()
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_python_dash_m(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "minigrad", "explain", "x*x", "--set", "x=3",
                             "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "x is used twice: 3 + 3 = 6" in result.stdout


def test_demo_on_a_bare_machine_writes_dot_and_a_hint(tmp_path, capsys, monkeypatch):
    """No dot, no graphviz or pygraphviz package, no tqdm, no matplotlib: the README's
    first command still works."""
    import shutil

    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz raises ImportError
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in (
        "tqdm", "matplotlib", "pygraphviz") else real(name, *a))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no Graphviz found" in out and "pip install matplotlib" in out
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["explain.txt", "graph.dot"]
