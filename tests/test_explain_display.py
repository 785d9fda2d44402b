"""explain as an object (terminal, REPL, Jupyter), names=locals(), fused ops shown as
parts, explain after backward(), and drawing that never hangs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import viz
from minigrad.__main__ import main

HAS_DOT = shutil.which("dot") is not None


def _neuron():
    x = mg.tensor(2.0, requires_grad=True)
    w = mg.tensor(-3.0, requires_grad=True)
    b = mg.tensor(6.8813735870195432, requires_grad=True)
    n = x * w + b
    o = mg.tanh(n)
    return o, locals()


# -- the Explanation object ------------------------------------------------------


def test_explanation_prints_as_text_and_renders_as_markdown():
    o, names = _neuron()
    e = viz.explain(o, names=names)
    assert isinstance(e, viz.Explanation)
    text = str(e)
    assert text.startswith("Backward pass for L = o: 6 steps")
    assert repr(e) == text  # the REPL shows the steps, not a quoted one-line string
    assert "Step 1: o = tanh(n)" in text and "to n: dL/do * do/dn = 1 * 0.5 = 0.5" in text
    md = e._repr_markdown_()
    assert md == e.markdown and md.startswith("**Backward pass for $L = \\mathrm{o}$**")
    assert r"\dfrac{\partial L}{\partial \mathrm{n}} = 0.5" in md
    assert len(e.steps) == 6 and e.steps[0].op == "tanh"
    assert str(viz.explain(o, format="markdown", names=names)) == md


def test_markdown_escapes_names_for_latex():
    a = mg.tensor(1.5, requires_grad=True, name="a_1")
    y = a * a
    y.name = "x{%}&#"
    md = viz.explain(y).markdown
    assert r"\mathrm{a\_1}" in md and r"\mathrm{x\{\%\}\&\#}" in md


# -- names without ceremony ------------------------------------------------------


def test_names_from_locals_name_intermediates_in_explain_and_draw_graph():
    x = mg.tensor(2.0, requires_grad=True)
    w = mg.tensor(-3.0, requires_grad=True, name="weight")  # its own name comes first
    h = x * w
    also_h = h  # a Tensor bound to two names keeps the first
    _ = h * 2  # IPython's _ is skipped
    o = mg.tanh(h)
    text = str(viz.explain(o, names=locals()))
    assert "Step 1: o = tanh(h)" in text and "Step 2: h = multiply(x, weight)" in text
    assert "also_h" not in text and "tanh_1" not in text
    src = viz.draw_graph(o, names=locals()).source
    for name in ("<B>o</B>", "<B>h</B>", "<B>x</B>", "<B>weight</B>"):
        assert name in src
    assert "also_h" not in src


def test_a_module_in_names_names_and_styles_its_parameters():
    net = mg.nn.MLP([2, 3, 1], activation="tanh", rng=0)
    X = mg.tensor(np.ones((4, 2)))
    loss = net(X).sum()
    src = viz.draw_graph(loss, names=locals()).source
    label = next(line for line in src.splitlines() if "<B>net.layers.0.weight</B>" in line)
    assert "#fde7b0" in label  # the parameter colour
    assert "<B>X</B>" in src and "parameter" in src  # the legend names the kind
    assert "net.layers.2.bias" in str(viz.explain(loss, names=locals()))


def test_names_must_be_a_dict():
    o, _ = _neuron()
    with pytest.raises(TypeError, match="names= takes a dict such as locals"):
        viz.draw_graph(o, names=["o"])


# -- a fused op as its parts ---------------------------------------------------


def test_affine_is_shown_as_matmul_and_add_with_the_same_gradients():
    layer = mg.nn.Linear(3, 2, rng=0)
    X = mg.tensor(np.arange(12.0).reshape(4, 3), name="X")
    loss = (layer(X) * mg.tensor([1.0, -2.0])).sum()
    fused = viz.explain(loss, names=locals())
    parts = viz.explain(loss, names=locals(), expand_fused=True)
    assert [s.op for s in fused.steps][:3] == ["sum", "multiply", "affine"]
    assert [s.op for s in parts.steps][:4] == ["sum", "multiply", "add", "matmul"]
    assert len(parts.steps) == len(fused.steps) + 1
    assert [s.index for s in parts.steps] == list(range(len(parts.steps)))
    affine = fused.steps[2]
    add, matmul = parts.steps[2], parts.steps[3]
    sent = {c.name: c.grad for c in affine.contributions}
    assert add.call == "add(X @ layer.weight^T, layer.bias)"
    np.testing.assert_array_equal(add.contributions[1].grad, sent["layer.bias"])
    assert add.contributions[1].summed_axes == (0,)
    assert matmul.call == "matmul(X, layer.weight^T)"
    np.testing.assert_array_equal({c.name: c.grad for c in matmul.contributions}
                                  ["layer.weight"], sent["layer.weight"])
    np.testing.assert_allclose(matmul.node.data, X.data @ layer.weight.data.T)
    text = str(parts)
    assert "Step 3: affine_1 = add(X @ layer.weight^T, layer.bias)" in text
    assert "layer.bias was broadcast from (2,) to (4, 2)" in text
    src = viz.draw_graph(loss, names=locals(), expand_fused=True).source
    assert "label=affine" not in src and "label=matmul" in src and "label=add" in src
    assert "X @ layer.weight^T" in src
    assert "label=affine" in viz.draw_graph(loss, names=locals()).source


# -- after backward() ------------------------------------------------------------


def test_draw_after_a_plain_backward():
    o, names = _neuron()
    o.backward()  # frees the graph, but every node keeps its inputs
    src = viz.draw_graph(o, names=names).source
    assert "grad -1.5" in src and "<B>n</B>" in src  # x.grad, written by backward


def test_explain_after_a_plain_backward():
    o, names = _neuron()
    before = str(viz.explain(o, names=names))
    o.backward()  # frees the graph, but every node keeps its inputs
    assert str(viz.explain(o, names=names)) == before


# -- never hang --------------------------------------------------------------------


def _sum_of(n):
    x = mg.tensor(1.0, requires_grad=True, name="x")
    y = x
    for _ in range(n - 1):
        y = y + x
    return x, y


def test_a_tensor_used_by_many_ops_is_drawn_again_beside_each():
    x, y = _sum_of(300)
    src = viz.draw_graph(y).source
    x_id = re.search(r"^\s*(t\d+) \[label=<<B>x</B>", src, flags=re.M).group(1)
    assert len(re.findall(rf"^\s*{x_id} -> ", src, flags=re.M)) == 2  # only x + x is direct
    assert "used by 299 ops: drawn again beside each" in src
    assert src.count("style=\"rounded,filled,dashed\"") >= 298
    assert "dashed name: a Tensor drawn again" in src  # and the legend says so


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_the_300_term_sum_draws_within_the_budget(tmp_path):
    x, y = _sum_of(300)
    viz.trace(y)
    # a time budget, not a timing: DrawingTimeout if Graphviz needs more than 20 s
    svg = viz.render(y, tmp_path / "sum.svg", timeout=20).read_text()
    assert "<svg" in svg and "used by 299 ops" in svg
    assert x.grad.item() == 300.0


def _slow_dot(n=150):
    """DOT source that Graphviz lays out very slowly: one node with long edges to a chain."""
    lines = [f"c{k} -> c{k + 1}; x -> c{k};" for k in range(n)]
    return "digraph { " + " ".join(lines) + " }"


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_graphviz_past_its_budget_is_stopped_with_a_message():
    with pytest.raises(viz.DrawingTimeout, match=r"within 0.3 s, so the svg picture was skipped"
                       r".*max_nodes=.*timeout=None.*format='dot'.*mg.viz.explain"):
        viz._image(_slow_dot(), "svg", timeout=0.3)


def test_jupyter_display_falls_back_to_the_explanation(monkeypatch):
    o, names = _neuron()
    drawing = viz.draw_graph(o, names=names)

    def too_slow(source, format, timeout=None, dpi=None):
        raise viz.DrawingTimeout("Graphviz did not lay out this graph within 20 s")

    monkeypatch.setattr(viz, "_image", too_slow)
    bundle = drawing._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert bundle["text/markdown"].startswith("**Graphviz did not lay out this graph within")
    assert "`o = tanh(n)`" in bundle["text/markdown"]
    assert "Step 1: o = tanh(n)" in bundle["text/plain"]


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_jupyter_display_is_an_svg():
    o, names = _neuron()
    bundle = viz.draw_graph(o, names=names)._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml"} and ">tanh<" in bundle["image/svg+xml"]


def test_cli_prints_the_text_first_and_says_what_was_skipped(tmp_path, capsys, monkeypatch):
    def too_slow(source, format, timeout=None, dpi=None):
        raise viz.DrawingTimeout("Graphviz did not lay out this graph within 20 s, so the "
                                 "svg picture was skipped.")

    monkeypatch.setattr(viz, "_image", too_slow)
    monkeypatch.setattr(viz, "can_render", lambda: True)
    expr = "+".join(["x"] * 300)
    assert main(["explain", expr, "--set", "x=1", "--out", str(tmp_path), "--stepthrough"]) == 0
    out = capsys.readouterr().out
    assert out.index("Step 1: ") < out.index("graph: ") < out.index("step-through: skipped")
    assert "svg picture was skipped" in out and (tmp_path / "explain_graph.dot").exists()
    assert "add_294" in out and "x + x + x + x + x + x + x" not in out  # long names numbered


def test_auto_direction_turns_a_wide_graph_top_to_bottom():
    x = mg.tensor(np.linspace(0, 1, 100), name="X")
    w = mg.tensor(0.5, requires_grad=True)
    loss = mg.losses.mse(x * w + 1.0, x)
    assert "rankdir=TB" in viz.draw_graph(loss, rankdir="auto").source
    assert "rankdir=LR" in viz.draw_graph(loss).source  # the default stays left to right
    x1 = mg.tensor(2.0, requires_grad=True)
    assert "rankdir=LR" in viz.draw_graph(mg.tanh(x1), rankdir="auto").source


# -- graphviz imported only when drawing ------------------------------------------


def test_without_the_graphviz_package_only_draw_graph_needs_it(tmp_path):
    code = (
        "import sys; sys.modules['graphviz'] = None\n"  # as if it were not installed
        "from pathlib import Path\n"
        "import minigrad as mg\n"
        "from minigrad import viz\n"
        "x = mg.tensor(2.0, requires_grad=True)\n"
        "y = x * x\n"
        "print(str(viz.explain(y)).splitlines()[0])\n"
        f"out = Path({str(tmp_path)!r})\n"
        "print(viz.render(y, out / 'g.dot', 'dot').read_text().splitlines()[0])\n"
        "print(viz.write_stepthrough(y, out / 'steps.html').exists())\n"
        "try:\n"
        "    viz.draw_graph(y)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    first, dot, page, message = out.stdout.strip().splitlines()
    assert first.startswith("Backward pass for L = multiply_1")
    assert dot == "digraph minigrad {" and page == "True"
    assert "needs the 'graphviz' Python package" in message and "pip install graphviz" in message


def test_pygraphviz_runs_in_a_child_process_with_the_same_budget(monkeypatch):
    pytest.importorskip("pygraphviz")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(viz.DrawingTimeout, match="within 0.3 s"):
        viz._image(_slow_dot(), "svg", timeout=0.3)
    assert b"<svg" in viz._image("digraph { a -> b }", "svg")


def test_jupyter_display_without_graphviz_says_what_to_install(monkeypatch):
    import importlib.util

    o, names = _neuron()
    drawing = viz.draw_graph(o, names=names)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    bundle = drawing._repr_mimebundle_()
    assert "image/svg+xml" not in bundle and "apt install graphviz" in bundle["text/plain"]
    assert "Step 1: o = tanh(n)" in bundle["text/plain"]
