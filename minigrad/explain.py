"""The backward pass, one node at a time: ``backward_steps`` and ``explain``.

``backward_steps(root)`` replays what ``engine.backward`` does -- the same
topological order, the same calls to each node's ``Function.backward``, the
same ``unbroadcast`` and the same accumulation when a Tensor is used more than
once -- but records every step instead of writing ``.grad``. It runs under
``no_grad``, frees nothing and touches no ``.grad``, so it can be called before
(or instead of) ``loss.backward()``, or after ``backward(retain_graph=True)``.

``explain(root)`` turns those steps into an :class:`Explanation`: it prints as
text, converts with ``str()``, and renders as Markdown with LaTeX in Jupyter.
``names=locals()`` names intermediates after your variables; ``expand_fused=True``
shows a fused op (``nn.Linear``'s ``affine``) as its parts. ``mg.viz`` re-exports both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from minigrad import engine
from minigrad.tensor import Tensor

__all__ = ["RULES", "Contribution", "Explanation", "Step", "backward_steps", "explain", "fmt",
           "format_step", "node_names", "variable_names"]

# Local derivative of each op, written with the names of its inputs: {x}, {y}
# (first / second input) and {out}. Ops not listed fall back to the first line
# of their Function's docstring, which by house style states the derivative.
RULES: dict[str, tuple[str, ...]] = {
    "add": ("d({px} + {py})/d{px} = 1", "d({px} + {py})/d{py} = 1"),
    "subtract": ("d({px} - {py})/d{px} = 1", "d({px} - {py})/d{py} = -1"),
    "multiply": ("d({px} * {py})/d{px} = {py}", "d({px} * {py})/d{py} = {px}"),
    "divide": ("d({px} / {py})/d{px} = 1 / {py}", "d({px} / {py})/d{py} = -{px} / {py}^2"),
    "negative": ("d(-{px})/d{px} = -1",),
    "power": ("d({px}^{py})/d{px} = {py} * {px}^({py} - 1)",
              "d({px}^{py})/d{py} = {px}^{py} * log({x})"),
    "abs": ("d|{x}|/d{px} = sign({x})   (0 at 0)",),
    "exp": ("d exp({x})/d{px} = exp({x})",),
    "log": ("d log({x})/d{px} = 1 / {px}",),
    "sqrt": ("d sqrt({x})/d{px} = 1 / (2 sqrt({x}))",),
    "sin": ("d sin({x})/d{px} = cos({x})",),
    "cos": ("d cos({x})/d{px} = -sin({x})",),
    "tanh": ("d tanh({x})/d{px} = 1 - tanh({x})^2",),
    "sigmoid": ("d sigmoid({x})/d{px} = sigmoid({x}) * (1 - sigmoid({x}))",),
    "relu": ("d relu({x})/d{px} = 1 where {px} > 0, else 0",),
    "sum": ("d sum({x})/d{px} = 1 for each element: the upstream gradient is copied back",),
    "mean": ("d mean({x})/d{px} = 1/N for each of the N averaged elements",),
    "matmul": ("d({px} @ {py})/d{px} = upstream @ {py}^T",
               "d({px} @ {py})/d{py} = {px}^T @ upstream"),
    "affine": ("d{pout}/d{px} = upstream @ {py}   ({out} = {px} @ {py}^T + {pz})",
               "d{pout}/d{py} = upstream^T @ {px}", "d{pout}/d{pz} = upstream summed over rows"),
    "transpose": ("d {px}^T/d{px}: the upstream gradient is transposed back",),
    "reshape": ("d reshape({x})/d{px}: the upstream gradient is reshaped back",),
}


def _p(name: str) -> str:
    """A name as an operand: parenthesized when it is itself an expression ('x * w')."""
    return name if re.fullmatch(r"[\w.\[\]]+", name) else f"({name})"


@dataclass
class Contribution:
    """What one step sends to one input: ``grad`` (already summed to the input's
    shape), and ``summed_axes`` / ``from_shape`` when broadcasting was undone."""

    input: Tensor
    name: str
    grad: np.ndarray
    from_shape: tuple[int, ...] | None = None
    summed_axes: tuple[int, ...] = ()

    @property
    def note(self) -> str:
        if self.from_shape is None:
            return ""
        return (f"{self.name} was broadcast from {self.input.shape} to {self.from_shape}, so the "
                f"gradient is summed over axes {self.summed_axes}")


@dataclass
class Step:
    """One node of the backward pass, in the order the engine visits it.

    Attributes: ``index`` (0 = the root), ``node`` (the Tensor), ``name``,
    ``op`` (``""`` for a leaf), ``upstream`` (d root / d node, the gradient that
    arrived), ``received`` (``(consumer name, gradient)`` for each consumer that
    sent a share; more than one means accumulation), ``rule`` (the local
    derivative as text), ``contributions`` (one :class:`Contribution` per input
    that needs a gradient).
    """

    index: int
    node: Tensor
    name: str
    op: str
    upstream: np.ndarray
    received: list[tuple[str, np.ndarray]] = field(default_factory=list)
    rule: str = ""
    contributions: list[Contribution] = field(default_factory=list)
    call: str = ""  # "matmul(x, weight^T)": set for the parts of an expanded fused op

    @property
    def is_leaf(self) -> bool:
        return self.node._ctx is None

    @property
    def accumulation(self) -> str:
        """'h is used twice: 0.3 + 0.2 = 0.5' when several consumers sent gradients."""
        if len(self.received) < 2:
            return ""
        times = {2: "twice", 3: "three times"}.get(len(self.received),
                                                   f"{len(self.received)} times")
        if self.upstream.size > 6:
            return (f"{self.name} is used {times}: the {len(self.received)} gradients of shape "
                    f"{self.upstream.shape} are added")
        parts = " + ".join(fmt(g) for _, g in self.received)
        return f"{self.name} is used {times}: {parts} = {fmt(self.upstream)}"

    def __repr__(self) -> str:
        return (f"Step({self.index}, {self.name!r}, op={self.op!r}, "
                f"upstream={fmt(self.upstream)})")


def fmt(a: Any, digits: int = 4) -> str:
    """A value as short text: scalars and arrays of up to 6 elements printed,
    larger ones summarized by shape, min, mean and max."""
    a = np.asarray(a)
    if a.size == 1:
        return f"{a.item():.{digits}g}" if a.dtype.kind in "fc" else str(a.item())
    if a.size <= 6:
        text = np.array2string(a, precision=digits, separator=", ", suppress_small=True,
                               max_line_width=10**6)
        return text.replace("\n", "")
    if a.dtype.kind not in "fiub":
        return f"array of shape {a.shape}"
    return (f"shape {a.shape}: min {a.min():.{digits}g}, mean {a.mean():.{digits}g}, "
            f"max {a.max():.{digits}g}")


def node_names(root: Tensor, params: dict[str, Tensor] | None = None) -> dict[int, str]:
    """A readable name for every Tensor reachable from ``root``, keyed by ``id``.

    ``t.name`` when set, else its name in ``params`` (e.g. ``layers.0.weight``),
    else the value of a one-element constant, else ``<op>_<k>`` for op outputs
    and ``leaf_<k>`` / ``const_<k>`` for leaves, numbered in forward order.
    """
    by_id = {id(t): n for n, t in (params or {}).items()}
    order = _all_nodes(root)
    names: dict[int, str] = {}
    counters: dict[str, int] = {}
    for t in reversed(order):  # forward order: inputs first, so numbers read naturally
        if t.name:
            names[id(t)] = t.name
        elif id(t) in by_id:
            names[id(t)] = by_id[id(t)]
        elif t._ctx is None and not t.requires_grad and t.size == 1:
            names[id(t)] = fmt(t.data)
        else:
            kind = t.op or ("leaf" if t.requires_grad else "const")
            counters[kind] = counters.get(kind, 0) + 1
            names[id(t)] = f"{kind}_{counters[kind]}"
    return names


def variable_names(names: dict[str, Any] | None) -> dict[str, Tensor]:
    """The Tensors among ``names`` (pass ``locals()``), keyed by variable name.

    An ``mg.nn.Module`` among them adds its parameters, named by path
    (``net.layers.0.weight``). Names starting with ``_`` (IPython's ``_``, ``_1``)
    are skipped; a Tensor bound to several names keeps the first.

    >>> import minigrad as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> h = x * 3
    >>> sorted(variable_names({"x": x, "h": h, "k": 3, "_": h}))
    ['h', 'x']
    """
    from minigrad.nn import Module

    found: dict[str, Tensor] = {}
    seen: set[int] = set()
    for key, value in (names or {}).items():
        if not isinstance(key, str) or key.startswith("_"):
            continue
        if isinstance(value, Tensor):
            pairs = [(key, value)]
        elif isinstance(value, Module):
            pairs = [(f"{key}.{n}", t) for n, t in value.named_parameters()]
        else:
            continue
        for n, t in pairs:
            if id(t) not in seen:
                seen.add(id(t))
                found[n] = t
    return found


def _all_nodes(root: Tensor) -> list[Tensor]:
    """Every Tensor reachable from root (constants included), root first; iterative."""
    seen = {id(root)}
    order, stack = [], [root]
    while stack:
        t = stack.pop()
        order.append(t)
        for p in t.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return order


def _rule_text(fn: Any, names: list[str], out: str) -> str:
    templates = RULES.get(fn.op)
    slots = dict(zip("xyz", names, strict=False)) | {"out": out}
    slots |= {f"p{k}": _p(v) for k, v in slots.items()}
    if templates is not None and len(templates) == len(names):
        try:  # only the inputs that need a gradient
            return ",   ".join(t.format(**slots) for t, needed
                               in zip(templates, fn.needs_input_grad, strict=True) if needed)
        except (KeyError, IndexError):
            pass
    doc = (type(fn).__doc__ or "").strip().splitlines()
    if not doc:
        return f"{fn.op}: (no rule written; its Function.backward is used as is)"
    line = doc[0]
    for key in ("x", "y", "z", "out"):  # x -> the input's name, out -> the output's name
        if key in slots:
            line = re.sub(rf"\b{key}\b", lambda m, k=key: slots[f"p{k}"], line)
    return line


def backward_steps(root: Tensor, gradient: Any = None,
                   params: dict[str, Tensor] | None = None) -> list[Step]:
    """The backward pass from ``root`` as a list of :class:`Step`, one per node.

    Steps come in the order ``engine.backward`` runs them (root first, leaves
    last): this *is* the engine's walk (``engine.backward(..., observe=...)``),
    which calls each node's own ``Function.backward`` and frees nothing and
    writes no ``.grad`` when observed, so a graph already freed by
    ``backward()`` can still be explained. ``gradient`` seeds the root (default
    1 for a one-element root), checked as ``backward`` checks it.

    >>> import minigrad as mg
    >>> x = mg.tensor(3.0, requires_grad=True, name="x")
    >>> y = mg.tanh(x * x)
    >>> [s.op or "leaf" for s in backward_steps(y)]
    ['tanh', 'multiply', 'leaf']
    >>> x.grad is None
    True
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"backward_steps: root must be a minigrad Tensor, not "
                        f"{type(root).__name__}.")
    if not root.requires_grad:
        raise ValueError("backward_steps: the root does not require grad, so there is no "
                         "backward pass to explain. Create its inputs with requires_grad=True.")
    seed = engine.seed(root, gradient, "backward_steps")
    names = node_names(root, params)
    received: dict[int, list[tuple[str, np.ndarray]]] = {id(root): [("seed", seed.data)]}
    steps: list[Step] = []

    def observe(node: Tensor, grad: Tensor, parents: tuple, input_grads: tuple) -> None:
        # called by the engine's own walk for each tensor, in the order it runs them
        name = names.get(id(node)) or node.name or node.op or "leaf"
        parts = received.pop(id(node), [])
        step = Step(len(steps), node, name, node.op, np.asarray(grad.data),
                    parts if len(parts) > 1 else [])
        steps.append(step)
        fn = node._ctx
        if fn is None:
            step.rule = f"{name} is a leaf: the gradient is accumulated into {name}.grad"
            return
        input_names = [names.get(id(t)) or t.name or t.op or "leaf" for t in parents]
        step.rule = _rule_text(fn, input_names, name)
        if fn.op == "mean":
            step.rule += f" (here N = {parents[0].size // max(node.size, 1)})"
        for i, (t, g) in enumerate(zip(parents, input_grads, strict=False)):
            if g is None or not fn.needs_input_grad[i]:
                continue
            raw = g if isinstance(g, Tensor) else Tensor._make(np.asarray(g))
            array = np.asarray(engine._conform(raw, t, fn.op, i).data)  # what the walk sends
            c = Contribution(t, input_names[i], array)
            if raw.shape != t.shape:
                c.from_shape = raw.shape
                c.summed_axes = engine.summed_axes(raw.shape, t.shape)
            step.contributions.append(c)
            received.setdefault(id(t), []).append((name, array))

    # the engine's walk in looking mode: nothing freed, no .grad written, and the same
    # in-place checks (a tensor changed since forward raises as backward() would)
    engine.backward([root], [seed], observe=observe)
    return steps


