"""See the graph: ``draw_graph``, ``render``, ``trace`` and the backward step-through.

Read ``explain.py`` first for the step objects; this file draws them, with the
DOT writing and slide layout in ``_draw.py``.

* ``draw_graph(root)`` -> a ``graphviz.Digraph`` (displays inline in Jupyter):
  tensor nodes (boxes) show name, shape, dtype, value and gradient; op nodes
  (ellipses) show the op name verbatim. Colours: blue = input, amber =
  parameter, grey dashed = constant, white = intermediate, green = the output;
  a legend in the picture names the kinds present. A gradient that does not
  exist is written as such -- never as 0.
* Names: ``names=locals()`` names each Tensor after your variable (an
  ``mg.nn.Module`` among them names and styles its parameters); ``params={"w": w}``
  or ``module=net`` mark parameters. ``rankdir="auto"`` picks the direction
  that fits a 16:9 slide best, and wraps a long graph into bands (like lines
  of text) when its text would otherwise be too small.
* Gradients of intermediate Tensors are normally not kept. Call
  ``t.retain_grad()`` before backward, or run ``trace(loss)`` instead of
  ``loss.backward()``: it keeps every intermediate gradient (and the graph).
* Never hang: a Tensor used by many ops is drawn again beside each of them
  (long edges are what make Graphviz slow), ``max_nodes`` draws the nodes
  nearest the root, and Graphviz runs with a time budget (``timeout``);
  past it you get a message and the text explanation instead of a picture.
* Clusters: run the forward pass inside ``with record_modules(net):`` and draw
  with ``group_modules=True``; nodes created inside each sub-module's call are
  boxed together, labelled by module path. All walks are iterative.
* The ``graphviz`` package is imported only when a drawing is requested.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from minigrad._draw import (
    _GRAD,
    _KINDS,
    _MODULE_OF,
    _PAGE,
    _build,
    _collect,
    _esc,
    _page_svg,
    _param_names,
    _role,
    _value,
)
from minigrad.explain import (
    Explanation,
    Step,
    backward_steps,
    explain,
    format_step,
    node_names,
    variable_names,
)
from minigrad.tensor import Tensor

__all__ = ["DrawingTimeout", "backward_steps", "draw_graph", "explain", "record_modules",
           "render", "step_frames", "trace", "write_stepthrough"]

FORMATS = ("svg", "png", "pdf", "dot")
TIMEOUT = 20.0  # seconds Graphviz may spend on one layout
PNG_DPI = 192  # twice Graphviz's default: sharp when a slide scales the picture up
INSTALL_HINT = ("Install Graphviz's 'dot' program (apt install graphviz, brew install graphviz, "
                "conda install graphviz) or the pygraphviz wheel (pip install 'minigrad[render]'), "
                "or use format='dot' to write the DOT source.")
PACKAGE_HINT = ("drawing needs the 'graphviz' Python package, which is not installed: "
                "pip install graphviz (or pip install 'minigrad[render]'). "
                "mg.viz.explain(root) works without it.")

# kind: (fill colour, legend text), in legend order
class DrawingTimeout(RuntimeError):
    """Graphviz did not finish the layout within the time budget."""


def _graphviz() -> Any:
    """The graphviz package, imported on first use (``import minigrad`` needs only NumPy)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"mg.viz: {PACKAGE_HINT}") from None
    return graphviz


# ---------------------------------------------------------------------------
# Keeping intermediate gradients, and recording module calls.
# ---------------------------------------------------------------------------


def trace(root: Tensor, gradient: Any = None) -> Tensor:
    """Run ``root.backward`` keeping every intermediate gradient and the graph.

    Afterwards every Tensor in the graph has ``.grad`` (leaves accumulate as
    usual), so ``draw_graph(root)`` shows all gradients and ``explain(root)``
    still works. Returns ``root``.

    >>> import minigrad as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> h = x * 3
    >>> y = trace(h * h)
    >>> h.grad.item(), x.grad.item()
    (12.0, 36.0)
    """
    from minigrad.graph import toposort

    for node in toposort([root]):
        node.retain_grad()
    root.backward(gradient, retain_graph=True)
    return root


def _submodules(model: Any) -> list[tuple[str, Any]]:
    """(path, module) for model ("") and every sub-module, named as nn names parameters."""
    from minigrad.nn import Module

    if not isinstance(model, Module):
        raise TypeError(f"record_modules: expected an mg.nn.Module, not {type(model).__name__}.")
    return [(path, obj) for path, obj in model._walk() if isinstance(obj, Module)]


