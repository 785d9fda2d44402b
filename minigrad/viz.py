"""See the graph: ``draw_graph``, ``render``, ``trace`` and the backward step-through.

Read ``explain.py`` first for the step objects; this file draws them.

* ``draw_graph(root)`` -> a ``graphviz.Digraph`` (displays inline in Jupyter):
  tensor nodes (boxes) show name, shape, dtype, value and gradient; op nodes
  (ellipses) show the op name verbatim. Colours: blue = leaf input, amber =
  parameter, grey dashed = constant, white = intermediate, green = the root.
  A gradient that does not exist is written as such -- never as 0.
* Gradients of intermediate Tensors are normally not kept. Call
  ``t.retain_grad()`` before backward, or run ``trace(loss)`` instead of
  ``loss.backward()``: it keeps every intermediate gradient (and the graph).
* Parameter names: pass ``params={"w": w, ...}`` or ``module=net`` (names from
  ``net.named_parameters()``, e.g. ``layers.0.weight``).
* Clusters: run the forward pass inside ``with record_modules(net):`` and draw
  with ``group_modules=True``; nodes created inside each sub-module's call are
  boxed together, labelled by module path.
* ``max_nodes`` keeps huge graphs drawable: the nodes nearest the root are
  drawn, the rest summarized in one node. All walks are iterative.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import shutil
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import graphviz

from minigrad.explain import Step, backward_steps, explain, fmt, format_step, node_names
from minigrad.tensor import Tensor

__all__ = ["backward_steps", "draw_graph", "explain", "record_modules", "render", "step_frames",
           "trace", "write_stepthrough"]

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = ("Install Graphviz's 'dot' program (apt install graphviz, brew install graphviz, "
                "conda install graphviz) or the pygraphviz wheel (pip install 'minigrad[render]'), "
                "or use format='dot' to write the DOT source.")

_FILL = {"root": "#d4efd4", "param": "#fde7b0", "input": "#cfe2fa", "const": "#f0f0f0",
         "inner": "#ffffff"}
_MODULE_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Function -> module path


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
    from minigrad.engine import toposort

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


# ---------------------------------------------------------------------------
# Drawing.
# ---------------------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _role(t: Tensor, root: Tensor, param_ids: set[int]) -> str:
    if t is root:
        return "root"
    if id(t) in param_ids:
        return "param"
    if t._ctx is None:
        return "input" if t.requires_grad else "const"
    return "inner"


def _value(t: Tensor) -> str:
    if t.size <= 6 and t.ndim == 2 and t.shape[0] > 1:  # one line per row
        return "\n" + "\n".join(fmt(row) for row in t.data)
    if t.size <= 6:
        return fmt(t.data)
    if t.dtype.kind not in "fiub":
        return "..."
    d = t.data
    return f"min {d.min():.4g} | mean {d.mean():.4g} | max {d.max():.4g}"


def _grad_text(t: Tensor) -> str:
    if t.grad is not None:
        return f"grad {_value(t.grad)}"
    if not t.requires_grad:
        return ""
    if t._ctx is not None and not t._retains_grad:
        return "grad: not kept"  # intermediate: see retain_grad() / trace()
    return "grad: not computed"


def _collect(root: Tensor, max_nodes: int) -> tuple[list[Tensor], int]:
    """Tensors nearest the root (breadth first), at most max_nodes; and the total count."""
    seen, order, queue, i = {id(root)}, [root], [root], 0
    while i < len(queue):
        t = queue[i]
        i += 1
        for p in t.parents:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
    total = len(queue)
    order = queue[:max_nodes]
    return order, total


def _param_names(params: dict[str, Tensor] | None, module: Any) -> dict[str, Tensor]:
    names = dict(params or {})
    if module is not None:
        if not hasattr(module, "named_parameters"):
            raise TypeError(f"draw_graph: module= must be an mg.nn.Module (with "
                            f"named_parameters()), not {type(module).__name__}.")
        names.update(dict(module.named_parameters()))
    return names


def _build(root: Tensor, show_data: bool = True, show_grad: bool = True, rankdir: str = "LR",
           params: dict[str, Tensor] | None = None, module: Any = None,
           group_modules: bool = False, max_nodes: int = 300,
           grad_text: Callable[[Tensor], str] | None = None,
           highlight: Tensor | None = None) -> graphviz.Digraph:
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: root must be a minigrad Tensor, not {type(root).__name__}.")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'RL', 'TB' or 'BT', not {rankdir!r}.")
    if not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive int, not {max_nodes!r}.")
    named = _param_names(params, module)
    param_ids = {id(t) for t in named.values()}
    nodes, total = _collect(root, max_nodes)
    if total <= max_nodes:
        names = node_names(root, named)
    else:  # numbering every node of a huge graph is not worth it: names and ops only
        by_id = {id(v): k for k, v in named.items()}
        names = {id(t): t.name or by_id.get(id(t), "") for t in nodes}
    grad_text = grad_text or _grad_text

    g = graphviz.Digraph("minigrad", graph_attr={"rankdir": rankdir, "fontname": "Helvetica",
                                                 "nodesep": "0.25", "ranksep": "0.35"},
                         node_attr={"fontname": "Helvetica", "fontsize": "11"},
                         edge_attr={"color": "#666666", "arrowsize": "0.7"})
    ids = {id(t): f"t{k}" for k, t in enumerate(nodes)}
    clusters: dict[str, list[str]] = {}

    def place(path: str | None, line: str) -> None:
        if group_modules and path:
            clusters.setdefault(path, []).append(line)
        else:
            g.body.append(f"\t{line}\n")

    for t in nodes:
        role = _role(t, root, param_ids)
        name = names[id(t)] if role != "const" or t.name else ""  # a constant shows its data
        rows = [f"<B>{_esc(name)}</B>"] if name else []
        shape = "scalar" if t.ndim == 0 else str(t.shape)
        rows.append(f'<FONT POINT-SIZE="9" COLOR="#555555">{shape} {t.dtype}</FONT>')
        if show_data:
            rows.append(_esc(f"data {_value(t)}").replace("\n", "<BR/>"))
        gt = grad_text(t) if show_grad else ""
        if gt:
            color = "#b00000" if gt.startswith("grad ") else "#888888"
            gt = _esc(gt).replace("\n", f'</FONT><BR/><FONT COLOR="{color}">')
            rows.append(f'<FONT COLOR="{color}">{gt}</FONT>')
        label = "<" + "<BR/>".join(rows) + ">"
        attrs = {"label": label, "shape": "box", "style": "rounded,filled",
                 "fillcolor": _FILL[role]}
        if role == "const":
            attrs.update(style="rounded,filled,dashed", fontcolor="#555555")
        if role == "param":
            attrs["penwidth"] = "1.6"
        if highlight is not None and t is highlight:
            attrs.update(color="#d62728", penwidth="3.5", fillcolor="#ffe3e3")
        module_path = _MODULE_OF.get(t._ctx) if t._ctx is not None else None
        if role == "param":
            module_path = names[id(t)].rpartition(".")[0] or None
        place(module_path, _node_line(ids[id(t)], attrs))
        if t._ctx is None:
            continue
        op_id = f"op{ids[id(t)][1:]}"
        op_attrs = {"label": t.op, "shape": "ellipse", "style": "filled",
                    "fillcolor": "#e8e8f4", "fontsize": "10", "height": "0.3"}
        if highlight is not None and t is highlight:
            op_attrs.update(color="#d62728", penwidth="2.5")
        place(module_path, _node_line(op_id, op_attrs))
        g.edge(op_id, ids[id(t)])
        for p in t.parents:
            if id(p) in ids:
                g.edge(ids[id(p)], op_id)
            else:
                g.edge("rest", op_id, style="dashed")
    if total > len(nodes):
        g.node("rest", f"... {total - len(nodes):,} more tensors not drawn\n"
                       f"(max_nodes={max_nodes})", shape="note", fillcolor="#fff6d5",
               style="filled")
    _add_clusters(g, clusters)
    return g


def _node_line(node_id: str, attrs: dict[str, str]) -> str:
    parts = [f"{k}={v}" if k == "label" else f'{k}="{v}"' for k, v in attrs.items()]
    return f"{node_id} [{' '.join(parts)}]"


def _add_clusters(g: graphviz.Digraph, clusters: dict[str, list[str]]) -> None:
    """One cluster per module path, nested by path ('layers.1' inside 'layers' when
    'layers' is itself a module); deepest first, since subgraph() copies its body."""
    subs = {}
    for p, lines in clusters.items():
        sub = graphviz.Digraph(name=f"cluster_{p.replace('.', '_')}",
                               graph_attr={"label": p, "style": "rounded,dashed",
                                           "color": "#8888aa", "fontsize": "10"})
        sub.body += [f"\t{line}\n" for line in lines]
        subs[p] = sub
    for p in sorted(subs, key=lambda s: -s.count(".")):
        parts = p.split(".")
        parents = [".".join(parts[:k]) for k in range(len(parts) - 1, 0, -1)]
        parent = next((q for q in parents if q in subs), None)
        (subs[parent] if parent else g).subgraph(subs[p])


def draw_graph(root: Tensor, show_data: bool = True, show_grad: bool = True,
               rankdir: str = "LR", *, params: dict[str, Tensor] | None = None,
               module: Any = None, group_modules: bool = False,
               max_nodes: int = 300) -> graphviz.Digraph:
    """The graph of every Tensor reachable from ``root`` as a ``graphviz.Digraph``.

    Parameters
    ----------
    root : the Tensor to draw back from (usually the loss).
    show_data, show_grad : show values / gradients in tensor nodes.
    rankdir : "LR" (left to right, default), "TB", "RL" or "BT".
    params : optional ``{name: Tensor}``; those Tensors are drawn as parameters.
    module : optional ``mg.nn.Module``; its ``named_parameters()`` name parameters.
    group_modules : one cluster per module call recorded with :func:`record_modules`.
    max_nodes : draw at most this many tensors (nearest the root); summarize the rest.

    >>> import minigrad as mg
    >>> w = mg.tensor(-3.0, requires_grad=True, name="w")
    >>> dot = draw_graph(mg.tanh(w * 2.0)).source
    >>> "tanh" in dot and "multiply" in dot and "grad: not computed" in dot
    True
    """
    return _build(root, show_data, show_grad, rankdir, params, module, group_modules, max_nodes)


def _image(source: str, format: str) -> bytes:
    """Lay out DOT source with Graphviz's dot program, else pygraphviz, else explain."""
    if shutil.which("dot"):
        return graphviz.Source(source).pipe(format=format)
    if importlib.util.find_spec("pygraphviz") is not None:
        import pygraphviz

        return pygraphviz.AGraph(string=source).draw(format=format, prog="dot")
    raise RuntimeError(f"render: cannot make a {format} image: neither Graphviz's 'dot' "
                       f"program nor pygraphviz is available. {INSTALL_HINT}")


