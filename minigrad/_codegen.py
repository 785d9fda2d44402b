"""mg.compile's code generator: the traced graph as NumPy source, and the passes
that make it short.

A trace (compiler.py) is a list of :class:`Node` s, one per primitive, each
writing one :class:`Value`. Every node carries its NumPy spelling, fixed at
trace time: shapes, axes and dtypes are already numbers in the text
(``np.sum(d_add, axis=0)``), so the passes below can compare nodes by text.

The passes, each small and switched off by ``optimize=False``:

* :func:`simplify` -- ``x * 1``, ``x + 0``, ``x - 0``, ``x / 1``, ``-(-x)`` become ``x``
  (only where that keeps the shape and dtype);
* :func:`merge_common` -- two nodes with the same text and inputs compute the same
  value: the second is dropped (common subexpressions);
* :func:`drop_dead` -- nodes whose value nothing uses are dropped (always on: the
  gradient of an input that does not require grad is never asked for anyway);
* :func:`drop_broadcasts` -- ``np.broadcast_to(s, shape)`` feeding only elementwise
  lines of that shape is dropped: they broadcast ``s`` themselves;
* :func:`reuse_buffers` -- an elementwise NumPy ufunc writes into an input's
  array (``out=``) when that array was made inside the function, has the
  output's shape and dtype, is not a view, is not saved for backward or
  returned, and is not used after this line.
"""

from __future__ import annotations

import builtins
import keyword
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(eq=False)
class Value:
    """One array of the generated code: an input, a constant or a node's result."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    kind: str  # "input", "seed", "const", "literal", "op"
    text: str = ""  # how it is written: the name, or a literal such as 2.0
    node: Node | None = None
    view: bool = False  # may share memory with another array (never written into)
    typed: str = ""  # a literal with its NumPy type: np.float32(0.5)
    grad_of: Value | None = None  # the forward value this is the gradient of (its name)

    def __post_init__(self) -> None:
        self.text = self.text or self.name


@dataclass(eq=False)
class Node:
    """``out = <fmt with {0}, {1}, ... the inputs>`` (or a block of statements
    writing ``{out}`` when ``stmt``), in the forward or the backward function."""

    out: Value
    op: str  # the eager Function's class name, or a pseudo-op ("unbroadcast", ...)
    fmt: str
    args: list[Value]
    section: str  # "forward" or "backward"
    ufunc: str | None = None  # "np.add": may be written with out= (reuse_buffers)
    stmt: bool = False
    comment: list = field(default_factory=list)  # block comments above this line (see note)
    buffer: Value | None = None  # set by reuse_buffers

    def key(self) -> tuple:
        return (self.fmt, self.stmt, self.section, *map(id, self.args))


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

_RESERVED = {"np", "saved"} | set(dir(builtins))


class Names:
    """Unique Python identifiers: ``matmul``, ``matmul_2``, ...; builtins and keywords
    get a trailing underscore (``sum_``)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def make(self, hint: str) -> str:
        if not hint:  # a temporary: t1, t2, ...
            self.counts["t"] = self.counts.get("t", 0) + 1
            while f"t{self.counts['t']}" in self.counts:
                self.counts["t"] += 1
            return f"t{self.counts['t']}"
        base = hint if hint.isidentifier() else \
            "".join(c if c.isalnum() or c == "_" else "_" for c in hint) or "t"
        if base[0].isdigit():
            base = "t" + base
        if keyword.iskeyword(base) or base in _RESERVED:
            base += "_"
        count = self.counts.get(base, 0) + 1
        self.counts[base] = count
        join = "" if base.endswith("_") else "_"
        name = base if count == 1 else f"{base}{join}{count}"
        while name in self.counts and name != base:
            count += 1
            self.counts[base] = count
            name = f"{base}{join}{count}"
        self.counts.setdefault(name, 1)
        return name


# ---------------------------------------------------------------------------
# The table: each op class's NumPy spelling
# ---------------------------------------------------------------------------

