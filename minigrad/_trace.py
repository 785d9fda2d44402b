"""mg.compile's tracer: one call of ``fn`` recorded op by op, its backward walked the
engine's way, and the two turned into generated source (``compiler.py`` runs it,
``_codegen.py`` spells each op and simplifies).

While a trace runs, ``engine.tracer`` is :meth:`Trace.record`, and Tensor's
conversions to Python values raise :class:`TraceError` (``_guard_conversions``).
"""

from __future__ import annotations

import builtins
import functools
import inspect
import itertools
import linecache
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import _codegen as cg
from minigrad import engine
from minigrad.engine import Function, no_grad
from minigrad.tensor import Tensor

COMMENTED_LINES = 5000  # longer generated code gets no block comments

_local = threading.local()  # .trace: the Trace running in this thread, if any
_counter = itertools.count(1)


class TraceError(RuntimeError):
    """A traced function did something the generated code cannot repeat."""


class Trace:
    """One trace of ``fn``: the engine reports each op to :meth:`record`, which
    appends a :class:`_codegen.Node`; :meth:`walk_backward` adds the backward."""

    def __init__(self, compiled: Any, program: Any, leaves: Any, args: tuple,
                 kwargs: dict) -> None:
        self.compiled = compiled  # compiler.Compiled: its fn, name, optimize flag, traces
        self.fn = compiled.fn
        self.args, self.kwargs = args, kwargs
        self.program = program  # compiler.Program, filled in by run()
        self.nodes: list[cg.Node] = []
        self.values: dict[int, cg.Value] = {}  # id(Tensor) -> its Value
        self.arrays: dict[int, cg.Value] = {}  # id(ndarray) -> the Value holding it
        self.keep: list[Any] = []  # everything whose id is a key above stays alive
        self.section = "forward"
        self.note: list[tuple] = []  # block comments for the next node (_codegen.note_text)
        self.inputs: list[cg.Value] = []
        self.input_tensors: list[Tensor] = []
        self.constants: list[cg.Value] = []
        self.namespace: dict[str, Any] = {"np": np}
        self.fallbacks: list[str] = []
        self.forward_tensors: set[int] = set()  # ids of the Tensors forward ops made
        self.state: dict[int, tuple] = {}  # id(array a Function kept) -> (fn, attr, args, params)
        self.names, self.getters, modules = _captured(self.fn)
        compiled.modules = modules  # their training flags are part of the cache key
        self.trace_leaves = [self.add_input(t, name) for t, name in
                             zip(leaves, _argument_names(self.fn, args, kwargs, leaves))]

    # -- values -------------------------------------------------------------

    def add_input(self, t: Tensor, name: str) -> Tensor:
        """A fresh leaf for argument ``t`` (an intermediate of the caller's graph
        becomes a leaf of the trace)."""
        leaf = Tensor._make(t.data, t.requires_grad)
        leaf.name = t.name
        value = cg.Value(t.name if _identifier(t.name) else name, t.data.shape, t.data.dtype,
                         "input")
        self.inputs.append(value)
        self.input_tensors.append(t)
        self._remember(leaf, value)
        return leaf

    def _remember(self, t: Tensor, value: cg.Value) -> None:
        self.values[id(t)] = value
        self.arrays.setdefault(id(t.data), value)
        self.keep.append(t)

    def value_of(self, t: Tensor) -> cg.Value:
        """The Value of an op's input: known, or classified on first sight."""
        value = self.values.get(id(t))
        if value is not None:
            return value
        value = self.arrays.get(id(t.data))  # t.detach(), Tensor._make(x.data): the same array
        if value is None:
            value = self.state_value(t.data)
        if value is None:
            name = self.names.get(id(t))
            if t.requires_grad or name is not None and t.data.ndim > 0:
                if type(t.data) is not np.ndarray:
                    raise _Eager()
                value = cg.Value(name or (t.name if _identifier(t.name) else "captured"),
                                 t.data.shape, t.data.dtype, "input")
                self.inputs.append(value)
                self.input_tensors.append(t)
                self.program.captured.append(t)
                get, root = self.getters.get(id(t), (None, None))
                self.program.captured_get.append(get)
                if root is not None and all(root[0] is not r[0] for r in self.program.roots):
                    self.program.roots.append(root)
                self.program.captured_spec.append(
                    (type(t.data), t.data.shape, t.data.dtype, t.requires_grad))
            else:
                value = self.constant(t.data)
        self._remember(t, value)
        return value

    def constant(self, array: Any, hint: str = "const") -> cg.Value:
        """A baked-in array: a literal if it is one number, else a named constant."""
        if type(array) is not np.ndarray:
            if isinstance(array, (bool, int, float, np.generic)):
                array = np.asarray(array)
            else:
                raise _Eager()
        if array.ndim == 0 and array.dtype.kind in "biuf":
            text, typed = _literal(array)
            value = cg.Value(text, (), array.dtype, "literal", text=text, typed=typed)
        else:
            value = cg.Value(hint, array.shape, array.dtype, "const")
            value.array = array
            self.constants.append(value)
        self.keep.append(array)
        self.arrays.setdefault(id(array), value)
        return value

    def param_value(self, x: Any, args: list[cg.Value]) -> str:
        """A static parameter as source: numbers and tuples inline; an array becomes
        an input of the node ({k}): the Value it came from, or a constant; any other
        object is passed by reference (a name in the generated module)."""
        if isinstance(x, float):
            return _float_text(x)
        if x is None or isinstance(x, (bool, int, str, slice)) or x is Ellipsis:
            return repr(x)
        if isinstance(x, np.generic):
            return _literal(np.asarray(x))[0]
        if isinstance(x, tuple):
            items = [self.param_value(item, args) for item in x]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(x, Tensor):
            x = x.data
        if isinstance(x, list):
            x = np.asarray(x)
        if isinstance(x, np.ndarray):
            value = self.arrays.get(id(x)) or self.state_value(x) or self.constant(
                x, "index" if x.dtype.kind in "iub" else "const")
            args.append(value)
            return cg.slot(len(args) - 1)
        if isinstance(x, np.dtype):
            return f"np.{x.name}"
        name = f"param_{len(self.namespace)}"
        self.namespace[name] = x
        return name

    def state_value(self, array: Any) -> cg.Value | None:
        """An array a traced op kept on ``self`` for its backward: recomputed by a
        forward line from the op's inputs, where _codegen.state_spelling knows how."""
        found = self.state.get(id(array))
        if found is None:
            return None
        fn, attr, args, params = found
        args = list(args)
        fmt = cg.state_spelling(fn, attr, args, params, lambda x: self.param_value(x, args))
        if fmt is None:
            return None
        out = cg.Value(f"{fn.op}_{attr}", array.shape, array.dtype, "op")
        self.nodes.append(cg.Node(out, "state", fmt, args, "forward", stmt=True))
        out.node = self.nodes[-1]
        self.arrays[id(array)] = out
        return out

    # -- recording ----------------------------------------------------------

    def add_node(self, node: cg.Node) -> None:
        node.out.node = node
        if self.note and node.section == self.section:
            node.comment = self.note
            self.note = []
        self.nodes.append(node)

    def record(self, fn: Function, tensors: tuple, out: Tensor, params: dict) -> None:
        """engine.tracer: one op was applied."""
        args = [self.value_of(t) for t in tensors]
        out_value = cg.Value(out.name if _identifier(out.name) else fn.op, out.data.shape,
                             out.data.dtype, "op")
        spelled = cg.spell(fn, args, params, out_value, lambda x: self.param_value(x, args))
        if spelled is None:
            fmt, stmt, ufunc, view = self.fallback(fn, args, params)
        else:
            fmt, stmt, ufunc, view = spelled
        out_value.view = view
        self.add_node(cg.Node(out_value, type(fn).__name__, fmt, args, self.section,
                              ufunc=ufunc, stmt=stmt))
        self._remember(out, out_value)
        if self.section == "forward":
            self.forward_tensors.add(id(out))
            for attr, kept in vars(fn).items():  # NumPy facts kept for backward (a mask)
                if type(kept) is np.ndarray:
                    self.state[id(kept)] = (fn, attr, args, params)
                    self.keep.append(kept)

    def fallback(self, fn: Function, args: list[cg.Value], params: dict) -> tuple:
        """An op without a NumPy spelling: the generated line calls its forward."""
        name = f"{fn.op}_op"
        instance = type(fn)()
        self.namespace[name] = instance
        self.fallbacks.append(f"{type(fn).__module__}.{type(fn).__name__}")
        parts = [cg.slot(i) for i in range(len(args))]
        parts += [f"{k}={self.param_value(v, args)}" for k, v in params.items()]
        self.note.append(("text", f"{fn.op}: not in compile's NumPy table: calls the op's "
                                  "own forward"))
        return f"{name}.forward({', '.join(parts)})", False, None, True

    # -- the whole trace ----------------------------------------------------

    def run(self) -> Any:
        previous = engine.tracer
        _local.trace = self
        engine.tracer = self.record
        try:
            with _guard_conversions(self):
                args, kwargs = _rebuild(self.args, self.kwargs, self.trace_leaves)
                result = self.fn(*args, **kwargs)
                outputs: list[Tensor] = []
                spec = self.output_spec(result, outputs)
                self.section = "backward"
                grads, seeds = self.walk_backward(outputs)
        except _Eager:
            return None
        finally:
            engine.tracer = previous
            _local.trace = None
        program = self.program
        program.outputs = spec
        program.n_outputs = len(outputs)
        program.output_meta = [(o.data.shape, o.data.dtype) for o in outputs]
        self.generate(outputs, grads, seeds)
        return program

    def output_spec(self, result: Any, outputs: list[Tensor]) -> Any:
        if isinstance(result, Tensor):
            value = self.values.get(id(result))
            if value is not None and value.kind == "input" and value in self.inputs:
                return ("input", self.inputs.index(value))
            if value is None or value.kind != "op":
                value = self.value_of(result)
            outputs.append(result)
            return ("out", len(outputs) - 1)
        if isinstance(result, (list, tuple)):
            kind = "list" if isinstance(result, list) else "tuple"
            return (kind, [self.output_spec(r, outputs) for r in result])
        if isinstance(result, dict):
            return ("dict", [(k, self.output_spec(v, outputs)) for k, v in result.items()])
        if isinstance(result, np.ndarray):
            return self.output_spec(Tensor._make(result), outputs)
        return ("value", result)

    def walk_backward(self, outputs: list[Tensor]) -> tuple[dict, list]:
        """Backward from every output that requires grad, as engine.backward does it
        (first order: rules under no_grad), with each rule's ops recorded."""
        self.program.differentiable = [i for i, o in enumerate(outputs)
                                       if o.requires_grad and o._ctx is not None
                                       and self.values[id(o)].kind == "op"]
        if not self.program.differentiable:
            return {}, []
        pending: dict[int, Tensor] = {}
        seeds = []
        for index in self.program.differentiable:
            out = outputs[index]
            seed = Tensor._make(np.ones_like(out.data))
            value = cg.Value("d_out", out.data.shape, out.data.dtype, "seed",
                             grad_of=self.values[id(out)])
            seeds.append(value)
            self._remember(seed, value)
            pending[id(out)] = seed if id(out) not in pending else pending[id(out)] + seed
        order = _nodes_to_walk([outputs[i] for i in self.program.differentiable],
                               self.forward_tensors)
        with no_grad():
            for t in order:
                grad = pending.pop(id(t), None)
                if grad is None:
                    continue
                fn = t._ctx
                self.name_gradient(grad, t)
                self.note.append(("rule", self.values[id(t)].node, _derivative(fn)))
                input_grads = fn.backward(grad, t, *fn.inputs)
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)
                for i, (parent, g) in enumerate(zip(fn.inputs, input_grads)):
                    if g is None or not fn.needs_input_grad[i]:
                        continue
                    g = self.conform(g, parent, fn)
                    previous = pending.get(id(parent))
                    pending[id(parent)] = g if previous is None else previous + g
        grads = {}
        for index, t in enumerate(self.input_tensors):
            leaf = self.trace_leaves[index] if index < len(self.trace_leaves) else t
            g = pending.get(id(leaf))
            if g is not None:
                self.name_gradient(g, leaf)
                grads[index] = self.value_of(g)
        self.note = []
        return grads, seeds

    def name_gradient(self, grad: Tensor, of: Tensor) -> None:
        value = self.value_of(grad)
        if value.kind == "op" and value.node.section == "backward" and not value.grad_of:
            value.grad_of = self.values[id(of)]

    def conform(self, g: Any, parent: Tensor, fn: Function) -> Tensor:
        """Like the engine: a rule's gradient summed down to its input's shape
        (unbroadcast, resolved here from the traced shapes) and cast to its dtype."""
        if not isinstance(g, Tensor):
            g = Tensor._make(g if type(g) is np.ndarray else np.asarray(g))
        shape = parent.data.shape
        if g.data.shape != shape:
            lead = g.data.ndim - len(shape)
            axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                              if n == 1 and g.data.shape[lead + i] != 1)
            self.note.append(("unbroadcast", self.values[id(parent)], shape, g.data.shape,
                              axes))
            if len(axes) == lead:
                g = g.sum(axis=axes)
            else:
                g = g.sum(axis=axes, keepdims=True)
                if g.data.shape != shape:
                    g = g.reshape(shape)
        if g.data.dtype != parent.data.dtype:
            g = g.astype(parent.data.dtype)
        return g

    # -- generating the code ------------------------------------------------

    def generate(self, outputs: list[Tensor], grads: dict, seeds: list[cg.Value]) -> None:
        program = self.program
        out_values = [self.values[id(o)] for o in outputs]
        grad_values = [grads.get(i) if t.requires_grad else None
                       for i, t in enumerate(self.input_tensors)]
        nodes = self.nodes
        original = list(nodes)
        if self.compiled.optimize:  # outputs stay as they are; gradients follow replacements
            alias: dict[int, cg.Value] = {}
            nodes = cg.simplify(nodes, out_values, alias)
            nodes = cg.merge_common(nodes, out_values, alias)
            grad_values = [None if g is None else cg.resolve(alias, g) for g in grad_values]
        needed = out_values + [g for g in grad_values if g is not None]
        nodes = cg.drop_dead(nodes, needed)
        _carry_comments(original, nodes)
        # the final Values of the outputs and gradients, after the passes' aliases
        forward = [n for n in nodes if n.section == "forward"]
        backward = [n for n in nodes if n.section == "backward"]
        saved = []
        for v in [a for n in backward for a in n.args] + [g for g in grad_values if g]:
            if (v.kind == "input" or v.kind == "op" and v.node.section == "forward") and \
                    v not in saved:
                saved.append(v)
        keep = {id(v) for v in saved + out_values + [g for g in grad_values if g]}
        if self.compiled.optimize:
            forward = cg.drop_broadcasts(forward, keep)
            backward = cg.drop_broadcasts(backward, keep)
            nodes = forward + backward
            cg.reuse_buffers(forward, keep)
            cg.reuse_buffers(backward, keep)
        names = cg.Names()
        for v in self.inputs:
            v.name = v.text = names.make(v.name)
        for v in self.constants:
            v.name = v.text = names.make(v.name)
            self.namespace[v.name] = v.array
            if v.array.size > (8 if v.name.startswith("index") else 1):  # not a few indices
                program.constants[v.name] = v.array
        # a bool array of exactly the shape of an input or a result of this trace was
        # most likely computed from it with NumPy (x.data > 0): say so, now
        shapes = {v.shape for v in self.inputs} | {n.out.shape for n in nodes}
        masks = [v.name for v in self.constants
                 if v.name in program.constants and v.array.dtype == bool and
                 not v.name.startswith("index") and v.shape in shapes and
                 any(v in n.args for n in nodes)]
        if masks:
            warnings.warn(
                f"compile: {self.compiled.__name__} bakes in the boolean array(s) "
                f"{', '.join(masks)}, computed with NumPy from the traced call's data (e.g. "
                "x.data > 0): later calls reuse them. Compute masks with tensor comparisons "
                "(x > 0), or check with mg.compile(fn, check=True).",
                RuntimeWarning, stacklevel=5)
        for n in forward:
            n.out.name = n.out.text = names.make(n.out.name)
        for v in seeds + [n.out for n in backward]:
            hint = "d_" + v.grad_of.name.rstrip("_") if v.grad_of else ""
            v.name = v.text = names.make(hint)
        name = self.compiled.__name__
        number = next(_counter)
        filename = f"<mg.compile {name} #{number}>"
        lines = [f"# mg.compile: {name}, trace {self.compiled.traces}; generated NumPy code.",
                 "# inputs: " + ", ".join(f"{v.name} {v.shape} {v.dtype}"
                                           for v in self.inputs)]
        used = {id(a) for n in nodes for a in n.args}
        for v in self.constants:
            if v.name in program.constants:
                lines.append(f"# constant {v.name}: {v.shape} {v.dtype}, baked in at trace "
                             "time (compiled.constants)")
            elif id(v) in used:  # a few indices: shown
                lines.append(f"# {v.name} = {v.array.tolist()}  ({v.dtype})")
        if len(nodes) > COMMENTED_LINES:  # a huge trace: comments would only slow compile()
            lines.append(f"# ({len(nodes)} lines: the per-step comments are left out)")
            for n in nodes:
                n.comment = []
        lines += ["", "", f"def forward({', '.join(v.name for v in self.inputs)}):"]
        body = [line for n in forward for line in cg.render_node(n)]
        outs = ", ".join(v.text for v in out_values)
        body.append(f"return ({outs}{',' if len(out_values) == 1 else ''}), "
                    f"({', '.join(v.name for v in saved)}{',' if len(saved) == 1 else ''})")
        lines += ["    " + line for line in body]
        if program.differentiable:
            seed_names = ", ".join(v.name for v in seeds)
            lines += ["", "", f"def backward(saved, {seed_names}):"]
            body = [f"{', '.join(v.name for v in saved)}{',' if len(saved) == 1 else ''} = saved"] \
                if saved else []
            body += [line for n in backward for line in cg.render_node(n)]
            returned = ", ".join("None" if g is None else g.text for g in grad_values)
            body.append(f"return ({returned}{',' if len(grad_values) == 1 else ''})")
            lines += ["    " + line for line in body]
        source = "\n".join(lines) + "\n"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(builtins.compile(source, filename, "exec"), self.namespace)  # noqa: S102
        program.code = source
        program.filename = filename
        program.forward = self.namespace["forward"]
        program.backward = self.namespace.get("backward")
        program.fallbacks = self.fallbacks


