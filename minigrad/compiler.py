"""mg.compile: trace a function and its backward once, then run them as generated NumPy code.

How it works, in four steps (``_trace.py`` records, ``_codegen.py`` spells each op
and simplifies; this file runs the result):

1. **Trace.** The first call runs ``fn`` eagerly with ``engine.tracer`` set: every
   ``Function.apply`` reports its op, inputs and output, and each becomes one
   line of NumPy (the table in ``_codegen.spell``). Then the backward pass is
   walked (``_trace.py``), the engine's way (nodes latest first, gradients summed per
   tensor, broadcasting undone): since every backward rule is written in
   minigrad ops, the rules report their ops too. The result is the joint
   forward-and-backward graph, with every shape, axis and dtype a number.
2. **Generate** two Python functions, ``forward`` and ``backward``, one line per
   primitive (``compiled.code``), simplify them (``optimize=True``), compile them
   and register the source with ``linecache`` so tracebacks and pdb show it.
3. **Run.** Later calls with the same shapes, dtypes, ``requires_grad`` and
   non-array arguments run ``forward`` inside ONE graph node
   (:class:`CompiledCall`, op ``compiled``) whose inputs are the Tensor arguments and the
   tensors ``fn`` captured (module parameters, closed-over tensors: read at
   call time, so optimizer updates are seen). ``loss.backward()`` reaches that
   node and runs ``backward``.
4. **Retrace** when the cache key differs (a warning after 8 traces names what
   changed).

What is baked in, decided and documented:

* **Arguments** (Tensors, NumPy arrays, nested in lists/tuples/dicts) are inputs.
  Python numbers, strings and other objects are part of the cache key, and so
  is the ``training`` flag of every Module fn reaches (``train()`` / ``eval()``).
* **Captured tensors**: every tensor fn reads that an op did not make and that
  is not an argument, and that requires grad or is reachable by name (a
  closure variable, a global, a Module's parameter or buffer), is an input of
  the compiled node, read at call time: the name is read again, so a rebound
  global, closure variable or Module attribute is used (another shape: a retrace).
* **Constants**: everything else -- Python numbers (inlined as literals), and
  arrays an op kept from the traced data (a mask a backward rule keeps on
  ``self``) -- is baked in; arrays of more than one element are listed in
  ``compiled.constants``. Masks that the table knows how to recompute from the
  op's inputs (relu, abs, maximum/minimum, clip, max/min, cross-entropy) are
  recomputed on every call instead. ``check=True`` runs eagerly beside the
  compiled code on every call and raises on any difference.
* Converting a traced Tensor to a Python value inside ``fn`` (``item()``,
  ``float()``, ``bool()``, ``int()``, ``tolist()``, ``numpy()``, iterating)
  raises :class:`TraceError` naming the line.

Limits, stated: ``backward(create_graph=True)`` through a compiled node raises
(run the function without ``mg.compile`` for higher derivatives); arguments or
captured tensors holding Dask or CuPy arrays run eagerly; an op the table does
not know (a user's Function, mg.linalg) runs its own ``forward`` from the
generated line (``compiled.fallbacks`` lists them).

>>> import minigrad as mg
>>> w = mg.tensor([1.0, -2.0], requires_grad=True)
>>> f = mg.compile(lambda x: (x * w).sum())
>>> loss = f(mg.tensor([3.0, 4.0]))
>>> loss.item(), loss.op
(-5.0, 'compiled')
>>> loss.backward()
>>> w.grad
Tensor([3., 4.])
"""

from __future__ import annotations

import gc
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import engine
from minigrad._trace import Trace, TraceError, _argument_names, _captured, _local
from minigrad.engine import Function
from minigrad.tensor import Tensor

__all__ = ["Compiled", "TraceError", "compile"]

RETRACE_WARNING = 8  # traces of one compiled function before a warning

def compile(fn: Callable, optimize: bool = True, check: bool = False) -> Compiled:
    """``fn`` traced once per input signature and run as generated NumPy code.

    ``optimize=False`` shows the raw trace (no simplification passes);
    ``check=True`` also runs ``fn`` eagerly on every call and raises on any
    difference in values or gradients. See the module docstring.
    """
    if not callable(fn):
        raise TypeError(f"compile: expected a function (or a Module), got "
                        f"{type(fn).__name__}.")
    return Compiled(fn, optimize, check)


# ---------------------------------------------------------------------------
# The compiled callable
# ---------------------------------------------------------------------------