@contextlib.contextmanager
def record_modules(model: Any) -> Iterator[Any]:
    """Inside this block, remember which module call created each node, so that
    ``draw_graph(..., group_modules=True)`` can draw one cluster per module.

    Each sub-module's ``forward`` is wrapped for the duration of the block; a
    node belongs to the innermost module call whose output it leads to from
    that call's Tensor arguments.
    """
    wrapped = []
    for path, sub in _submodules(model):
        wrapped.append(sub)
        sub.forward = _recording(sub.forward, path)  # "" = the model itself: no cluster
    try:
        yield model
    finally:
        for sub in wrapped:
            vars(sub).pop("forward", None)


def _recording(forward: Callable, path: str) -> Callable:
    def call(*args: Any, **kwargs: Any) -> Any:
        out = forward(*args, **kwargs)
        stop = {id(a) for a in (*args, *kwargs.values()) if isinstance(a, Tensor)}
        stack = [t for t in (out if isinstance(out, (tuple, list)) else [out])
                 if isinstance(t, Tensor)]
        seen = set()
        while stack:  # tag the nodes between this call's inputs and its outputs
            t = stack.pop()
            if id(t) in seen or id(t) in stop or t._ctx is None:
                continue
            seen.add(id(t))
            _MODULE_OF.setdefault(t._ctx, path)  # an inner call tagged first: keep it
            stack.extend(t._ctx.inputs)
        return out
    return call


@functools.cache
def _drawing_class() -> type:
    """``graphviz.Digraph`` whose Jupyter display keeps the time budget (defined on
    first use, because graphviz is imported only then)."""
    graphviz = _graphviz()

    class Drawing(graphviz.Digraph):
        """A ``graphviz.Digraph`` that Jupyter lays out within ``TIMEOUT`` seconds;
        past it (or without Graphviz) it shows what was skipped and the text explanation."""

        _fallback: Callable[[], Explanation | None] = staticmethod(lambda: None)

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                              **_: Any) -> dict[str, str]:
            try:
                return {"image/svg+xml": _image(self.source, "svg").decode("utf-8")}
            except RuntimeError as exc:
                message = str(exc)
            try:
                explanation = self._fallback()
            except (ValueError, RuntimeError):  # e.g. a non-scalar root needs gradient=
                explanation = None
            if explanation is None:
                return {"text/plain": message}
            return {"text/plain": f"{message}\n\n{explanation.text}",
                    "text/markdown": f"**{message}**\n\n{explanation.markdown}"}

    return Drawing


def draw_graph(root: Tensor, show_data: bool = True, show_grad: bool = True,
               rankdir: str = "LR", *, params: dict[str, Tensor] | None = None,
               module: Any = None, names: dict[str, Any] | None = None,
               group_modules: bool = False, max_nodes: int = 300,
               expand_fused: bool = False, legend: bool = True) -> Any:
    """The graph of every Tensor reachable from ``root`` as a ``graphviz.Digraph``.

    Parameters
    ----------
    root : the Tensor to draw back from (usually the loss).
    show_data, show_grad : show values / gradients in tensor nodes.
    rankdir : "LR" (left to right, default), "TB", "RL", "BT", or "auto": the
        direction that lets the picture be drawn largest on a 16:9 slide; a long
        graph whose text would be small is wrapped into bands, each starting with
        a dashed copy of the Tensor the previous band ended with.
    params : optional ``{name: Tensor}``; those Tensors are drawn as parameters.
    module : optional ``mg.nn.Module``; its ``named_parameters()`` are parameters.
    names : optional ``{name: value}``, typically ``locals()``: each Tensor is named
        after its variable (its own ``.name`` comes first); the parameters of an
        ``mg.nn.Module`` among them are named ``net.layers.0.weight`` and drawn as
        parameters.
    group_modules : one cluster per module call recorded with :func:`record_modules`.
    max_nodes : draw at most this many tensors (nearest the root); summarize the rest.
    expand_fused : draw a fused ``affine`` node (``nn.Linear``) as its parts,
        ``matmul`` and ``add``, with the product in between.
    legend : a legend of the kinds of node present, below the picture.

    In Jupyter the result displays inline; Graphviz gets ``TIMEOUT`` seconds, and
    past them (or without Graphviz) the display says so and shows ``explain(root)``.

    >>> import minigrad as mg
    >>> w = mg.tensor(-3.0, requires_grad=True)
    >>> dot = draw_graph(mg.tanh(w * 2.0), names=locals()).source
    >>> "tanh" in dot and "multiply" in dot and "grad: not computed" in dot and "<B>w</B>" in dot
    True
    """
    dot = _build(root, show_data, show_grad, rankdir, params, module, group_modules,
                 max_nodes, names=names, expand_fused=expand_fused, legend=legend)
    drawing = _drawing_class()("minigrad", graph_attr=dot.graph_attr, node_attr=dot.node_attr,
                               edge_attr=dot.edge_attr, body=dot.body)
    labels = {**_param_names(params, module, names), **variable_names(names)}
    drawing._fallback = lambda: explain(root, params=labels, expand_fused=expand_fused)
    return drawing