def _product(step: Step, c: Contribution) -> str:
    """'1 * 0.5 = 0.5' for scalar steps (local = contribution / upstream), else the value."""
    up, g = step.upstream, c.grad
    if up.size == 1 and g.size == 1 and c.from_shape is None and up.item() != 0:
        local = fmt(g.item() / up.item())
        local = f"({local})" if local.startswith("-") else local
        return f"{fmt(up)} * {local} = {fmt(g)}"
    return fmt(g) if g.size <= 6 else f"({fmt(g)})"


class Explanation:
    """The backward pass as chain-rule steps, returned by :func:`explain`.

    ``print(e)`` and ``str(e)`` give plain text (the REPL shows it too); Jupyter
    renders ``e`` as Markdown with LaTeX; ``e.text`` and ``e.markdown`` are the two
    strings and ``e.steps`` the :class:`Step` objects.
    """

    def __init__(self, steps: list[Step], names: dict[int, str], format: str = "text") -> None:
        self.steps = steps
        self.names = names
        self.format = format

    @property
    def text(self) -> str:
        lines = [f"Backward pass for L = {self.steps[0].name}: {len(self.steps)} steps, "
                 "in the order the engine runs them"]
        for s in self.steps:
            lines += ["", format_step(s, self.names)]
        return "\n".join(lines)

    @property
    def markdown(self) -> str:
        return _markdown(self.steps, self.names)

    def __str__(self) -> str:
        return self.markdown if self.format == "markdown" else self.text

    def __repr__(self) -> str:  # the REPL shows the explanation itself, not a quoted string
        return str(self)

    def _repr_markdown_(self) -> str:
        return self.markdown