class Compiled:
    """What :func:`compile` returns: call it like ``fn``. ``code``: the generated
    source of the latest trace; ``traces``: how many traces so far;
    ``constants``: baked-in arrays; ``trace(*args)``: trace without running."""

    def __init__(self, fn: Callable, optimize: bool, check: bool) -> None:
        self.fn = fn
        self.optimize = optimize
        self.check = check
        self.traces = 0
        self.program: Program | None = None
        self._programs: dict[Any, Program] = {}
        self._last_key: Any = None
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn
        self.modules: list[tuple[str, Any]] = _captured(fn)[2]  # refreshed by each trace

    @property
    def code(self) -> str:
        if self.program is None:
            raise RuntimeError(f"compile: {self.__name__} has not been called yet, so there "
                               "is no code; call it once, or use .trace(*args).code.")
        return self.program.code

    @property
    def constants(self) -> dict[str, np.ndarray]:
        return {} if self.program is None else self.program.constants

    @property
    def fallbacks(self) -> list[str]:
        return [] if self.program is None else self.program.fallbacks

    def __repr__(self) -> str:
        return f"<mg.compile of {self.__name__}: {self.traces} trace(s)>"

    def trace(self, *args: Any, **kwargs: Any) -> Program:
        """Trace for these arguments (if not cached) and return the Program."""
        key, leaves = _key(args, kwargs)
        if self.modules:
            key += tuple([m.training for _, m in self.modules])
        program = self._programs.get(key)
        if program is None or not program.current():
            program = self._trace(key, leaves, args, kwargs)
        self.program = program
        return program

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "trace", None) is not None:  # inside another trace: inline fn
            return self.fn(*args, **kwargs)
        # the common call: Tensors only, key without recursion
        if not kwargs and all(type(a) is Tensor for a in args):
            key = (engine.is_grad_enabled(),) + tuple(
                (type(a.data), a.data.shape, a.data.dtype, a.requires_grad) for a in args)
            leaves = args
        else:
            key, leaves = _key(args, kwargs)
        if self.modules:  # train() / eval() changes what fn computes
            key += tuple([m.training for _, m in self.modules])
        program = self._programs.get(key)
        if program is None or not program.current():
            if not all(type(t.data) is np.ndarray for t in leaves):
                return self.fn(*args, **kwargs)  # Dask, CuPy: eager (see the module doc)
            program = self._trace(key, leaves, args, kwargs)
            if program is None:
                return self.fn(*args, **kwargs)
        self.program = program
        result = program.run(leaves)
        if self.check:
            _check_call(self, program, result, args, kwargs)
        return result

    def _trace(self, key: Any, leaves: Any, args: tuple, kwargs: dict) -> Program | None:
        self.traces += 1
        signature = _signature(self.fn, args, kwargs, leaves, self.modules)
        if self.traces > RETRACE_WARNING:
            warnings.warn(f"compile: {self.__name__} was traced {self.traces} times; this "
                          f"time because {_what_changed(self._last_key, signature)}. Every "
                          "new shape, dtype, requires_grad or Python argument value makes a "
                          "new trace: pass changing numbers as tensors, or keep shapes fixed.",
                          RuntimeWarning, stacklevel=3)
        self._last_key = signature
        trace = Trace(self, Program(), leaves, args, kwargs)
        collecting = gc.isenabled()
        gc.disable()  # a trace makes many objects and no cycles: no collections meanwhile
        try:
            program = trace.run()
        finally:
            if collecting:
                gc.enable()
        if program is not None:
            self._programs[key] = program
        return program


def _key(args: tuple, kwargs: dict) -> tuple[Any, list[Tensor]]:
    """The cache key (grad mode, then every argument's shape/dtype/requires_grad or
    Python value) and the array arguments in order, as Tensors."""
    leaves: list[Tensor] = []
    spec = (_spec(list(args), leaves), _spec(kwargs, leaves))
    return (engine.is_grad_enabled(), spec), leaves


def _spec(obj: Any, leaves: list[Tensor]) -> Any:
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return ("tensor", type(obj.data), obj.data.shape, obj.data.dtype, obj.requires_grad)
    if isinstance(obj, np.ndarray):
        leaves.append(Tensor._make(obj))
        return ("array", obj.shape, obj.dtype)
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_spec(o, leaves) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, _spec(v, leaves)) for k, v in obj.items()))
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.generic)):
        return (type(obj).__name__, obj)
    return ("object", type(obj).__name__, id(obj))  # a Module, a function: by identity


