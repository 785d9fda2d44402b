"""mg.viz: graph drawing, render, trace, backward_steps / explain, step-through frames."""

from __future__ import annotations

import math
import re
import shutil
import time

import numpy as np
import pytest

import minigrad as mg
from minigrad import viz

HAS_DOT = viz.can_render()
B = 6.8813735870195432


def neuron():
    """The classic lecture neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    x1 = mg.tensor(2.0, requires_grad=True, name="x1")
    x2 = mg.tensor(0.0, requires_grad=True, name="x2")
    w1 = mg.tensor(-3.0, requires_grad=True, name="w1")
    w2 = mg.tensor(1.0, requires_grad=True, name="w2")
    b = mg.tensor(B, requires_grad=True, name="b")
    n = x1 * w1 + x2 * w2 + b
    n.name = "n"
    o = mg.tanh(n)
    o.name = "o"
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b)


# -- backward_steps and explain ----------------------------------------------


def test_steps_follow_the_engine_and_match_hand_computed_numbers():
    o, leaves = neuron()
    steps = viz.backward_steps(o)
    assert len(steps) == 10  # 5 ops + 5 leaves
    assert [s.op for s in steps[:2]] == ["tanh", "add"]
    assert steps[0].upstream.item() == 1.0
    # d tanh(n)/dn = 1 - tanh(n)^2, with n = 0.8814 and tanh(n) = 1/sqrt(2): exactly 0.5
    tanh_n = math.tanh(0.8813735870195432)
    assert steps[0].contributions[0].grad.item() == pytest.approx(1 - tanh_n**2)
    assert steps[0].contributions[0].grad.item() == pytest.approx(0.5)
    leaf_grads = {s.name: s.upstream.item() for s in steps if s.is_leaf}
    assert leaf_grads == pytest.approx({"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5})
    # the same numbers as the engine, and the order is engine.toposort's
    assert all(t.grad is None for t in leaves.values())
    o.backward()
    assert {k: t.grad.item() for k, t in leaves.items()} == pytest.approx(leaf_grads)
    assert [id(s.node) for s in steps] == [id(t) for t in mg.engine.toposort([o])]


def test_explain_text_of_the_neuron():
    o, _ = neuron()
    text = str(viz.explain(o))
    assert "Step 1: o = tanh(n)" in text
    assert "d tanh(n)/dn = 1 - tanh(n)^2" in text
    assert "to n: dL/do * do/dn = 1 * 0.5 = 0.5" in text
    assert "to x1: dL/dmultiply_1 * dmultiply_1/dx1 = 0.5 * (-3) = -1.5" in text
    assert "dL/dw2 = 0" in text
    md = str(viz.explain(o, format="markdown"))
    assert r"\dfrac{\partial L}{\partial \mathrm{n}}" in md and "`o = tanh(n)`" in md


def test_accumulation_is_shown_as_a_sum():
    x = mg.tensor(2.0, requires_grad=True, name="x")
    h = x * 1.0
    h.name = "h"
    y = h * 0.3 + h * 0.2
    step = next(s for s in viz.backward_steps(y) if s.name == "h")
    # in the order they arrive: the engine runs the later consumer (h * 0.2) first
    assert step.accumulation == "h is used twice: 0.2 + 0.3 = 0.5"
    assert "h is used twice: 0.2 + 0.3 = 0.5" in str(viz.explain(y))


def test_broadcast_sum_is_noted():
    X = mg.tensor(np.arange(6.0).reshape(3, 2), name="X")
    b = mg.tensor([0.5, -1.0], requires_grad=True, name="b")
    loss = (X + b).sum()
    add = viz.backward_steps(loss)[1]
    (c,) = add.contributions
    assert c.from_shape == (3, 2) and c.summed_axes == (0,)
    np.testing.assert_array_equal(c.grad, [3.0, 3.0])
    assert "b was broadcast from (2,) to (3, 2), so the gradient is summed over axes (0,)" \
        in str(viz.explain(loss))


def test_large_tensors_are_summarized_and_nonscalar_roots_need_a_gradient():
    x = mg.tensor(np.linspace(0, 1, 50), requires_grad=True, name="x")
    y = x * 2.0
    with pytest.raises(ValueError, match="gradient can be omitted only"):
        viz.backward_steps(y)
    text = str(viz.explain(y, gradient=np.ones(50)))
    assert "shape (50,): min 2, mean 2, max 2" in text


def test_steps_neither_free_the_graph_nor_touch_grad():
    o, leaves = neuron()
    viz.backward_steps(o)
    viz.backward_steps(o)
    assert all(t.grad is None for t in leaves.values())
    o.backward()  # the graph was not freed by backward_steps
    assert leaves["x1"].grad.item() == pytest.approx(-1.5)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="backward_steps: root must be a minigrad Tensor"):
        viz.backward_steps(np.ones(2))
    with pytest.raises(ValueError, match="does not require grad"):
        viz.backward_steps(mg.tensor(1.0) * 2)
    o, _ = neuron()
    with pytest.raises(ValueError, match="format must be 'text' or 'markdown'"):
        viz.explain(o, format="html")


# -- trace and draw_graph -----------------------------------------------------


def test_trace_keeps_intermediate_gradients():
    o, leaves = neuron()
    assert viz.trace(o) is o
    n = o.parents[0]
    assert n.grad.item() == pytest.approx(0.5) and o.grad.item() == 1.0
    assert leaves["x1"].grad.item() == pytest.approx(-1.5)
    assert len(viz.backward_steps(o)) == 10  # the graph is kept too


def _labels(source):
    return re.findall(r"^\s*(\w+) \[label=(<.*>|[^ \]]+)[ \]]", source, flags=re.M)


def test_dot_nodes_edges_labels_and_not_computed_vs_zero():
    o, leaves = neuron()
    src = viz.draw_graph(o).source
    nodes = _labels(src)
    assert len([n for n, _ in nodes if n.startswith("t")]) == 10  # tensors
    assert [lab for n, lab in nodes if n.startswith("op")].count("multiply") == 2
    assert "tanh" in [lab for _, lab in nodes]
    assert len(re.findall(r"->", src)) == 5 + 9  # op -> output, plus one per op input
    assert src.count("grad: not computed") == 5  # leaves, before backward
    assert src.count("grad: not kept") == 5  # intermediates
    assert "data 0.7071" in src and "scalar float64" in src
    o.backward()
    src = viz.draw_graph(o).source
    assert "grad: not computed" not in src
    w2_label = next(lab for _, lab in _labels(src) if "<B>w2</B>" in lab)
    assert "grad 0<" in w2_label  # a zero gradient is 0, distinct from "not computed"
    assert "grad: not computed" not in viz.draw_graph(o, show_grad=False).source
    assert "data" not in viz.draw_graph(o, show_data=False).source


def test_parameters_are_named_and_styled_differently():
    o, leaves = neuron()
    src = viz.draw_graph(o, params={"weight.one": leaves["w1"]}).source
    label = next(line for line in src.splitlines() if "w1" in line and "label" in line)
    assert "#fde7b0" in label  # the parameter colour
    x1 = next(line for line in src.splitlines() if "<B>x1</B>" in line)
    assert "#cfe2fa" in x1  # leaf inputs are blue
    assert "#d4efd4" in next(line for line in src.splitlines() if "<B>o</B>" in line)
    x = mg.tensor(np.ones((4, 2)))
    net = mg.nn.MLP([2, 3, 1], activation="tanh", rng=0)
    src = viz.draw_graph(net(x).sum(), module=net).source
    for name in ("layers.0.weight", "layers.0.bias", "layers.2.weight", "affine", "tanh"):
        assert name in src


def test_module_clusters():
    net = mg.nn.MLP([2, 3, 1], activation="tanh", rng=0)
    with viz.record_modules(net):
        loss = net(mg.tensor(np.ones((4, 2)))).sum()
    assert "forward" not in vars(net.layers[0])  # the wrapper is removed afterwards
    src = viz.draw_graph(loss, module=net, group_modules=True).source
    for path in ("layers_0", "layers_1", "layers_2"):
        assert f"subgraph cluster_{path}" in src
    block = src.split("subgraph cluster_layers_0")[1].split("}")[0]
    assert "layers.0.weight" in block and "label=affine" in block
    assert "cluster" not in viz.draw_graph(loss, module=net).source


def test_hundred_thousand_node_chain_with_max_nodes():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    start = time.perf_counter()
    src = viz.draw_graph(y, max_nodes=40).source
    assert time.perf_counter() - start < 5
    assert src.count("label=multiply") <= 40
    assert "more tensors not drawn" in src and "(max_nodes=40)" in src


def test_draw_graph_bad_inputs():
    o, _ = neuron()
    with pytest.raises(TypeError, match="draw_graph: root must be a minigrad Tensor"):
        viz.draw_graph([1.0])
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(o, rankdir="XY")
    with pytest.raises(ValueError, match="max_nodes must be a positive int"):
        viz.draw_graph(o, max_nodes=0)
    with pytest.raises(TypeError, match="module= must be an mg.nn.Module"):
        viz.draw_graph(o, module=object())
    with pytest.raises(TypeError, match="record_modules: expected an mg.nn.Module"):
        with viz.record_modules(object()):
            pass


# -- render -------------------------------------------------------------------


def test_render_dot_always_works(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    o, _ = neuron()
    path = viz.render(o, tmp_path / "g.dot", format="dot")
    assert path == tmp_path / "g.dot"
    assert path.read_text().startswith("digraph minigrad {")


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    o, _ = neuron()
    hint = r"apt install graphviz.*pip install 'minigrad\[render\]'"
    with pytest.raises(RuntimeError, match=hint):
        viz.render(o, tmp_path / "g.svg")
    with pytest.raises(ValueError, match="format must be one of"):
        viz.render(o, tmp_path / "g.jpg", format="jpg")


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz's dot is not installed")
def test_render_svg_png_pdf(tmp_path):
    o, _ = neuron()
    viz.trace(o)
    svg = viz.render(o, tmp_path / "n.svg").read_text()
    assert "<svg" in svg and ">tanh<" in svg and "grad 0.5" in svg
    assert viz.render(o, tmp_path / "n.png", "png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert viz.render(o, tmp_path / "n.pdf", "pdf").read_bytes()[:5] == b"%PDF-"


def test_render_with_pygraphviz(tmp_path, monkeypatch):
    pytest.importorskip("pygraphviz")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    o, _ = neuron()
    assert "<svg" in viz.render(o, tmp_path / "n.svg").read_text()


# -- step-through frames ------------------------------------------------------


def test_frames_highlight_each_step_and_fill_gradients_in():
    x = mg.tensor(2.0, requires_grad=True, name="x")
    h = x * 1.0
    h.name = "h"
    y = h * 0.3 + h * 0.2
    y.name = "y"
    frames = viz.step_frames(y)
    assert [s.index for s, _ in frames] == list(range(len(viz.backward_steps(y))))
    for s, graph in frames:
        current = [line for line in graph.source.splitlines() if "#d62728" in line]
        assert any(f"<B>{s.name}</B>" in line for line in current)
    first, last = frames[0][1].source, frames[-1][1].source
    assert "grad: not computed yet" in first and "grad: not computed yet" not in last
    # after the first multiply sends its share, h has 1 of its 2 parts
    assert any("grad so far 0.3 (1 of 2 parts)" in g.source or
               "grad so far 0.2 (1 of 2 parts)" in g.source for _, g in frames)
    # "(arrived)" marks only the gradients sent in that very step, never a waiting leaf
    for s, graph in frames:
        marked = set(re.findall(r"<B>(\w+)</B>[^\n]*\(arrived\)", graph.source))
        assert marked <= {c.name for c in s.contributions}
    x_label = [re.search(r"<B>x</B>[^\n]*", g.source).group() for _, g in frames]
    assert [("(arrived)" in lab, "not computed yet" in lab) for lab in x_label] == [
        (False, True), (False, True), (False, True), (True, False), (False, False)]


def test_write_stepthrough_is_self_contained(tmp_path):
    o, _ = neuron()
    page = viz.write_stepthrough(o, tmp_path / "steps.html")
    text = page.read_text()
    assert text.count('class="frame graph') == 10 and text.count("<pre>Step ") == 10
    # no network: nothing fetched (xmlns="http://www.w3.org/..." are names, not requests)
    assert not re.search(r"(src|href)=\"https?:|<link|@import|url\(", text)
    frames = sorted((tmp_path / "steps_frames").iterdir())
    assert len(frames) == 10
    assert frames[0].suffix == (".svg" if HAS_DOT else ".dot")