def explain(root: Tensor, format: str = "text", gradient: Any = None,
            params: dict[str, Tensor] | None = None, *, names: dict[str, Any] | None = None,
            expand_fused: bool = False) -> Explanation:
    """The backward pass from ``root`` as readable chain-rule steps.

    Returns an :class:`Explanation`: it prints as plain text, converts with
    ``str()``, and renders as Markdown with LaTeX in Jupyter (``format="markdown"``
    makes ``str()`` give the Markdown too). Numbers are shown for small tensors,
    shape / min / mean / max for large ones.

    ``names=locals()`` names each Tensor after the variable that holds it (a
    Tensor's own ``.name`` comes first; an ``mg.nn.Module`` names its parameters).
    ``params`` maps more names to Tensors. ``expand_fused=True`` shows a fused op
    (``nn.Linear``'s ``affine``) as its parts, ``matmul`` then ``add``; by default
    steps are exactly those the engine runs.

    Works before ``backward()``, after ``backward(retain_graph=True)`` or
    :func:`~minigrad.viz.trace`, and after a plain ``backward()`` as long as the
    graph still holds the values it needs.

    >>> import minigrad as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> y = x * x
    >>> print(explain(y, names=locals()))
    Backward pass for L = y: 2 steps, in the order the engine runs them
    <BLANKLINE>
    Step 1: y = multiply(x, x)
      upstream  dL/dy = 1   (the seed: dL/dL = 1)
      rule      d(x * x)/dx = x,   d(x * x)/dx = x
      to x: dL/dy * dy/dx = 1 * 2 = 2
      to x: dL/dy * dy/dx = 1 * 2 = 2
    <BLANKLINE>
    Step 2: x (leaf)
      upstream  dL/dx = 4
      sum       x is used twice: 2 + 2 = 4
      rule      x is a leaf: the gradient is accumulated into x.grad
    """
    if format not in ("text", "markdown"):
        raise ValueError(f"explain: format must be 'text' or 'markdown', not {format!r}.")
    labels = {**(params or {}), **variable_names(names)}  # a variable's name wins
    steps = backward_steps(root, gradient=gradient, params=labels)
    names_by_id = node_names(root, labels)
    if expand_fused:
        steps = expand_fused_steps(steps, names_by_id)
    return Explanation(steps, names_by_id, format)