class _Eager(Exception):
    """A Dask or CuPy array was met: this call runs eagerly."""


def _nodes_to_walk(roots: list[Tensor], produced: set[int]) -> list[Tensor]:
    """Traced op outputs reachable from ``roots`` that require grad, latest first."""
    found: dict[int, Tensor] = {}
    stack = list(roots)
    while stack:
        t = stack.pop()
        if id(t) in found or id(t) not in produced or not t.requires_grad or t._ctx is None:
            continue
        found[id(t)] = t
        stack.extend(t._ctx.inputs)
    return sorted(found.values(), key=lambda t: t._ctx._seq, reverse=True)


def _carry_comments(original: list[cg.Node], kept: list[cg.Node]) -> None:
    """A dropped node's block comment moves to the next kept node of its section."""
    alive = {id(n) for n in kept}
    carry: dict[str, list] = {"forward": [], "backward": []}
    for node in original:
        if id(node) not in alive:
            carry[node.section] += node.comment
            continue
        if carry[node.section]:
            node.comment = carry[node.section] + node.comment
            carry[node.section] = []


def _derivative(fn: Function) -> str:
    """The derivative from the op's docstring's first paragraph ('d out/dx = 1 - out^2')."""
    first = " ".join((type(fn).__doc__ or "").strip().split("\n\n")[0].split())
    return first.split(";", 1)[1].strip() if ";" in first else f"see {type(fn).__name__}.backward"