# Elementwise ops that are a NumPy ufunc: (ufunc, expression). {0}, {1}: inputs.
UFUNCS: dict[str, tuple[str, str]] = {
    "Add": ("np.add", "{0} + {1}"),
    "Subtract": ("np.subtract", "{0} - {1}"),
    "Multiply": ("np.multiply", "{0} * {1}"),
    "Divide": ("np.divide", "{0} / {1}"),
    "Power": ("np.power", "{0} ** {1}"),
    "Negative": ("np.negative", "-{0}"),
    "Abs": ("np.abs", "np.abs({0})"),
    "Exp": ("np.exp", "np.exp({0})"),
    "Log": ("np.log", "np.log({0})"),
    "Sqrt": ("np.sqrt", "np.sqrt({0})"),
    "Sin": ("np.sin", "np.sin({0})"),
    "Cos": ("np.cos", "np.cos({0})"),
    "Tanh": ("np.tanh", "np.tanh({0})"),
    "Maximum": ("np.maximum", "np.maximum({0}, {1})"),
    "Minimum": ("np.minimum", "np.minimum({0}, {1})"),
    "Log1p": ("np.log1p", "np.log1p({0})"),
    "Expm1": ("np.expm1", "np.expm1({0})"),
    "Sign": ("np.sign", "np.sign({0})"),
}

# Compare (x < y, ...): one op, its ufunc a parameter
COMPARISONS = {"less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">=",
               "equal": "==", "not_equal": "!="}


def slot(i: int) -> str:
    """Where input ``i`` goes in a node's text: ``{0}``, ``{1}``, ..."""
    return "{" + str(i) + "}"


def axes_text(axes: Any) -> str:
    axes = tuple(axes)
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _axis_arg(fn: Any, x: Value, params: dict) -> str:
    """`, axis=...` as the eager op passed it to NumPy (None: nothing)."""
    if params.get("axis") is None or not x.shape:
        return ""
    return f", axis={axes_text(fn.axes)}"


def _keepdims(params: dict) -> str:
    return ", keepdims=True" if params.get("keepdims") else ""


