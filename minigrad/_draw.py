"""How ``mg.viz`` draws: a graph as DOT source, laid out to fit a slide.

``viz.py`` is the part you call; this module holds what it draws with: the
kinds of node and their colours, value summaries, a Tensor used by many ops
drawn again beside each one (long edges are what make Graphviz slow),
``rankdir="auto"`` (the direction, and the bands a long graph wraps into, that
let the picture be drawn largest on a 16:9 slide), the legend, and the DOT text
itself -- written line by line, so no graphviz package is needed for it. Also
the step-through page's HTML template.
"""

from __future__ import annotations

import html
import re
import weakref
from collections.abc import Callable
from typing import Any

from minigrad.explain import _p, fmt, node_names, variable_names
from minigrad.tensor import Tensor

FAN_OUT = 4  # a Tensor used by more ops than this is drawn again beside each consumer
_KINDS = {"input": ("#cfe2fa", "input"), "param": ("#fde7b0", "parameter"),
          "const": ("#f0f0f0", "constant"), "inner": ("#ffffff", "intermediate"),
          "root": ("#d4efd4", "output")}
_OP_FILL = "#e8e8f4"
_GRAD = "#b00000"
_MODULE_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Function -> module path



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