def _literal(array: np.ndarray) -> tuple[str, str]:
    """A 0-d array as Python source: (bare, with its NumPy type)."""
    value = array.item()
    if array.dtype.kind == "f":  # exact: every float16/32 value is a float64 value
        text = _float_text(float(value))
        return text, f"np.{array.dtype.name}({text})"
    text = repr(value)
    return text, f"np.{array.dtype.name}({text})"


def _float_text(value: float) -> str:
    """A Python float as source that evaluates to exactly it (nan and inf included)."""
    if value != value:
        return "np.nan"
    if value in (np.inf, -np.inf):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


def _identifier(name: Any) -> bool:
    return isinstance(name, str) and name.isidentifier()


def _rebuild(args: tuple, kwargs: dict, leaves: list[Tensor]) -> tuple[list, dict]:
    """args and kwargs with every array argument replaced by its trace leaf, in order."""
    it = iter(leaves)

    def swap(obj: Any) -> Any:
        if isinstance(obj, (Tensor, np.ndarray)):
            return next(it)
        if isinstance(obj, (list, tuple)):
            return type(obj)(swap(o) for o in obj) if type(obj) in (list, tuple) else obj
        if isinstance(obj, dict):
            return {k: swap(v) for k, v in obj.items()}
        return obj

    return swap(list(args)), swap(kwargs)