def _signature(fn: Callable, args: tuple, kwargs: dict, leaves: Any,
               modules: list[tuple[str, Any]]) -> dict[str, str]:
    """What a trace depends on, by argument name, in words (for the retrace warning)."""
    names = iter(_argument_names(fn, args, kwargs, leaves))
    signature = {"grad mode": "on" if engine.is_grad_enabled() else "off"}
    for name, m in modules:
        signature[f"{name or type(m).__name__} mode"] = "train" if m.training else "eval"
    for t in leaves:
        signature[next(names)] = (f"shape {t.data.shape} {t.data.dtype}"
                                  f"{' requiring grad' if t.requires_grad else ''}")
    target = fn.forward if hasattr(fn, "forward") and not inspect.isfunction(fn) else fn
    try:
        bound = inspect.signature(target).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {}
    for name, value in bound.items():
        if not isinstance(value, (Tensor, np.ndarray, list, tuple, dict)):
            signature[name] = f"value {value!r:.40}"
    return signature


def _what_changed(old: dict[str, str] | None, new: dict[str, str]) -> str:
    if old is None:
        return "it was never traced"
    changes = [f"{name}: {old.get(name, 'absent')} -> {new.get(name, 'absent')}"
               for name in {**old, **new} if old.get(name) != new.get(name)]
    return "; ".join(changes) or "a captured tensor changed shape, dtype or requires_grad"


# ---------------------------------------------------------------------------
# A program: the generated code of one trace, and running it
# ---------------------------------------------------------------------------


class Program:
    """One trace: the generated ``forward`` / ``backward`` functions and what they need."""

    def __init__(self) -> None:
        self.code = ""
        self.filename = ""
        self.forward: Callable[..., Any] = _unset
        self.backward: Callable[..., Any] | None = None
        self.captured: list[Tensor] = []
        self.captured_spec: list[tuple] = []
        self.captured_get: list[Callable[[], Any] | None] = []  # reads the name again
        self.roots: list[tuple] = []  # (read, object): the names captured Modules came by
        self.constants: dict[str, np.ndarray] = {}
        self.fallbacks: list[str] = []
        self.outputs: Any = None  # the result's structure: ("out", i), ("leaf", k), ...
        self.n_outputs = 0
        self.differentiable: list[int] = []  # output indices made by the compiled node
        self.output_meta: list[tuple] = []  # (shape, dtype) per output

    def current(self) -> bool:
        """Captured names read again (a rebound global, closure variable or Module
        attribute is used from now on); False if a captured tensor changed shape,
        dtype, requires_grad or array type, a name no longer holds a Tensor, or a
        Module (list, dict) the captured tensors came from was rebound."""
        for get, obj in self.roots:
            if get() is not obj:
                return False
        for i, spec in enumerate(self.captured_spec):
            t = self.captured[i]
            get = self.captured_get[i]
            if get is not None:
                now = get()
                if now is not t:
                    if not isinstance(now, Tensor):
                        return False
                    self.captured[i] = t = now
            if (type(t.data), t.data.shape, t.data.dtype, t.requires_grad) != spec:
                return False
        return True

    def run(self, leaves: Any) -> Any:
        inputs = (*leaves, *self.captured) if self.captured else tuple(leaves)
        diff = self.differentiable
        if diff and engine.is_grad_enabled():
            first = CompiledCall.apply(*inputs, program=self)
            if self.outputs == ("out", 0):  # the common case: one Tensor, the node's output
                return first
            node = first._ctx
            made = {diff[0]: first}
            for index in diff[1:]:
                made[index] = CompiledOutput.apply(*inputs, call=node, index=index)
            return _build(self.outputs, node.outs, made, inputs)
        arrays, _ = self.forward(*[t.data for t in inputs])
        return _build(self.outputs, arrays, {}, inputs)


def _unset(*args: Any) -> Any:
    raise RuntimeError("compile: this program has no generated code")


def _build(spec: Any, arrays: Any, made: dict[int, Tensor], inputs: tuple) -> Any:
    kind = spec[0]
    if kind == "out":
        index = spec[1]
        if index in made:
            return made[index]
        array = arrays[index]
        return Tensor._make(array if type(array) is np.ndarray else np.asarray(array))
    if kind == "input":
        return inputs[spec[1]]
    if kind == "value":
        return spec[1]
    if kind == "dict":
        return {k: _build(v, arrays, made, inputs) for k, v in spec[1]}
    items = [_build(s, arrays, made, inputs) for s in spec[1]]
    return items if kind == "list" else tuple(items)


