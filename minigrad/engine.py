"""The autograd core: grad mode, the Function base class, unbroadcast, and backward.

Read this file after ``tensor.py``. Everything here is about one idea: every
operation records a node (a :class:`Function` instance) that remembers its
input Tensors; ``backward`` walks those nodes from the output back to the
leaves, asking each node for the gradient of its inputs (the chain rule) and
adding up the contributions that reach the same Tensor.

No recursion anywhere: the graph walk is an explicit stack, so a chain of a
million ops back-propagates as well as a chain of three.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from minigrad import backends
from minigrad.creation import constant
from minigrad.tensor import Tensor

# ---------------------------------------------------------------------------
# Grad mode: one flag per thread, as PyTorch.
# ---------------------------------------------------------------------------

class _State(threading.local):
    """Per-thread flags; the class attributes are every thread's defaults (and make
    reading a flag one attribute lookup, on the hot path of every op)."""

    grad_enabled = True
    anomaly = False
    backward_of: Any = None  # the Function whose backward rule is running (anomaly mode)


_state = _State()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward (the default)."""
    return _state.grad_enabled


def set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


def is_anomaly_enabled() -> bool:
    return _state.anomaly


def set_anomaly_enabled(mode: bool) -> None:
    global _anomaly_ever
    _anomaly_ever = _anomaly_ever or bool(mode)
    _state.anomaly = bool(mode)


# False until some thread turns anomaly mode on: until then the hot paths skip
# reading the thread-local flag.
_anomaly_ever = False