def spell(fn: Any, args: list[Value], params: dict, out: Value,
          literal: Any) -> tuple[str, bool, str | None, bool] | None:
    """(fmt, stmt, ufunc, view) for one traced op, or None when the table has no entry.

    ``literal(x)`` writes a static parameter (a number, a shape, an index array)."""
    op = type(fn).__name__
    if not type(fn).__module__.startswith("minigrad"):
        return None
    if op in UFUNCS:
        ufunc, expr = UFUNCS[op]
        return expr, False, ufunc, False
    x = args[0] if args else None
    if op == "Relu":
        return "np.maximum({0}, 0)", False, "np.maximum", False
    if op == "Sigmoid":
        return "np.exp(-np.logaddexp(0, -{0}))", False, None, False
    if op == "Astype":
        return f"{{0}}.astype(np.{np.dtype(params['dtype']).name})", False, None, False
    if op == "Compare":
        name = params["ufunc"].__name__
        return "{0} " + COMPARISONS[name] + " {1}", False, None, False
    if op == "Where":
        return "np.where({2}, {0}, {1})", False, None, False
    if op == "Clip":
        return "np.clip({0}, {1}, {2})", False, None, False
    if op == "Cumsum":
        if params.get("axis") is None:
            return "np.cumsum({0}.reshape(-1), axis=0)", False, None, False
        return f"np.cumsum({{0}}, axis={params['axis']})", False, None, False
    if op in ("Sum", "Mean", "Prod", "Max", "Min"):
        name = op.lower()
        if x.kind != "literal":  # the method: no Python wrapper in between (faster)
            args_text = (_axis_arg(fn, x, params) + _keepdims(params)).lstrip(", ")
            return f"{{0}}.{name}({args_text})", False, None, False
        return f"np.{name}({{0}}{_axis_arg(fn, x, params)}{_keepdims(params)})", False, \
            None, False
    if op in ("Var", "Std"):
        ddof = f", ddof={params['ddof']}" if params.get("ddof") else ""
        return (f"np.{op.lower()}({{0}}{_axis_arg(fn, x, params)}{ddof}{_keepdims(params)})",
                False, None, False)
    if op == "Logsumexp":
        axis = _axis_arg(fn, x, params)
        end = "" if params.get("keepdims") else f".reshape({out.shape})"
        return (f"{{out}}_peak = np.max({{0}}{axis}, keepdims=True)\n"
                f"{{out}}_peak = np.where(np.isfinite({{out}}_peak), {{out}}_peak, 0)\n"
                f"{{out}} = (np.log(np.sum(np.exp({{0}} - {{out}}_peak){axis}, keepdims=True))"
                f" + {{out}}_peak){end}"), True, None, False
    if op in ("Softmax", "LogSoftmax"):
        axis = params.get("axis", -1)
        head = (f"{{out}}_peak = np.max({{0}}, axis={axis}, keepdims=True)\n"
                f"{{out}}_x = {{0}} - np.where(np.isfinite({{out}}_peak), {{out}}_peak, 0)\n")
        if op == "Softmax":
            return head + (f"{{out}}_x = np.exp({{out}}_x)\n"
                           f"{{out}} = {{out}}_x / np.sum({{out}}_x, axis={axis}, "
                           f"keepdims=True)"), True, None, False
        return head + (f"{{out}} = {{out}}_x - np.log(np.sum(np.exp({{out}}_x), axis={axis}, "
                       f"keepdims=True))"), True, None, False
    if op == "CrossEntropy":
        classes = literal(params["classes"])
        return (f"{{out}}_rows = np.arange({x.shape[0]})\n"
                "{out}_x = {0} - {0}.max(axis=1, keepdims=True)\n"
                f"{{out}} = np.log(np.exp({{out}}_x).sum(axis=1)) - {{out}}_x[{{out}}_rows, "
                f"{classes}]"), True, None, False
    if op == "Reshape":
        return f"{{0}}.reshape({tuple(out.shape)})", False, None, True
    if op == "Transpose":
        if params.get("axes") is None:
            return "{0}.T", False, None, True
        return f"np.transpose({{0}}, {params['axes']})", False, None, True
    if op == "Swapaxes":
        if len(x.shape) == 2 and {params['axis1'] % 2, params['axis2'] % 2} == {0, 1}:
            return "{0}.T", False, None, True
        return f"np.swapaxes({{0}}, {params['axis1']}, {params['axis2']})", False, None, True
    if op in ("Squeeze", "ExpandDims"):
        return f"{{0}}.reshape({tuple(out.shape)})", False, None, True
    if op == "BroadcastTo":
        return f"np.broadcast_to({{0}}, {tuple(params['shape'])})", False, None, True
    if op in ("Concatenate", "Stack"):
        parts = ", ".join(slot(i) for i in range(len(args)))
        return f"np.{op.lower()}([{parts}], axis={params['axis']})", False, None, False
    if op == "GetItem":
        return f"{{0}}[{index_text(params['index'], literal)}]", False, None, True
    if op == "ScatterAdd":
        index = params["index"]
        zeros = f"{{out}} = np.zeros({tuple(out.shape)}, np.{out.dtype.name})\n"
        if _has_array_index(index):  # repeated indices must add up: np.add.at
            return zeros + f"np.add.at({{out}}, {_at_index(index, literal)}, {{0}})", True, \
                None, False
        return zeros + f"{{out}}[{index_text(index, literal)}] = {{0}}", True, None, False
    if op == "Matmul":
        return "{0} @ {1}", False, None, False
    if op == "Outer":
        return "np.outer({0}, {1})", False, None, False
    if op == "Trace":
        return "np.trace({0})", False, None, False
    if op == "Diag":
        return "np.diag({0})", False, None, False
    if op == "Affine":
        return ("{0} @ {1}.T + {2}" if len(args) == 3 else "{0} @ {1}.T"), False, None, False
    return None