def _argument_names(fn: Callable, args: tuple, kwargs: dict, leaves: Any) -> list[str]:
    """A name per array argument: the parameter's name, with the path into lists."""
    target = fn.forward if hasattr(fn, "forward") and not inspect.isfunction(fn) else fn
    try:
        bound = inspect.signature(target).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {f"arg{i}": a for i, a in enumerate(args)} | dict(kwargs)
    names: list[str] = []

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, (Tensor, np.ndarray)):
            names.append(path)
        elif isinstance(obj, (list, tuple)):
            for i, o in enumerate(obj):
                walk(o, f"{path}_{i}")
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}_{k}")

    for name, value in bound.items():
        walk(value, name)
    names += [f"arg{i}" for i in range(len(names), len(leaves))]
    return names[:len(leaves)]


def _captured(fn: Callable) -> tuple[dict[int, str], dict[int, tuple], list]:
    """What fn can reach by name: closure variables, globals it uses, the bound
    method's self, and the parameters, buffers and sub-modules of Modules among them.
    Returns id(Tensor) -> a name; id(Tensor) -> (a function that reads it again,
    and (read, object) of the name of the Module or container it was found in, or
    None), so that a rebound name is seen at call time; and (name, Module) pairs."""
    from minigrad.nn import Module

    names: dict[int, str] = {}
    getters: dict[int, tuple] = {}
    modules: dict[int, tuple[str, Any]] = {}

    def add(obj: Any, name: str, get: Callable, root: tuple | None, depth: int = 0) -> None:
        if isinstance(obj, Tensor):
            if id(obj) not in names:
                names[id(obj)], getters[id(obj)] = name, (get, root)
            return
        root = root or (get, obj)  # rebinding a container's name: a retrace
        if isinstance(obj, Module):
            for path, m in obj.named_modules():
                modules.setdefault(id(m), (".".join(p for p in (name, path) if p), m))
            for path, t in _module_tensors(obj):
                if id(t) not in names:
                    names[id(t)] = (name + "_" if name else "") + path.replace(".", "_")
                    getters[id(t)] = (_reader(obj, path.split("."), t), root)
        elif isinstance(obj, (list, tuple)) and depth < 2:
            for i, o in enumerate(obj):
                add(o, f"{name}_{i}", functools.partial(_item, obj, i), root, depth + 1)
        elif isinstance(obj, dict) and depth < 2:
            for k, v in obj.items():
                add(v, f"{name}_{k}", functools.partial(obj.get, k), root, depth + 1)

    owner = getattr(fn, "__self__", None)
    if isinstance(fn, Module):
        add(fn, "", lambda: fn, None)
    elif owner is not None:
        add(owner, "" if isinstance(owner, Module) else "self", lambda: owner, None)
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "forward", None), "__code__",
                                                    None)
    function = fn if hasattr(fn, "__code__") else getattr(fn, "forward", fn)
    if code is not None:
        for name, cell in zip(code.co_freevars, getattr(function, "__closure__", None) or ()):
            try:
                add(cell.cell_contents, name, functools.partial(_cell_contents, cell), None)
            except ValueError:  # an empty cell
                pass
        space = getattr(function, "__globals__", {})
        for name in code.co_names:
            if name in space:
                add(space[name], name, functools.partial(space.get, name), None)
    return names, getters, list(modules.values())