def expand_fused_steps(steps: list[Step], names: dict[int, str]) -> list[Step]:
    """``steps`` with each ``affine`` step (``nn.Linear``: x @ W^T + b) replaced by
    its parts: the ``add`` of the bias, then the ``matmul``. The gradients are the
    fused step's own; the product x @ W^T is recomputed for display."""
    out: list[Step] = []
    for s in steps:
        if s.op != "affine" or len(s.node.parents) not in (2, 3):
            out.append(replace(s, index=len(out)))
            continue
        x, w, *bias = s.node.parents
        nx, nw = names[id(x)], names[id(w)]
        sent = {id(c.input): c for c in s.contributions}
        if bias:
            nb = names[id(bias[0])]
            product = Tensor._make(x.data @ w.data.T, requires_grad=True)
            product.name = names[id(product)] = f"{_p(nx)} @ {_p(nw)}^T"
            np_ = _p(product.name)
            add = replace(s, index=len(out), op="add", call=f"add({product.name}, {nb})",
                          rule=RULES["add"][0].format(px=np_, py=_p(nb)),
                          contributions=[Contribution(product, product.name, s.upstream)])
            if id(bias[0]) in sent:
                add.rule += ",   " + RULES["add"][1].format(px=np_, py=_p(nb))
                add.contributions.append(replace(
                    sent[id(bias[0])], from_shape=s.upstream.shape,
                    summed_axes=tuple(range(s.upstream.ndim - 1))))
            out.append(add)
            node, name, received = product, product.name, []
        else:
            node, name, received = s.node, s.name, s.received
        rules = {id(x): f"d({nx} @ {nw}^T)/d{_p(nx)} = upstream @ {nw}",
                 id(w): f"d({nx} @ {nw}^T)/d{_p(nw)} = upstream^T @ {nx}"}
        parts = [sent[k] for k in (id(x), id(w)) if k in sent]
        out.append(Step(len(out), node, name, "matmul", s.upstream, received,
                        ",   ".join(rules[id(c.input)] for c in parts), parts,
                        call=f"matmul({nx}, {nw}^T)"))
    return out