class _GradMode:
    """Context manager and decorator that sets grad mode for this thread."""

    enabled = True

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        set_grad_enabled(self.enabled)

    def __exit__(self, *exc: object) -> None:
        set_grad_enabled(self._previous)

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():  # a fresh instance per call: safe under recursion and threads
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Operations inside record no graph: ``with mg.no_grad(): ...`` or ``@mg.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block (or as a decorator)."""

    enabled = True


# ---------------------------------------------------------------------------
# Function: one node of the graph.
# ---------------------------------------------------------------------------


class Function:
    """Base class of every differentiable operation, and the way to write your own.

    Subclass it with two methods and call ``MyOp.apply(*inputs)``:

    * ``forward(self, *arrays, **params)`` -- NumPy arrays in, one NumPy array out.
      Keyword ``params`` (an ``axis``, a shape) are passed through ``apply``.
    * ``backward(self, grad, out, *inputs)`` -- Tensors in (the upstream gradient,
      this node's output and its inputs), one gradient Tensor (or ``None``) per
      input out. Write it with minigrad ops, so that ``create_graph=True`` can
      differentiate it again. A gradient may have the broadcast output's shape;
      the engine sums it down to the input's shape.

    The same instance runs forward and backward, so facts computed in forward
    (a mask, a shape) can be kept on ``self``. ``t.op`` is the class name in
    lower case.

    >>> import minigrad as mg
    >>> class Cube(mg.Function):
    ...     def forward(self, x):
    ...         return x ** 3
    ...     def backward(self, grad, out, x):
    ...         return grad * 3 * x * x
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward()
    >>> x.grad.item()
    12.0
    """

    # What backward reads, of "inputs" and "out". If one of them is changed in
    # place after forward (x += 1), backward raises instead of using the new
    # values. Ops whose rule needs only shapes or masks kept on self say ().
    saves: tuple[str, ...] = ("inputs", "out")

    # Filled in by apply() when the node is recorded.
    inputs: tuple[Tensor, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    _freed = False
    _created_at: str | None = None
    _out_modified_by: tuple[str, str, int] | None = None  # set by an in-place op on out
    _inplace_version = 0  # for a node recorded by an in-place op: the version it made

    def forward(self, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, *arrays)")

    def backward(self, grad: Tensor, out: Tensor, *inputs: Tensor) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must define backward(self, grad, out, *inputs)"
        )

    #: the op's name in graphs and errors; by default the class name in lower case
    name: str | None = None

    @property
    def op(self) -> str:
        return self.name or type(self).__name__.lower()

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run forward on the inputs' arrays and, if needed, record the node."""
        tensors = inputs
        for x in inputs:
            if not isinstance(x, Tensor):  # numbers and arrays become constant Tensors
                try:
                    if len(inputs) == 2 and isinstance(inputs[0], Tensor):  # t * 2.0
                        tensors = (inputs[0], constant(inputs[1], inputs))
                    else:
                        tensors = tuple([t if isinstance(t, Tensor) else constant(t, inputs)
                                         for t in inputs])
                except (TypeError, ValueError) as exc:
                    raise type(exc)(f"{cls.__name__.lower()}: an input could not become a "
                                    f"tensor ({exc})") from None
                break
        fn = cls()
        n = len(tensors)  # one or two inputs, almost always: spelled out, no comprehensions
        if n == 2:
            arrays: Any = (tensors[0].data, tensors[1].data)
        elif n == 1:
            arrays = (tensors[0].data,)
        else:
            arrays = [t.data for t in tensors]
        try:
            data = fn.forward(*arrays, **params) if params else fn.forward(*arrays)
        except (ValueError, IndexError, TypeError) as exc:
            raise _rephrase(fn.op, exc, tensors) from None
        if type(data) is not np.ndarray and isinstance(data, (np.generic, int, float, bool)):
            data = np.asarray(data)  # NumPy reductions return scalars; a Tensor holds an array
        # Record the node only when grad mode is on and some input requires grad;
        # otherwise (no_grad, and every backward rule) this is all the work done.
        if not _state.grad_enabled:
            needs: tuple[bool, ...] = ()
        elif n == 2:
            needs = (tensors[0].requires_grad, tensors[1].requires_grad)
        elif n == 1:
            needs = (tensors[0].requires_grad,)
        else:
            needs = tuple([t.requires_grad for t in tensors])
        if True in needs and data.dtype.kind == "f":
            out = Tensor._make(data, True)
            fn.inputs = tensors
            if n == 2:
                versions = (tensors[0]._version, tensors[1]._version)
            else:
                versions = tuple([t._version for t in tensors])
            # Shared copies of the usual small tuples: fewer objects for Python's
            # cyclic garbage collector to track (it rescans large graphs often).
            fn.needs_input_grad = _SHARED_TUPLES.get(needs, needs)
            fn._versions = _SHARED_TUPLES.get(versions, versions)
            out._ctx = fn
        else:
            out = Tensor._make(data)
        if _anomaly_ever and _state.anomaly:
            rule = getattr(_state, "backward_of", None)  # set while a backward rule runs
            if rule is None:
                fn._created_at = _user_frame()
                _check_finite(data, f"{fn.op} (forward)", fn._created_at)
            else:  # an op inside a backward rule: blame that rule and the user's line
                fn._created_at = rule._created_at
                _check_finite(data, f"{rule.op} (backward, in its {fn.op} step)",
                              rule._created_at)
        return out


_SHARED_TUPLES = {t: t for t in [(False,), (True,), (0,), (0, 0), (0, 0, 0)]
                  + [(a, b) for a in (False, True) for b in (False, True)]}


def _rephrase(op: str, exc: Exception, tensors: Sequence[Tensor]) -> Exception:
    shapes = ", ".join(str(t.shape) for t in tensors)
    message = str(exc)
    if message.startswith(f"{op}:"):
        return exc  # the op already explained itself
    if "broadcast" in message:
        hint = (
            "Broadcasting aligns shapes from the right; each pair of axes must be equal "
            "or one of them 1. Reshape an operand (e.g. x.reshape(-1, 1)) so they match."
        )
        return ValueError(f"{op}: shapes {shapes} do not broadcast together. {hint}")
    error = type(exc) if type(exc) in (ValueError, IndexError, TypeError) else ValueError
    if isinstance(exc, np.exceptions.AxisError):
        error = np.exceptions.AxisError
    return error(f"{op}: {message} (input shapes: {shapes})")


# ---------------------------------------------------------------------------
# unbroadcast: undo NumPy broadcasting in one place.
# ---------------------------------------------------------------------------


def unbroadcast(grad: Tensor, shape: tuple[int, ...], op: str = "", index: int = 0) -> Tensor:
    """Sum ``grad`` down to ``shape``.

    If an input of shape (3, 1) was broadcast to (2, 3, 4) in forward, each of
    its elements was used 2 * 4 times, so its gradient is the sum of the
    output gradient over those copies: over the leading axis that broadcasting
    added and over the axis where the input had size 1.
    """
    if grad.shape == shape or str(grad.shape) == str(shape):  # Dask's unknown sizes: nan
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0 or any(g != s and s != 1 for g, s in zip(grad.shape[lead:], shape)):
        raise ValueError(
            f"{op}: backward returned a gradient of shape {grad.shape} for input {index}, "
            f"which has shape {shape}; a gradient must have the input's shape or a shape "
            f"the input broadcasts to."
        )
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1
    )
    if not _state.grad_enabled:  # first-order backward records nothing: sum the array
        # keepdims: an ndarray even when everything is summed (shape ()), never a NumPy scalar
        return Tensor._make(grad.data.sum(axis=axes, keepdims=True).reshape(shape))
    if len(axes) == lead:  # only leading axes were added: one sum, no reshape
        return grad.sum(axis=axes)
    grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape) if grad.shape != shape else grad