def _image(source: str, format: str, timeout: float | None = TIMEOUT,
           dpi: int | None = None) -> bytes:
    """Lay out DOT source with Graphviz's dot program, else pygraphviz (in a child
    process too), in at most ``timeout`` seconds; else explain what to install."""
    dot = shutil.which("dot")
    if dot:
        command = [dot, f"-T{format}"] + ([f"-Gdpi={dpi}"] if dpi else [])
    elif importlib.util.find_spec("pygraphviz") is not None:
        command = [sys.executable, "-c", _PYGRAPHVIZ, format, str(dpi or "")]
    else:
        raise RuntimeError(f"render: cannot make a {format} image: neither Graphviz's 'dot' "
                           f"program nor pygraphviz is available. {INSTALL_HINT}")
    try:
        done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:  # run() has killed the layout
        raise DrawingTimeout(
            f"Graphviz did not lay out this graph ({source.count(' -> ')} edges) within "
            f"{timeout:g} s, so the {format} picture was skipped. Draw fewer nodes with "
            "max_nodes=..., allow more time with timeout=None (no limit), or write the "
            "DOT source with format='dot'; mg.viz.explain(root) gives the steps as text."
        ) from None
    if done.returncode != 0:
        raise RuntimeError(f"render: Graphviz failed: "
                           f"{done.stderr.decode('utf-8', 'replace').strip()[-800:]}")
    return done.stdout


_PYGRAPHVIZ = """import sys, pygraphviz
graph = pygraphviz.AGraph(string=sys.stdin.read())
if sys.argv[2]:
    graph.graph_attr["dpi"] = sys.argv[2]
sys.stdout.buffer.write(graph.draw(format=sys.argv[1], prog="dot"))
"""


def can_render() -> bool:
    """True when SVG / PNG / PDF output is possible (dot on PATH, or pygraphviz)."""
    return bool(shutil.which("dot")) or importlib.util.find_spec("pygraphviz") is not None


def render(root: Tensor, path: str | Path, format: str = "svg", *,
           timeout: float | None = TIMEOUT, **kwargs: Any) -> Path:
    """Draw ``root``'s graph into ``path`` and return the path written.

    ``format`` is "svg", "png" (at 192 dpi, sharp on a slide), "pdf" or "dot"
    (the DOT source; needs no Graphviz program). Images use Graphviz's ``dot``
    when it is on PATH, else pygraphviz (``pip install 'minigrad[render]'``).
    ``dot`` gets ``timeout`` seconds (``None``: no limit); past them
    :class:`DrawingTimeout` says what was skipped and how to get it.
    ``kwargs`` go to :func:`draw_graph`.
    """
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, not {format!r}.")
    path = Path(path)
    source = _build(root, **kwargs).source
    if format == "dot":
        path.write_text(source, encoding="utf-8")
    else:
        path.write_bytes(_image(source, format, timeout, PNG_DPI if format == "png" else None))
    return path


# ---------------------------------------------------------------------------
# The step-through: one frame per backward step, and an HTML page.
# ---------------------------------------------------------------------------


def step_frames(root: Tensor, gradient: Any = None, **kwargs: Any) -> list[tuple[Step, Any]]:
    """One ``(step, graph)`` per backward step (``graph.source`` is its DOT; no
    graphviz package needed): the step's node highlighted,
    gradients filled in as they arrive (partial sums marked "so far", the shares
    sent in this very step marked "arrived")."""
    if kwargs.get("expand_fused"):
        raise ValueError("step_frames: expand_fused is not supported in the step-through; "
                         "use draw_graph(..., expand_fused=True) or explain(..., "
                         "expand_fused=True).")
    named = _param_names(kwargs.get("params"), kwargs.get("module"), kwargs.get("names"))
    labels = {**named, **variable_names(kwargs.get("names"))}
    steps = backward_steps(root, gradient=gradient, params=labels)
    index = {id(s.node): s.index for s in steps}
    expected: dict[int, int] = {}  # how many consumers will send each node a gradient
    for s in steps:
        for c in s.contributions:
            expected[id(c.input)] = expected.get(id(c.input), 0) + 1
    frames = []
    arrived: dict[int, list] = {}  # contributions sent by the steps so far
    for s in steps:
        for c in s.contributions:
            arrived.setdefault(id(c.input), []).append(c.grad)
        now, got_all = {id(c.input) for c in s.contributions}, dict(arrived)

        def text(t: Tensor, s: Step = s, got_all: dict = got_all, now: set = now) -> str:
            k = index.get(id(t))
            if k is None:
                return ""
            if k <= s.index:
                return f"grad {_value(Tensor._make(steps[k].upstream))}"
            if id(t) not in got_all:
                return "grad: not computed yet"
            got = got_all[id(t)]
            total = Tensor._make(sum(got[1:], got[0]))
            if len(got) < expected[id(t)]:
                return f"grad so far {_value(total)} ({len(got)} of {expected[id(t)]} parts)"
            return f"grad {_value(total)}" + (" (arrived)" if id(t) in now else "")

        frames.append((s, _build(root, grad_text=text, highlight=s.node, **kwargs)))
    return frames


