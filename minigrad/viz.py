"""See the graph: ``draw_graph``, ``render``, ``trace`` and the backward step-through.

Read ``explain.py`` first for the step objects; this file draws them.

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
import html
import importlib.util
import re
import shutil
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from minigrad.explain import (
    Explanation,
    Step,
    _p,
    backward_steps,
    explain,
    fmt,
    format_step,
    node_names,
    variable_names,
)
from minigrad.tensor import Tensor

__all__ = ["DrawingTimeout", "backward_steps", "draw_graph", "explain", "record_modules",
           "render", "step_frames", "trace", "write_stepthrough"]

FORMATS = ("svg", "png", "pdf", "dot")
TIMEOUT = 20.0  # seconds Graphviz may spend on one layout
FAN_OUT = 4  # a Tensor used by more ops than this is drawn again beside each consumer
PNG_DPI = 192  # twice Graphviz's default: sharp when a slide scales the picture up
INSTALL_HINT = ("Install Graphviz's 'dot' program (apt install graphviz, brew install graphviz, "
                "conda install graphviz) or the pygraphviz wheel (pip install 'minigrad[render]'), "
                "or use format='dot' to write the DOT source.")
PACKAGE_HINT = ("drawing needs the 'graphviz' Python package, which is not installed: "
                "pip install graphviz (or pip install 'minigrad[render]'). "
                "mg.viz.explain(root) works without it.")

# kind: (fill colour, legend text), in legend order
_KINDS = {"input": ("#cfe2fa", "input"), "param": ("#fde7b0", "parameter"),
          "const": ("#f0f0f0", "constant"), "inner": ("#ffffff", "intermediate"),
          "root": ("#d4efd4", "output")}
_OP_FILL = "#e8e8f4"
_GRAD = "#b00000"
_MODULE_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Function -> module path


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
# What to draw: nodes, names, kinds, and the direction that fits a slide.
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
    return f"{d.min():.3g} to {d.max():.3g}, mean {d.mean():.3g}"


def _clip(text: str, width: int = 40) -> str:
    """A long name shortened in the middle, so one label cannot widen the picture."""
    return text if len(text) <= width else f"{text[: width // 2 - 2]} ... {text[3 - width // 2:]}"


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
    seen, queue, i = {id(root)}, [root], 0
    while i < len(queue):
        t = queue[i]
        i += 1
        for p in t.parents:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
    return queue[:max_nodes], len(queue)


def _param_names(params: dict[str, Tensor] | None, module: Any,
                 names: dict[str, Any] | None = None) -> dict[str, Tensor]:
    """Tensors drawn as parameters: ``params``, ``module``'s, and those of any
    ``mg.nn.Module`` among ``names`` (prefixed with its variable name)."""
    from minigrad.nn import Module

    found = dict(params or {})
    if module is not None:
        if not hasattr(module, "named_parameters"):
            raise TypeError(f"draw_graph: module= must be an mg.nn.Module (with "
                            f"named_parameters()), not {type(module).__name__}.")
        found.update(dict(module.named_parameters()))
    for key, value in (names or {}).items():
        if isinstance(value, Module) and not key.startswith("_"):
            found.update({f"{key}.{n}": t for n, t in value.named_parameters()})
    return found


def _levels(nodes: list[Tensor], ids: dict[int, str],
            consumers: dict[int, list[Tensor]]) -> dict[int, int]:
    """Longest path from a drawn leaf, in ops, for every drawn Tensor (Kahn's order);
    a leaf sits just before its first consumer (a layer's weights beside that layer)."""
    children: dict[int, list[Tensor]] = {}
    waiting: dict[int, int] = {}
    for t in nodes:
        parents = {id(p) for p in t.parents if id(p) in ids}
        waiting[id(t)] = len(parents)
        for p in parents:
            children.setdefault(p, []).append(t)
    level = {id(t): 0 for t in nodes}
    ready = [t for t in nodes if waiting[id(t)] == 0]
    while ready:
        t = ready.pop()
        for c in children.get(id(t), ()):
            level[id(c)] = max(level[id(c)], level[id(t)] + 1)
            waiting[id(c)] -= 1
            if waiting[id(c)] == 0:
                ready.append(c)
    for t in nodes:
        if t._ctx is None and consumers.get(id(t)):
            level[id(t)] = max(0, min(level[id(c)] for c in consumers[id(t)]) - 1)
    return level


def _fit(sizes: dict[int, tuple[float, float]], level: dict[int, int],
         wrap: bool) -> tuple[str, int]:
    """The direction ('LR' or 'TB') and the levels per band (a long graph wraps like
    text) that let the picture be drawn largest on a 16:9 slide. Estimated from
    the label sizes (inches); op nodes sit between levels."""
    by_level: dict[int, list[tuple[float, float]]] = {}
    for key, size in sizes.items():
        by_level.setdefault(level[key], []).append(size)
    levels = [by_level[k] for k in sorted(by_level)]
    # per level: (length along the flow, extent across it) for each direction
    lr = [(max(w for w, _ in r), sum(h + 0.25 for _, h in r)) for r in levels]
    tb = [(max(h for _, h in r), sum(w + 0.25 for w, _ in r)) for r in levels]
    options = []  # (scale on the slide, direction, bands)
    for direction, dims, op in (("LR", lr, 1.0), ("TB", tb, 0.4)):
        for bands in range(1, (min(6, len(levels)) if wrap else 1) + 1):
            per = -(-len(levels) // bands)
            parts = [dims[k:k + per] for k in range(0, len(dims), per)]
            # each band after the first starts with a copy of its input and an op
            along = max(sum(a for a, _ in part) + (len(part) - 1) * (op + 0.7)
                        + (k > 0) * (2 * op + 1.4) for k, part in enumerate(parts))
            across = sum(max(c for _, c in part) for part in parts) + (len(parts) - 1) * 0.6
            width, height = (along, across) if direction == "LR" else (across, along)
            options.append((min(16 / width, 9 / (height + 0.5)), direction, len(parts), per))
    plain = max(o for o in options if o[2] == 1)
    if plain[1] == "TB" and plain[0] < 1.05 * options[0][0]:
        plain = options[0]  # left to right unless top to bottom is clearly better
    # wrap only a picture whose text would otherwise be small (under about 11 px on a
    # 1920 x 1080 slide), and only when wrapping makes it clearly larger
    wrapped = [o for o in options if o[2] > 1 and o[0] > 1.3 * plain[0] and plain[0] < 0.75]
    best = max(wrapped, default=plain)
    return best[1], best[3]


# ---------------------------------------------------------------------------
# Drawing.
# ---------------------------------------------------------------------------


def _build(root: Tensor, show_data: bool = True, show_grad: bool = True, rankdir: str = "LR",
           params: dict[str, Tensor] | None = None, module: Any = None,
           group_modules: bool = False, max_nodes: int = 300,
           grad_text: Callable[[Tensor], str] | None = None,
           highlight: Tensor | None = None, names: dict[str, Any] | None = None,
           expand_fused: bool = False, legend: bool = True) -> Any:
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: root must be a minigrad Tensor, not {type(root).__name__}.")
    if rankdir not in ("LR", "RL", "TB", "BT", "auto"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL', 'BT' or 'auto', "
                         f"not {rankdir!r}.")
    if not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive int, not {max_nodes!r}.")
    if names is not None and not isinstance(names, dict):
        raise TypeError(f"draw_graph: names= takes a dict such as locals(), not "
                        f"{type(names).__name__}.")
    named = _param_names(params, module, names)
    param_ids = {id(t) for t in named.values()}
    labels = {**named, **variable_names(names)}
    given = {id(t) for t in labels.values()}
    nodes, total = _collect(root, max_nodes)
    if total <= max_nodes:
        text_names = node_names(root, labels)
    else:  # numbering every node of a huge graph is not worth it: names and ops only
        by_id = {id(v): k for k, v in labels.items()}
        text_names = {id(t): t.name or by_id.get(id(t), "") for t in nodes}
    grad_text = grad_text or _grad_text
    ids = {id(t): f"t{k}" for k, t in enumerate(nodes)}

    # Who uses each drawn Tensor, nearest the leaves first (last in breadth-first order).
    consumers: dict[int, list[Tensor]] = {}
    for t in reversed(nodes):
        for p in {id(p): p for p in t.parents}.values():
            consumers.setdefault(id(p), []).append(t)

    roles, rows, sizes = {}, {}, {}
    for t in nodes:
        role = roles[id(t)] = _role(t, root, param_ids)
        shown = role != "const" or t.name or id(t) in given  # else a constant shows its data
        name = text_names[id(t)] if shown else ""
        lines = [(_clip(name), "b")] if name else []
        lines.append((("scalar" if t.ndim == 0 else str(t.shape)) + f" {t.dtype}", "small"))
        if show_data:
            lines += [(line, "") for line in f"data {_value(t)}".split("\n")]
        gt = grad_text(t) if show_grad else ""
        for line in gt.split("\n") if gt else ():
            lines.append((line, "grad" if gt.startswith("grad ") else "grey"))
        used = len(consumers.get(id(t), ()))
        if used > FAN_OUT:
            lines.append((f"used by {used} ops: drawn again beside each", "grey"))
        rows[id(t)] = lines
        sizes[id(t)] = (max(len(s) for s, _ in lines) * 0.08 + 0.3, len(lines) * 0.155 + 0.15)
    band: dict[int, int] = {}  # Tensor -> band, when a long graph is wrapped
    if rankdir == "auto":
        level = _levels(nodes, ids, consumers)
        rankdir, per = _fit(sizes, level, wrap=not group_modules)
        if per <= max(level.values()):
            band = {key: lev // per for key, lev in level.items()}
            for t in nodes:  # a leaf goes with its first consumer
                if t._ctx is None and consumers.get(id(t)):
                    band[id(t)] = min(band[id(c)] for c in consumers[id(t)])

    g = _Dot({"rankdir": rankdir, "fontname": "Helvetica", "nodesep": "0.25",
              "ranksep": "0.35"})
    clusters: dict[str, list[str]] = {}

    wrapped: dict[int, list[str]] = {}

    def place(path: str | None, line: str, t: Tensor) -> None:
        if group_modules and path:
            clusters.setdefault(path, []).append(line)
        elif band:
            wrapped.setdefault(band[id(t)], []).append(line)
        else:
            g.body.append(f"\t{line}\n")

    styles = {"b": "<B>{}</B>", "small": '<FONT POINT-SIZE="9" COLOR="#555555">{}</FONT>',
              "grad": f'<FONT COLOR="{_GRAD}">{{}}</FONT>',
              "grey": '<FONT COLOR="#888888">{}</FONT>', "": "{}"}
    copies: dict[tuple[int, str], str] = {}  # (Tensor, op node) -> its copy beside that op
    for t in nodes:
        role, tid = roles[id(t)], ids[id(t)]
        label = "<" + "<BR/>".join(styles[s].format(_esc(text)) for text, s in rows[id(t)]) + ">"
        attrs = {"label": label, "shape": "box", "style": "rounded,filled",
                 "fillcolor": _KINDS[role][0], "group": "g"}  # one group: straight chains
        if role == "const":
            attrs.update(style="rounded,filled,dashed", fontcolor="#555555")
        if role == "param":
            attrs["penwidth"] = "2"
        if highlight is not None and t is highlight:
            attrs.update({"color": "#d62728", "penwidth": "3.5", "fillcolor": "#ffe3e3",
                          "class": "current"})
        module_path = _MODULE_OF.get(t._ctx) if t._ctx is not None else None
        if role == "param":
            module_path = text_names[id(t)].rpartition(".")[0] or None
        place(module_path, _node_line(tid, attrs), t)
        if t._ctx is None:
            continue
        op_attrs = {"label": t.op, "shape": "ellipse", "style": "filled",
                    "fillcolor": _OP_FILL, "fontsize": "10", "height": "0.3", "group": "g"}
        if highlight is not None and t is highlight:
            op_attrs.update(color="#d62728", penwidth="2.5")
        op_id, inputs = f"op{tid[1:]}", list(t.parents)
        if expand_fused and t.op == "affine" and len(inputs) == 3:  # x @ W^T + b, drawn as parts
            op_attrs["label"] = "add"
            x, w, b = inputs
            xw = f"{_p(text_names.get(id(x), ''))} @ {_p(text_names.get(id(w), ''))}^T"
            part = Tensor._make(x.data @ w.data.T)
            lines = [f"<B>{_esc(xw)}</B>", f'<FONT POINT-SIZE="9" COLOR="#555555">'
                     f"{part.shape} {part.dtype}</FONT>"]
            if show_data:
                lines.append(_esc(f"data {_value(part)}").replace("\n", "<BR/>"))
            if show_grad and t.grad is not None:  # add passes the gradient through unchanged
                lines.append(f'<FONT COLOR="{_GRAD}">{_esc("grad " + _value(t.grad))}</FONT>')
            place(module_path, t=t, line=_node_line(f"{tid}mm", {
                "label": "<" + "<BR/>".join(lines) + ">", "shape": "box",
                "style": "rounded,filled", "fillcolor": _KINDS["inner"][0]}))
            place(module_path, t=t, line=_node_line(f"op{tid[1:]}mm", {
                "label": "matmul", "shape": "ellipse", "style": "filled",
                "fillcolor": _OP_FILL, "fontsize": "10", "height": "0.3"}))
            g.edge(f"op{tid[1:]}mm", f"{tid}mm")
            inputs = [(x, f"op{tid[1:]}mm", ""), (w, f"op{tid[1:]}mm", "T"),
                      (f"{tid}mm", op_id, ""), (b, op_id, "")]
        else:
            inputs = [(p, op_id, "") for p in inputs]
        place(module_path, _node_line(op_id, op_attrs), t)
        g.edge(op_id, tid)
        for p, target, edge_label in inputs:
            extra = {"label": edge_label, "fontsize": "9"} if edge_label else {}
            if isinstance(p, str):
                g.edge(p, target, **extra)
            elif id(p) not in ids:  # beyond max_nodes
                g.node(f"{target}_rest", "...", shape="plaintext", fontcolor="#888888")
                g.edge(f"{target}_rest", target, style="dashed")
            elif (len(consumers[id(p)]) > FAN_OUT and consumers[id(p)][0] is not t
                  or band and band[id(p)] != band[id(t)]):
                # a copy beside this consumer (or at the start of the next band of a
                # wrapped graph): no long edge for Graphviz to route
                copy = copies.get((id(p), target))
                if copy is None:
                    copy = copies[id(p), target] = f"r{len(copies) + 1}"
                    place(None, _node_line(copy, {
                        "label": f"<{_esc(_clip(text_names[id(p)]) or '(repeated)')}>",
                        "shape": "box", "style": "rounded,filled,dashed", "fontsize": "10",
                        "fillcolor": _KINDS[roles[id(p)]][0], "height": "0.25"}), t)
                g.edge(copy, target, **extra)
            else:
                g.edge(ids[id(p)], target, **extra)
    if total > len(nodes):
        g.node("rest", f"... {total - len(nodes):,} more tensors not drawn\n"
                       f"(max_nodes={max_nodes})", shape="note", fillcolor="#fff6d5",
               style="filled")
    g.body += _clusters(clusters)
    # An invisible box per band. Bands share no edge, so Graphviz places them in the
    # order declared: left to right in TB, which is bottom to top in LR.
    bands = []
    for k in sorted(wrapped, reverse=rankdir == "LR"):
        bands.append(f"\tsubgraph cluster_band{k} {{\n\t\tstyle=invis\n")
        bands += [f"\t\t{line}\n" for line in wrapped[k]]
        bands.append("\t}\n")
    g.body[0:0] = bands
    if legend:
        g.graph_attr.update(label=_legend({roles[id(t)] for t in nodes},
                                          any(t._ctx is not None for t in nodes), show_grad,
                                          bool(copies)),
                            labelloc="b", labeljust="c", fontsize="12")
    return g


def _legend(kinds: set[str], has_ops: bool, show_grad: bool, repeats: bool) -> str:
    """An HTML-like Graphviz label: one swatch per kind of node present."""
    cells = [f'<TD BGCOLOR="{fill}" BORDER="{2 if k == "param" else 1}" STYLE="rounded"> '
             f"{text} </TD>" for k, (fill, text) in _KINDS.items() if k in kinds]
    if has_ops:
        cells.append(f'<TD BGCOLOR="{_OP_FILL}" BORDER="1" STYLE="rounded"> op </TD>')
    if repeats:
        cells.append('<TD BORDER="0"><FONT COLOR="#555555">dashed name: a Tensor drawn '
                     "again</FONT></TD>")
    if show_grad:
        cells.append(f'<TD BORDER="0"><FONT COLOR="{_GRAD}">grad = dL/d(node)</FONT></TD>')
    return ('<<TABLE BORDER="0" CELLSPACING="6" CELLPADDING="3"><TR>'
            '<TD BORDER="0"><FONT POINT-SIZE="12">legend:</FONT></TD>'
            + "".join(cells) + "</TR></TABLE>>")


def _node_line(node_id: str, attrs: dict[str, str]) -> str:
    parts = [f"{k}={v}" if k == "label" else f'{k}="{v}"' for k, v in attrs.items()]
    return f"{node_id} [{' '.join(parts)}]"


def _clusters(clusters: dict[str, list[str]]) -> list[str]:
    """One cluster per module path, nested by path ('layers.1' inside 'layers' when
    'layers' is itself a module), as DOT lines."""
    inside: dict[str | None, list[str]] = {}
    for p in clusters:
        parts = p.split(".")
        parents = [".".join(parts[:k]) for k in range(len(parts) - 1, 0, -1)]
        inside.setdefault(next((q for q in parents if q in clusters), None), []).append(p)
    lines: list[str] = []
    stack: list[tuple[str, int]] = [(p, 1) for p in reversed(inside.get(None, []))]
    while stack:  # depth first, iteratively; a negative depth closes a cluster
        p, depth = stack.pop()
        tab = "\t" * abs(depth)
        if depth < 0:
            lines.append(f"{tab}}}\n")
            continue
        lines.append(f"{tab}subgraph cluster_{p.replace('.', '_')} {{\n{tab}\tgraph ["
                     f'label="{p}" style="rounded,dashed" color="#8888aa" fontsize=10]\n')
        lines += [f"{tab}\t{line}\n" for line in clusters[p]]
        stack.append((p, -depth))
        stack += [(q, depth + 1) for q in reversed(inside.get(p, []))]
    return lines


def _quote(value: Any) -> str:
    """A DOT attribute value: as is when it is a name, a number or an HTML-like label."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z_]\w*|-?(\d+\.?\d*|\.\d+)", text) or (
            text.startswith("<") and text.endswith(">")):
        return text
    return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'


class _Dot:
    """DOT source, line by line: the few ``graphviz.Digraph`` calls drawing makes,
    so that DOT files and step frames need no graphviz package."""

    node_attr = {"fontname": "Helvetica", "fontsize": "11"}
    edge_attr = {"color": "#666666", "arrowsize": "0.7"}

    def __init__(self, graph_attr: dict[str, str]) -> None:
        self.graph_attr = graph_attr
        self.body: list[str] = []

    def node(self, name: str, label: str, **attrs: str) -> None:
        self.body.append(f"\t{name} [{_attrs({'label': label, **attrs})}]\n")

    def edge(self, tail: str, head: str, **attrs: str) -> None:
        self.body.append(f"\t{tail} -> {head}" + (f" [{_attrs(attrs)}]" if attrs else "") + "\n")

    @property
    def source(self) -> str:
        head = [f"\t{kind} [{_attrs(attrs)}]\n" for kind, attrs in (
            ("graph", self.graph_attr), ("node", self.node_attr), ("edge", self.edge_attr))]
        return "digraph minigrad {\n" + "".join(head + self.body) + "}\n"


def _attrs(attrs: dict[str, Any]) -> str:
    return " ".join(f"{k}={_quote(v)}" for k, v in attrs.items())


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


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>minigrad: backward, step by step</title>
<style>
html, body {{ height: 100%; margin: 0; }}
body {{ font-family: Helvetica, Arial, sans-serif; color: #222; display: flex;
        flex-direction: column; }}
header {{ padding: 10px 16px 6px; border-bottom: 1px solid #ddd; }}
h2 {{ margin: 0 0 6px; font-size: 20px; }}
.bar {{ display: flex; gap: 12px; align-items: center; flex-wrap: wrap; font-size: 15px; }}
button {{ font-size: 15px; padding: 4px 14px; }}
.legend span.k {{ display: inline-block; padding: 1px 8px; margin: 0 2px; border: 1px solid #333;
                 border-radius: 6px; font-size: 13px; }}
main {{ flex: 1; display: flex; min-height: 0; }}
#view {{ flex: 1; overflow: auto; position: relative; }}
#text {{ width: 34em; max-width: 40%; overflow: auto; border-left: 1px solid #ddd;
         background: #f8f8f8; }}
#text pre {{ margin: 0; padding: 12px; font-size: 15px; white-space: pre-wrap; }}
main.column {{ flex-direction: column; }}
main.column #view {{ flex: none; }}
main.column #text {{ flex: 1; width: auto; max-width: none; border-left: none;
                    border-top: 1px solid #ddd; }}
main.column #text pre {{ font-size: 18px; }}
.frame {{ display: none; }}
.frame.current {{ display: block; }}
.graph svg {{ display: block; margin: 0 auto; }}
</style></head>
<body>
<header>
<h2>Backward pass of {title}, one step at a time</h2>
<div class="bar"><button id="prev">&larr; previous</button>
<span id="counter">step 1 of {n}</span><button id="next">next &rarr;</button>
<button id="zoomout" title="zoom out">&minus;</button><button id="zoomin"
title="zoom in">+</button>
<span style="color:#777">(arrow keys; + and &minus; zoom)</span></div>
<div class="legend" style="font-size:13px;color:#444;margin-top:6px">{legend}</div>
</header>
<main><div id="view">{graphs}</div><div id="text">{texts}</div></main>
<script>
(function () {{
  var graphs = document.querySelectorAll('#view .frame'),
      texts = document.querySelectorAll('#text .frame'), view = document.getElementById('view'),
      k = 0, zoom = 1;
  var main = document.querySelector('main'), text = document.getElementById('text');
  function size(i) {{
    // natural size, grown to fill the space (never shrunk: text stays readable); the
    // step's text goes beside a tall graph and below a wide one, so no space is left empty
    var svg = graphs[i].querySelector('svg');
    if (!svg) return;
    var w = parseFloat(svg.getAttribute('data-w')), h = parseFloat(svg.getAttribute('data-h'));
    var W = main.clientWidth - 16, H = main.clientHeight - 16, side = Math.min(W * 0.4, 560);
    var row = Math.min((W - side) / w, H / h), column = Math.min(W / w, (H - 200) / h);
    var fit = Math.max(row, column);
    var s = Math.max(1, Math.min(fit, 2)) * zoom;
    var wide = column > row;
    main.classList.toggle('column', wide);
    view.style.height = wide ? Math.min(h * s + 16, H - 150) + 'px' : '';
    svg.setAttribute('width', (w * s) + 'px');
    svg.setAttribute('height', (h * s) + 'px');
  }}
  function show(i) {{
    k = Math.max(0, Math.min(graphs.length - 1, i));
    for (var j = 0; j < graphs.length; j++) {{
      graphs[j].classList.toggle('current', j === k);
      texts[j].classList.toggle('current', j === k);
    }}
    size(k);
    var node = graphs[k].querySelector('.current');  // the node of this step: on screen
    if (node) {{
      var r = node.getBoundingClientRect(), v = view.getBoundingClientRect();
      view.scrollLeft += (r.left + r.width / 2) - (v.left + v.width / 2);
      view.scrollTop += (r.top + r.height / 2) - (v.top + v.height / 2);
      r = node.getBoundingClientRect();
      var inside = r.left >= v.left - 1 && r.right <= v.right + 1 && r.top >= v.top - 1 &&
                   r.bottom <= v.bottom + 1;
      document.body.setAttribute('data-node-visible', inside ? 'yes' : 'no');
    }}
    document.getElementById('counter').textContent = 'step ' + (k + 1) + ' of ' + graphs.length;
    document.body.setAttribute('data-step', String(k + 1));
  }}
  document.getElementById('prev').onclick = function () {{ show(k - 1); }};
  document.getElementById('next').onclick = function () {{ show(k + 1); }};
  document.getElementById('zoomin').onclick = function () {{ zoom *= 1.25; show(k); }};
  document.getElementById('zoomout').onclick = function () {{ zoom /= 1.25; show(k); }};
  window.addEventListener('resize', function () {{ show(k); }});
  document.addEventListener('keydown', function (e) {{
    if (e.key === 'ArrowLeft') show(k - 1);
    if (e.key === 'ArrowRight') show(k + 1);
    if (e.key === '+' || e.key === '=') {{ zoom *= 1.25; show(k); }}
    if (e.key === '-') {{ zoom /= 1.25; show(k); }}
  }});
  var start = parseInt((location.hash || '#1').slice(1), 10);
  show(isNaN(start) ? 0 : start - 1);
  document.body.setAttribute('data-ready', 'yes');
}})();
</script></body></html>
"""


def _page_svg(image: str) -> str:
    """Graphviz's SVG without the XML prologue, its size in pt kept as data-w / data-h
    (the page sets width and height in px)."""
    image = image[image.index("<svg"):]
    head, rest = image.split(">", 1)
    width = head.split('width="', 1)[1].split('"', 1)[0].removesuffix("pt")
    height = head.split('height="', 1)[1].split('"', 1)[0].removesuffix("pt")
    scale = 4 / 3  # pt -> CSS px: node text at 11 pt shows at about 15 px
    head = head.replace(f'width="{width}pt"', f'width="{float(width) * scale:.0f}px"')
    head = head.replace(f'height="{height}pt"', f'height="{float(height) * scale:.0f}px"')
    return (f'{head} data-w="{float(width) * scale:.0f}" data-h="{float(height) * scale:.0f}">'
            f"{rest}")


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