def _cell_contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # emptied (del)
        return None


def _item(container: Any, index: int) -> Any:
    return container[index] if index < len(container) else None


def _reader(module: Any, path: list[str], tensor: Tensor) -> Callable[[], Any]:
    """A function that reads the tensor at ``path`` below ``module`` from its direct
    owner (a Module attribute, a list item, a dict value), as cheaply as possible."""
    owner, last = module, path[-1]
    try:
        for part in path[:-1]:
            owner = owner[int(part)] if isinstance(owner, (list, tuple)) else \
                {str(k): v for k, v in owner.items()}[part] if isinstance(owner, dict) else \
                getattr(owner, part)
        if isinstance(owner, (list, tuple)):
            return functools.partial(_item, owner, int(last))
        if isinstance(owner, dict):
            return functools.partial(owner.get, next(k for k in owner if str(k) == last))
        if vars(owner).get(last) is tensor:
            return functools.partial(vars(owner).get, last)
    except (LookupError, AttributeError, ValueError, TypeError, StopIteration):
        pass
    return lambda: tensor  # not found again the same way: the tensor as traced


def _module_tensors(module: Any) -> list[tuple[str, Tensor]]:
    items = list(module.named_parameters())
    buffers = getattr(module, "named_buffers", None)
    if buffers is not None:
        items += [(n, t) for n, t in buffers() if isinstance(t, Tensor)]
    return items