def write_stepthrough(root: Tensor, path: str | Path, frames_dir: str | Path | None = None,
                      gradient: Any = None, *, timeout: float | None = 3 * TIMEOUT,
                      **kwargs: Any) -> Path:
    """Write the backward pass as frames (``step_001.svg``, ...) in ``frames_dir``
    (default: ``<path stem>_frames`` beside ``path``) and one self-contained HTML
    page at ``path`` (inline SVGs, previous / next buttons and zoom, no network).
    The page keeps node text at its natural size or larger, scrolls the node of
    the current step into view, and shows the step's text beside the graph.
    Without Graphviz the frames are ``.dot`` files and the page shows their
    source. ``timeout`` is Graphviz's budget for all frames together (``None``: no
    limit); past it :class:`DrawingTimeout` says how many frames were drawn.
    ``kwargs`` go to :func:`draw_graph` (``rankdir="auto"`` by default here).
    Returns the HTML path."""
    path = Path(path)
    frames_dir = Path(frames_dir) if frames_dir else path.with_name(path.stem + "_frames")
    frames_dir.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("rankdir", "auto")
    kwargs["legend"] = False  # the page has its own legend
    svg = can_render()
    named = _param_names(kwargs.get("params"), kwargs.get("module"), kwargs.get("names"))
    labels = {**named, **variable_names(kwargs.get("names"))}
    names = node_names(root, labels)
    graphs, texts = [], []
    frames = step_frames(root, gradient=gradient, **kwargs)
    start = time.monotonic()
    for s, graph in frames:
        name = f"step_{s.index + 1:03d}"
        if svg:
            left = None if timeout is None else timeout - (time.monotonic() - start)
            try:
                if left is not None and left <= 0:
                    raise DrawingTimeout("")
                image = _image(graph.source, "svg", left).decode("utf-8")
            except DrawingTimeout:
                raise DrawingTimeout(
                    f"write_stepthrough: Graphviz drew {s.index} of {len(frames)} frames "
                    f"within {timeout:g} s, so the page was skipped. Pass timeout=None (no "
                    "limit) or draw a smaller graph; mg.viz.explain(root) gives the steps as "
                    "text.") from None
            image = image[image.index("<svg"):]
            (frames_dir / f"{name}.svg").write_text(image, encoding="utf-8")
            image = _page_svg(image)
        else:
            (frames_dir / f"{name}.dot").write_text(graph.source, encoding="utf-8")
            image = f"<pre>{_esc(graph.source)}</pre>"
        current = " current" if s.index == 0 else ""
        graphs.append(f'<div class="frame graph{current}" id="{name}">{image}</div>')
        texts.append(f'<div class="frame{current}"><pre>{_esc(format_step(s, names))}</pre></div>')
    param_ids = {id(p) for p in named.values()}
    kinds = {_role(t, root, param_ids) for t in _collect(root, kwargs.get("max_nodes", 300))[0]}
    legend = ('<span class="k" style="border:3px solid #d62728;background:#ffe3e3">this '
              "step</span> " + " ".join(
                  f'<span class="k" style="background:{fill}'
                  + (";border-style:dashed" if k == "const" else "")
                  + (";border-width:2px" if k == "param" else "") + f'">{text}</span>'
                  for k, (fill, text) in _KINDS.items() if k in kinds)
              + f' &middot; <span style="color:{_GRAD}">grad</span> = dL/d(node), filled in '
              "as the gradients arrive")
    title = _esc(names[id(root)])
    path.write_text(_PAGE.format(title=title, n=len(graphs), legend=legend,
                                 graphs="\n".join(graphs), texts="\n".join(texts)),
                    encoding="utf-8")
    return path