def can_render() -> bool:
    """True when SVG / PNG / PDF output is possible (dot on PATH, or pygraphviz)."""
    return bool(shutil.which("dot")) or importlib.util.find_spec("pygraphviz") is not None


def render(root: Tensor, path: str | Path, format: str = "svg", **kwargs: Any) -> Path:
    """Draw ``root``'s graph into ``path`` and return the path written.

    ``format`` is "svg", "png", "pdf" or "dot" (the DOT source; needs no Graphviz
    program). Images use Graphviz's ``dot`` when it is on PATH, else pygraphviz
    (``pip install 'minigrad[render]'``). ``kwargs`` go to :func:`draw_graph`.
    """
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, not {format!r}.")
    path = Path(path)
    graph = draw_graph(root, **kwargs)
    if format == "dot":
        path.write_text(graph.source, encoding="utf-8")
    else:
        path.write_bytes(_image(graph.source, format))
    return path


# ---------------------------------------------------------------------------
# The step-through: one frame per backward step, and an HTML page.
# ---------------------------------------------------------------------------


def step_frames(root: Tensor, gradient: Any = None, **kwargs: Any
                ) -> list[tuple[Step, graphviz.Digraph]]:
    """One ``(step, Digraph)`` per backward step: the step's node highlighted,
    gradients filled in as they arrive (partial sums marked "so far")."""
    named = _param_names(kwargs.get("params"), kwargs.get("module"))
    steps = backward_steps(root, gradient=gradient, params=named)
    index = {id(s.node): s.index for s in steps}
    expected: dict[int, int] = {}  # how many consumers will send each node a gradient
    for s in steps:
        for c in s.contributions:
            expected[id(c.input)] = expected.get(id(c.input), 0) + 1
    frames = []
    for s in steps:
        arrived: dict[int, list] = {}  # contributions sent by steps up to and including s
        for done in steps[: s.index + 1]:
            for c in done.contributions:
                arrived.setdefault(id(c.input), []).append(c.grad)

        def text(t: Tensor, s: Step = s, arrived: dict = arrived) -> str:
            k = index.get(id(t))
            if k is None:
                return ""
            if k <= s.index:
                return f"grad {_value(Tensor._make(steps[k].upstream))}"
            if id(t) not in arrived:
                return "grad: not computed yet"
            got = arrived[id(t)]
            total = Tensor._make(sum(got[1:], got[0]))
            if len(got) < expected[id(t)]:
                return f"grad so far {_value(total)} ({len(got)} of {expected[id(t)]} parts)"
            return f"grad {_value(total)} (arrived)"

        frames.append((s, _build(root, grad_text=text, highlight=s.node, **kwargs)))
    return frames


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>minigrad: backward, step by step</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }}
.bar {{ display: flex; gap: 12px; align-items: center; margin-bottom: 8px; }}
button {{ font-size: 15px; padding: 4px 14px; }}
.frame {{ display: none; }}
.frame.current {{ display: block; }}
.frame svg {{ max-width: 100%; height: auto; }}
pre {{ background: #f6f6f6; padding: 8px; font-size: 13px; white-space: pre-wrap; }}
</style></head>
<body>
<h2>Backward pass of {title}, one step at a time</h2>
<div class="bar"><button id="prev">&larr; previous</button>
<span id="counter">step 1 of {n}</span><button id="next">next &rarr;</button>
<span style="color:#777">(arrow keys work too)</span></div>
<div style="font-size:13px;color:#555;margin-bottom:6px">red box: the node whose rule runs
in this step &middot; blue: input &middot; amber: parameter &middot; grey dashed: constant
&middot; green: the output &middot; gradients appear as they arrive</div>
{frames}
<script>
(function () {{
  var frames = document.querySelectorAll('.frame'), k = 0;
  function show(i) {{
    k = Math.max(0, Math.min(frames.length - 1, i));
    for (var j = 0; j < frames.length; j++) frames[j].classList.toggle('current', j === k);
    document.getElementById('counter').textContent = 'step ' + (k + 1) + ' of ' + frames.length;
    document.body.setAttribute('data-step', String(k + 1));
  }}
  document.getElementById('prev').onclick = function () {{ show(k - 1); }};
  document.getElementById('next').onclick = function () {{ show(k + 1); }};
  document.addEventListener('keydown', function (e) {{
    if (e.key === 'ArrowLeft') show(k - 1);
    if (e.key === 'ArrowRight') show(k + 1);
  }});
  var start = parseInt((location.hash || '#1').slice(1), 10);
  show(isNaN(start) ? 0 : start - 1);
  document.body.setAttribute('data-ready', 'yes');
}})();
</script></body></html>
"""


def write_stepthrough(root: Tensor, path: str | Path, frames_dir: str | Path | None = None,
                      gradient: Any = None, **kwargs: Any) -> Path:
    """Write the backward pass as frames (``step_001.svg``, ...) in ``frames_dir``
    (default: ``<path stem>_frames`` beside ``path``) and one self-contained HTML
    page at ``path`` (inline SVGs, previous / next buttons, no network). Without
    Graphviz the frames are ``.dot`` files and the page shows their source.
    Returns the HTML path."""
    path = Path(path)
    frames_dir = Path(frames_dir) if frames_dir else path.with_name(path.stem + "_frames")
    frames_dir.mkdir(parents=True, exist_ok=True)
    svg = can_render()
    blocks, names = [], node_names(root, _param_names(kwargs.get("params"), kwargs.get("module")))
    for s, graph in step_frames(root, gradient=gradient, **kwargs):
        name = f"step_{s.index + 1:03d}"
        if svg:
            image = _image(graph.source, "svg").decode("utf-8")
            image = image[image.index("<svg"):]
            (frames_dir / f"{name}.svg").write_text(image, encoding="utf-8")
        else:
            (frames_dir / f"{name}.dot").write_text(graph.source, encoding="utf-8")
            image = f"<pre>{_esc(graph.source)}</pre>"
        current = " current" if s.index == 0 else ""
        blocks.append(f'<div class="frame{current}" id="{name}"><pre>{_esc(format_step(s, names))}'
                      f"</pre>\n{image}</div>")
    title = _esc(names[id(root)])
    path.write_text(_PAGE.format(title=title, n=len(blocks), frames="\n".join(blocks)),
                    encoding="utf-8")
    return path