# ---------------------------------------------------------------------------
# Conversions that cannot be traced
# ---------------------------------------------------------------------------

_CONVERSIONS = {"item": "item()", "tolist": "tolist()", "numpy": "numpy()",
                "__bool__": "bool()", "__float__": "float()", "__int__": "int()",
                "__iter__": "iterating over it", "__array__": "np.asarray()"}
_INPLACE = {"__iadd__": "+=", "__isub__": "-=", "__imul__": "*=", "__itruediv__": "/=",
            "__setitem__": "t[index] = value"}


class _guard_conversions:
    """While tracing, Tensor conversions to Python values raise TraceError. Patches
    Tensor for the duration; other threads and untraced tensors see the originals."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        self.saved = {name: Tensor.__dict__[name] for name in [*_CONVERSIONS, *_INPLACE]
                      if name in Tensor.__dict__}
        for name, original in self.saved.items():
            setattr(Tensor, name, _refusing(name, original))

    def __exit__(self, *exc: object) -> None:
        for name, original in self.saved.items():
            setattr(Tensor, name, original)


def _refusing(name: str, original: Callable) -> Callable:
    @functools.wraps(original)
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        trace = getattr(_local, "trace", None)
        if trace is not None and id(self) in trace.values and \
                trace.values[id(self)].kind in ("op", "input", "seed"):
            if name in _INPLACE:
                raise TraceError(
                    f"compile: an in-place change ({_INPLACE[name]}) of a traced Tensor at "
                    f"{_user_line()} while tracing {trace.compiled.__name__}. Write it out "
                    "of place (y = y + x), or call the function without mg.compile.")
            raise TraceError(
                f"compile: {_CONVERSIONS[name]} of a traced Tensor at {_user_line()} while "
                f"tracing {trace.compiled.__name__}. The generated code cannot repeat a "
                "Python value computed from tensor data. Keep it a tensor (use mg.where "
                "instead of if, mg.maximum instead of max), pass the value as an argument "
                "(a Python number is part of the cache key), or call the function without "
                "mg.compile.")
        return original(self, *args, **kwargs)

    return method


def _user_line() -> str:
    """'file:line (code)' of the innermost frame outside minigrad."""
    package = __file__.rsplit("_trace.py", 1)[0]
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.startswith(package):
            return f"{frame.filename}:{frame.lineno} ({frame.line})"
    return "<unknown>"