# Facts a forward keeps on ``self`` as NumPy for its backward rule (most rules
# compute them from Tensors instead): how to recompute them from the op's inputs
# on every call, so that they are not baked in from the traced data.
def state_spelling(fn: Any, attr: str, args: list[Value], params: dict,
                   literal: Any) -> str | None:
    """A statement block writing ``{out}`` = ``fn.<attr>``, or None if not known."""
    op = type(fn).__name__
    if op == "CrossEntropy" and attr == "onehot" and type(fn).__module__.startswith("minigrad"):
        x = args[0]
        return (f"{{out}} = np.zeros({x.shape}, np.{x.dtype.name})\n"
                f"{{out}}[np.arange({x.shape[0]}), {literal(params['classes'])}] = 1")
    return None


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "dtype") and p.dtype.kind in "iu" or isinstance(p, list)
               for p in parts)


def _at_index(index: Any, literal: Any) -> str:
    """np.add.at's index argument: a tuple expression (slices spelled slice(...))."""
    if not isinstance(index, tuple):
        return index_text(index, literal)
    parts = [f"slice({p.start}, {p.stop}, {p.step})" if isinstance(p, slice)
             else index_text(p, literal) for p in index]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def index_text(index: Any, literal: Any) -> str:
    """``x[...]``'s index as source: ``1:, 0``; arrays through ``literal``."""
    if isinstance(index, tuple):
        return ", ".join(index_text(i, literal) for i in index) if index else "()"
    if isinstance(index, slice):
        parts = ["" if p is None else str(p) for p in (index.start, index.stop, index.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")
    if index is None:
        return "None"
    if index is Ellipsis:
        return "..."
    if isinstance(index, (int, np.integer)):
        return str(int(index))
    return literal(index)


# ---------------------------------------------------------------------------
# Passes
# ---------------------------------------------------------------------------


def resolve(alias: dict[int, Value], value: Value) -> Value:
    """What a value was replaced by (following chains of replacements)."""
    while id(value) in alias:
        value = alias[id(value)]
    return value


def _is_literal(v: Value, number: float) -> bool:
    return v.kind == "literal" and v.text in (repr(float(number)), repr(int(number)))


def simplify(nodes: list[Node], outputs: list[Value],
             alias: dict[int, Value]) -> list[Node]:
    """x * 1, 1 * x, x / 1, x + 0, 0 + x, x - 0 and -(-x) become x (same shape and dtype).
    ``outputs`` are never replaced; ``alias`` collects what was (id(old) -> new)."""
    kept = []
    for node in nodes:
        if alias:
            node.args = [resolve(alias, a) for a in node.args]
        same = None
        a = node.args
        if node.op == "Multiply" and _is_literal(a[1], 1) or node.op in ("Add", "Subtract") \
                and _is_literal(a[1], 0) or node.op == "Divide" and _is_literal(a[1], 1):
            same = a[0]
        elif node.op in ("Multiply",) and _is_literal(a[0], 1) or node.op == "Add" and \
                _is_literal(a[0], 0):
            same = a[1]
        elif node.op == "Negative" and a[0].node is not None and a[0].node.op == "Negative":
            same = a[0].node.args[0]
        elif node.op == "Astype" and a[0].dtype == node.out.dtype and a[0].kind == "op":
            same = a[0]  # a copy nobody writes into
        if same is not None and same.shape == node.out.shape and same.dtype == node.out.dtype \
                and node.out not in outputs:
            alias[id(node.out)] = same
            continue
        kept.append(node)
    return kept


def merge_common(nodes: list[Node], outputs: list[Value],
                 alias: dict[int, Value]) -> list[Node]:
    """A node with the same text and the same inputs as an earlier one is dropped."""
    seen: dict[tuple, Value] = {}
    kept = []
    for node in nodes:
        if alias:
            node.args = [resolve(alias, a) for a in node.args]
        key = node.key()
        if key in seen and node.out not in outputs:
            alias[id(node.out)] = seen[key]
            continue
        seen.setdefault(key, node.out)
        kept.append(node)
    return kept


def drop_dead(nodes: list[Node], needed: list[Value]) -> list[Node]:
    """Only the nodes that the returned values (outputs, gradients) depend on."""
    live = {id(v) for v in needed}
    kept = []
    for node in reversed(nodes):
        if id(node.out) in live:
            kept.append(node)
            live.update(id(a) for a in node.args)
    kept.reverse()
    return kept


REUSE_MIN_SIZE = 256  # smaller arrays: a fresh one is cheaper than out= (keyword parsing)


def drop_broadcasts(nodes: list[Node], keep: set[int]) -> list[Node]:
    """``b = np.broadcast_to(s, shape)`` used only by elementwise lines that have
    another input of that shape: they broadcast ``s`` themselves (same values and
    shapes, no view to make)."""
    users: dict[int, list[Node]] = {}
    for node in nodes:
        for a in node.args:
            users.setdefault(id(a), []).append(node)
    kept = []
    for node in nodes:
        if (node.op == "BroadcastTo" and id(node.out) not in keep and users.get(id(node.out))
                and all((u.ufunc is not None or u.op == "Where") and not u.stmt
                        and any(a.shape == node.out.shape and a is not node.out
                                and a.kind != "literal" for a in u.args)
                        for u in users[id(node.out)])):
            for u in users[id(node.out)]:
                u.args = [node.args[0] if a is node.out else a for a in u.args]
            continue
        kept.append(node)
    return kept


def reuse_buffers(nodes: list[Node], keep: set[int]) -> None:
    """Write a ufunc's result into a dead input's array (``out=``); see the module doc.
    ``keep``: ids of values visible outside this function (saved, returned). A view
    (reshape, x.T, x[1:]) keeps the array it views alive as long as it is used."""
    root: dict[int, Value] = {}  # id(view) -> the array it views
    for node in nodes:
        if node.out.view and node.args:
            root[id(node.out)] = root.get(id(node.args[0]), node.args[0])
    last_use: dict[int, int] = {}
    kept = set(keep)
    for i, node in enumerate(nodes):
        for a in node.args:
            last_use[id(a)] = i
            last_use[id(root.get(id(a), a))] = i
    for value_id in keep:
        if value_id in root:
            kept.add(id(root[value_id]))
    for i, node in enumerate(nodes):
        if node.ufunc is None or node.out.dtype.kind != "f" or \
                math.prod(node.out.shape) < REUSE_MIN_SIZE:
            continue
        for a in node.args:
            if (a.kind == "op" and not a.view and id(a) not in kept and last_use[id(a)] == i
                    and a.shape == node.out.shape and a.dtype == node.out.dtype
                    and a.node is not None and a.node.section == node.section):
                node.buffer = a
                break


# ---------------------------------------------------------------------------
# Source
# ---------------------------------------------------------------------------


def render_node(node: Node) -> list[str]:
    if all(a.kind == "literal" for a in node.args):  # NumPy types, not Python's float math
        args = [a.typed or a.text for a in node.args]
    else:
        args = [a.text for a in node.args]
    lines = []
    for item in node.comment:
        lines.append("# " + note_text(item))
    if node.stmt:
        text = node.fmt.replace("{out}", node.out.name)
        lines.extend(_format(text, args).splitlines())
    elif node.buffer is not None:
        call = f"{node.ufunc}({', '.join(args)}, out={node.buffer.name})"
        if node.op == "Relu":
            call = f"np.maximum({args[0]}, 0, out={node.buffer.name})"
        lines.append(f"{node.out.name} = {call}")
    else:
        lines.append(f"{node.out.name} = {_format(node.fmt, args)}")
    return lines


def note_text(item: Any) -> str:
    """A block comment: ("rule", forward node, derivative) or ("unbroadcast", ...)."""
    if item[0] == "text":
        return item[1]
    if item[0] == "rule":
        _, node, derivative = item
        if node.stmt:
            line = f"{node.out.name} = {node.op.lower()}({', '.join(a.text for a in node.args)})"
        else:
            line = f"{node.out.name} = {_format(node.fmt, [a.text for a in node.args])}"
        return f"{line}:  {derivative}"
    _, value, shape, broadcast, axes = item
    return (f"unbroadcast: {value.name} {shape} was broadcast to {broadcast}: "
            f"sum over axes {axes}")


def _format(fmt: str, args: list[str]) -> str:
    # not str.format: dict literals and slices in the text have braces of their own
    for i in reversed(range(len(args))):
        fmt = fmt.replace(slot(i), args[i])
    return fmt


@dataclass
class Source:
    header: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.header + self.lines) + "\n"