# ---------------------------------------------------------------------------
# The backward pass: a topological order, then one walk with a pending dict.
# ---------------------------------------------------------------------------


def toposort(roots: Iterable[Tensor]) -> list[Tensor]:
    """Tensors reachable from ``roots`` that require grad, each after all its consumers.

    An iterative depth-first search: a node is appended once all its parents
    are, then the list is reversed (outputs first, leaves last).
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack = [(root, False) for root in roots]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for parent in recorded_inputs(node._ctx):
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def backward(
    roots: Sequence[Tensor],
    grads: Sequence[Tensor],
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Propagate ``grads`` from ``roots`` to every Tensor that requires grad.

    With ``inputs=None`` leaf gradients accumulate into ``.grad`` (``Tensor.backward``).
    Otherwise nothing is written and the gradients reaching ``inputs`` are returned
    (``mg.autograd.grad``).
    """
    consumers, parents_of = _count_consumers(roots)
    pending: dict[int, Tensor] = {}
    for root, grad in zip(roots, grads):
        _accumulate(pending, root, grad)
    # Gradients the engine allocated itself and nobody else holds yet: adding
    # into them in place is safe. (Not with create_graph: the sum is an op then.)
    owned: set[int] | None = None if create_graph else set()
    wanted = None if inputs is None else {id(t): None for t in inputs}
    leaves: list[Tensor] = []
    ready = [root for root in {id(r): r for r in roots}.values() if id(root) not in consumers]
    with _gc_paused(), enable_grad() if create_graph else no_grad():
        while ready:
            node = ready.pop()  # every consumer of node has sent its share
            key = id(node)
            fn = node._ctx
            if fn is None:
                leaves.append(node)
            grad = pending.pop(key, None)
            if grad is not None:
                fresh = owned is not None and key in owned
                if fresh:
                    owned.discard(key)  # type: ignore[union-attr]
                if wanted is not None and key in wanted:
                    wanted[key] = grad  # complete: every consumer has already sent its share
                if fn is None:
                    if wanted is None:
                        _store_grad(node, grad, create_graph, fresh)
                    continue
                if wanted is None and node._retains_grad:
                    _store_grad(node, grad, create_graph)
                _run_node(fn, node, grad, pending, parents_of[key], owned)
            if fn is not None:
                if not retain_graph:
                    _free(fn)  # its rule has run (or had nothing to run on)
                for parent in parents_of[key]:
                    if parent.requires_grad:
                        parent_key = id(parent)
                        left = consumers[parent_key] - 1
                        consumers[parent_key] = left
                        if left == 0:
                            ready.append(parent)
    if wanted is None and not create_graph and any(backends.is_lazy(t.data) for t in roots):
        # Dask: compute every leaf gradient (and the loss) in one pass over the data
        backends.materialize_grads(leaves, roots)
    if wanted is None:
        return None
    return [wanted[id(t)] for t in inputs]  # type: ignore[union-attr]


@contextlib.contextmanager
def _gc_paused() -> Any:
    """Pause Python's cyclic garbage collector during the walk. The walk makes no
    reference cycles (tests/test_memory.py checks that reference counting alone
    frees a graph), but the many gradient Tensors it creates would trigger
    collections that scan the whole, possibly huge, graph again and again.
    (gc.disable is process-wide; it is re-enabled only if it was on before.)"""
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _count_consumers(
    roots: Iterable[Tensor],
) -> tuple[dict[int, int], dict[int, tuple[Tensor, ...]]]:
    """The first of backward's two loops: for every Tensor that requires grad and is
    reachable from ``roots``, how many (node, input) edges consume it; and each
    node's inputs as recorded (see ``ops/inplace.py: recorded_inputs``)."""
    consumers: dict[int, int] = {}
    parents_of: dict[int, tuple[Tensor, ...]] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        fn = node._ctx
        if fn is None or id(node) in parents_of:
            continue
        parents = parents_of[id(node)] = recorded_inputs(fn)
        for parent in parents:
            if parent.requires_grad:
                key = id(parent)
                if key in consumers:
                    consumers[key] += 1
                else:  # first time seen: visit it
                    consumers[key] = 1
                    if parent._ctx is not None:
                        stack.append(parent)
    return consumers, parents_of