def _call(s: Step, names: dict[int, str]) -> str:
    return s.call or f"{s.op}({', '.join(names[id(t)] for t in s.node.parents)})"


def format_step(s: Step, names: dict[int, str]) -> str:
    """One step of :func:`explain`'s text (``names`` from :func:`node_names`)."""
    if s.is_leaf and not s.call:
        lines = [f"Step {s.index + 1}: {s.name} (leaf)"]
    else:
        call = _call(s, names)
        lines = [f"Step {s.index + 1}: {s.name}" + ("" if s.name == call else f" = {call}")]
    seed = "   (the seed: dL/dL = 1)" if s.index == 0 else ""
    lines.append(f"  upstream  dL/d{_p(s.name)} = {fmt(s.upstream)}{seed}")
    if s.accumulation:
        lines.append(f"  sum       {s.accumulation}")
    lines.append(f"  rule      {s.rule}")
    for c in s.contributions:
        n, i = _p(s.name), _p(c.name)
        lines.append(f"  to {c.name}: dL/d{n} * d{n}/d{i} = {_product(s, c)}")
        if c.note:
            lines.append(f"      ({c.note})")
    return "\n".join(lines)


_TEX_ESCAPES = str.maketrans({c: "\\" + c for c in "_{}#$%&"} | {"\\": r"\backslash "})


def _tex(name: str) -> str:
    """A name inside LaTeX math: upright, special characters escaped."""
    return r"\mathrm{" + name.translate(_TEX_ESCAPES) + "}"


def _markdown(steps: list[Step], names: dict[int, str]) -> str:
    top = _tex(steps[0].name)
    out = [f"**Backward pass for $L = {top}$**: {len(steps)} steps, in the order the engine "
           "runs them.", ""]
    for s in steps:
        n = _tex(s.name)
        leaf, call = s.is_leaf and not s.call, _call(s, names)
        head = f"`{s.name}`" + (" (leaf)" if leaf else "")
        if not leaf and s.name != call:
            head = f"`{s.name} = {call}`"
        out.append(f"{s.index + 1}. {head}")
        seed = r" \quad (\text{the seed})" if s.index == 0 else ""
        out.append(rf"   - upstream: $\dfrac{{\partial L}}{{\partial {n}}} = {fmt(s.upstream)}"
                   rf"{seed}$")
        if s.accumulation:
            out.append(f"   - sum: {s.accumulation}")
        out.append(f"   - rule: `{s.rule}`")
        for c in s.contributions:
            cn = _tex(c.name)
            value = _product(s, c).replace("*", r"\cdot")
            out.append(rf"   - to `{c.name}`: $\dfrac{{\partial L}}{{\partial {n}}}"
                       rf"\dfrac{{\partial {n}}}{{\partial {cn}}} = {value}$"
                       + (f" ({c.note})" if c.note else ""))
    return "\n".join(out)