class CompiledCall(Function):
    """out = fn(*inputs) as generated NumPy code;   d out/d inputs: its generated backward

    One node for the whole compiled call: forward runs the generated ``forward``,
    backward the generated ``backward`` (first order only); ``program.code`` shows both.
    """

    saves = ("inputs",)
    name = "compiled"

    def forward(self, *arrays: Any, program: Program) -> Any:
        self.program = program
        self.outs, self.saved = program.forward(*arrays)
        return self.outs[program.differentiable[0]]

    def backward(self, grad: Tensor, out: Tensor, *inputs: Tensor) -> Any:
        return _run_backward(self, self, 0, grad)


class CompiledOutput(Function):
    """A second (third, ...) differentiable output of a compiled call: its own node
    (the engine walks one node per output), sharing the call's forward."""

    saves = ("inputs",)
    name = "compiled"

    def forward(self, *arrays: Any, call: CompiledCall, index: int) -> Any:
        self.call = call
        self.position = call.program.differentiable.index(index)
        return call.outs[index]

    def backward(self, grad: Tensor, out: Tensor, *inputs: Tensor) -> Any:
        return _run_backward(self, self.call, self.position, grad)


def _run_backward(node: Function, call: CompiledCall, position: int, grad: Tensor) -> Any:
    if engine.is_grad_enabled():
        raise RuntimeError(
            "compiled: backward(create_graph=True) through a compiled function is not "
            "supported (its backward is generated NumPy code, which records no graph). "
            "Call the function without mg.compile to take higher derivatives.")
    program = call.program
    if len(program.differentiable) == 1:
        grads = program.backward(call.saved, grad.data)
    else:  # the other outputs' gradients are 0 for this node's share
        seeds = [np.zeros(*program.output_meta[index]) for index in program.differentiable]
        seeds[position] = grad.data
        grads = program.backward(call.saved, *seeds)
    result = tuple([None if g is None else
                    Tensor._make(g if type(g) is np.ndarray else np.asarray(g)) for g in grads])
    checker = getattr(node, "check", None)
    if checker is not None:
        checker(grad, result)
    return result


# ---------------------------------------------------------------------------
# check=True
# ---------------------------------------------------------------------------


def _check_call(compiled: Compiled, program: Program, result: Any, args: tuple,
                kwargs: dict) -> None:
    """Run fn eagerly on the same inputs; compare outputs now and gradients at backward."""
    eager = compiled.fn(*args, **kwargs)
    got, want = _tensors(result), _tensors(eager)
    for i, (g, w) in enumerate(zip(got, want)):
        _compare(g.data, w.data, f"output {i}", program)
    inputs = None
    for g, w in zip(got, want):
        node = g._ctx
        if isinstance(node, (CompiledCall, CompiledOutput)) and w.requires_grad:
            inputs = node.inputs

            def checker(grad: Tensor, grads: tuple, w: Tensor = w, inputs: tuple = inputs) -> None:
                wanted = [t for t in inputs if t.requires_grad]
                eager_grads = engine.backward([w], [grad], retain_graph=True, inputs=wanted)
                by_id = {id(t): e for t, e in zip(wanted, eager_grads)}
                for k, (t, c) in enumerate(zip(inputs, grads)):
                    if id(t) in by_id:
                        e = by_id[id(t)]
                        _compare(np.zeros_like(t.data) if c is None else c.data,
                                 np.zeros_like(t.data) if e is None else e.data,
                                 f"the gradient of input {k}", program)

            node.check = checker


def _tensors(result: Any) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in _tensors(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _tensors(r)]
    return []


def _compare(got: Any, want: Any, what: str, program: Program) -> None:
    got, want = np.asarray(got), np.asarray(want)
    tol = 1e-9 if want.dtype == np.float64 else 1e-4
    if got.shape == want.shape and np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True):
        return
    difference = (f"shapes {got.shape} vs {want.shape}" if got.shape != want.shape else
                  f"largest difference {np.max(np.abs(got - want)):.3g}")
    baked = (f" Baked-in constants (compiled.constants): {', '.join(program.constants)}; "
             "one computed from the traced data would explain it." if program.constants else "")
    raise TraceError(f"compile(check=True): {what} differs between the compiled code and "
                     f"eager execution ({difference}).{baked} Call the function without "
                     "mg.compile, or make the value an argument.")