def _run_node(fn: Function, out: Tensor, grad: Tensor, pending: dict[int, Tensor],
              inputs: tuple[Tensor, ...] | None = None, owned: set[int] | None = None) -> None:
    """The chain rule at one node: ask fn for its inputs' gradients and pass them on."""
    if fn._freed:
        raise RuntimeError(
            f"backward: the graph through '{fn.op}' was already freed by an earlier "
            "backward(). Pass retain_graph=True to the first backward() to go through "
            "the graph twice."
        )
    if inputs is None:
        inputs = recorded_inputs(fn)
    # recorded_inputs returns fn.inputs itself exactly when no input changed version
    if fn.saves and (inputs is not fn.inputs or fn._out_modified_by is not None):
        check_saved(fn, out)
    anomaly = _anomaly_ever and _state.anomaly
    if anomaly:
        previous_rule = _state.backward_of
        _state.backward_of = fn  # detect_anomaly names fn if an op in its rule makes NaN/inf
        try:
            input_grads = fn.backward(grad, out, *inputs)
        finally:
            _state.backward_of = previous_rule
    else:
        input_grads = fn.backward(grad, out, *inputs)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(fn.inputs):
        raise ValueError(
            f"{fn.op}: backward returned {len(input_grads)} gradients for "
            f"{len(fn.inputs)} inputs; return one per input (None where there is none)."
        )
    needs = fn.needs_input_grad
    for index, (tensor, g) in enumerate(zip(inputs, input_grads)):
        if g is None or not needs[index]:
            continue
        if not isinstance(g, Tensor):
            g = Tensor._make(g if hasattr(g, "__array_function__") else np.asarray(g))
        if g.data.shape != tensor.data.shape:
            g = unbroadcast(g, tensor.shape, fn.op, index)
        if g.data.dtype != tensor.data.dtype:
            g = g.astype(tensor.dtype)  # gradients keep their input's dtype, as PyTorch
        if anomaly:
            _check_finite(g.data, f"{fn.op} (backward, gradient of input {index})",
                          fn._created_at)
        _accumulate(pending, tensor, g, owned)


def _accumulate(pending: dict[int, Tensor], tensor: Tensor, grad: Tensor,
                owned: set[int] | None = None) -> None:
    """A Tensor used by several ops receives one gradient from each: the chain
    rule says they add up. ``owned`` (None under create_graph, where the sum must
    be an op) holds the keys whose pending array the engine allocated itself:
    only those are added into in place -- a rule may hand the same gradient
    Tensor to two inputs (Add does), so any other array may be shared."""
    key = id(tensor)
    previous = pending.get(key)
    if previous is None:
        pending[key] = grad
    elif owned is None:
        pending[key] = previous + grad
    elif key in owned:
        np.add(previous.data, grad.data, out=previous.data)
    else:
        total = previous.data + grad.data
        if isinstance(total, np.generic):  # 0-d + 0-d gives a NumPy scalar
            total = np.asarray(total)
        pending[key] = Tensor._make(total)
        if type(total) is np.ndarray:  # Dask and CuPy arrays are not written into
            owned.add(key)


def _store_grad(tensor: Tensor, grad: Tensor, create_graph: bool, fresh: bool = False) -> None:
    if not create_graph and not fresh:
        grad = Tensor._make(grad.data.copy())  # .grad never aliases another tensor's array
    if tensor.grad is None:
        tensor.grad = grad
    elif create_graph:
        tensor.grad = tensor.grad + grad
    else:
        tensor.grad = Tensor._make(tensor.grad.data + grad.data)


def _free(fn: Function) -> None:
    """Release what a node kept for its backward. The links to its inputs stay, so
    the graph can still be drawn, but a second backward through it is an error."""
    if len(fn.__dict__) > 3:  # more than inputs, needs_input_grad and _versions
        kept = fn.inputs, fn.needs_input_grad, fn._versions
        fn.__dict__.clear()
        fn.inputs, fn.needs_input_grad, fn._versions = kept
    fn._freed = True


# ---------------------------------------------------------------------------
# Anomaly detection support (mg.autograd.detect_anomaly).
# ---------------------------------------------------------------------------


def _user_frame() -> str:
    """'file:line in function' of the innermost frame outside minigrad's own package."""
    package = __file__.rsplit("engine.py", 1)[0]
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.startswith(package):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown>"


def _check_finite(array: Any, what: str, where: str | None) -> None:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        kind = "NaN" if np.isnan(array).any() else "inf"
        if where is None:
            where = ("a line not known: the node was created outside detect_anomaly(); "
                     "run the forward pass inside it too")
        raise FloatingPointError(
            f"detect_anomaly: {what} produced {kind}. The node was created at {where}."
        )


# In-place changes (ops/inplace.py) decide which inputs a node's backward gets.
from minigrad.ops.inplace import check_saved, recorded_inputs  # noqa: E402
