"""The autograd core: grad mode, the Function base class, unbroadcast, and backward.

Read this file after ``tensor.py``. Everything here is about one idea: every
operation records a node (a :class:`Function` instance) that remembers its
input Tensors; ``backward`` walks those nodes from the output back to the
leaves, asking each node for the gradient of its inputs (the chain rule) and
adding up the contributions that reach the same Tensor.

No recursion anywhere: the walk takes nodes from a heap ordered by when they
were recorded (latest first), so a chain of a million ops back-propagates as
well as a chain of three.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import heapq
import itertools
import operator
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from minigrad import backends
from minigrad.creation import constant, number
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
    _seq = 0  # when it was recorded (see backward)

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
        fn = cls()
        # One and two inputs, spelled out: this is the hot path of every op.
        if len(inputs) == 2:
            tensors: tuple[Tensor, ...] = inputs
            a, b = inputs
            if type(b) is not Tensor or type(a) is not Tensor:
                if type(b) in _NUMBER_TYPES and type(a) is Tensor and _is_float_ndarray(a):
                    b = number(b, a.data.dtype)  # t * 2.0: the commonest case, inline
                    tensors = (a, b)
                else:
                    tensors = a, b = _as_tensors(fn, inputs)
            try:
                data = (fn.forward(a.data, b.data, **params) if params
                        else fn.forward(a.data, b.data))
            except (ValueError, IndexError, TypeError) as exc:
                raise _rephrase(fn.op, exc, tensors) from None
            record = _state.grad_enabled and (a.requires_grad or b.requires_grad)
        elif len(inputs) == 1 and type(inputs[0]) is Tensor:
            a = inputs[0]
            tensors = inputs
            try:
                data = fn.forward(a.data, **params) if params else fn.forward(a.data)
            except (ValueError, IndexError, TypeError) as exc:
                raise _rephrase(fn.op, exc, tensors) from None
            record = _state.grad_enabled and a.requires_grad
        else:
            tensors = _as_tensors(fn, inputs)
            try:
                data = fn.forward(*map(_data, tensors), **params)
            except (ValueError, IndexError, TypeError) as exc:
                raise _rephrase(fn.op, exc, tensors) from None
            record = _state.grad_enabled and any(map(_requires_grad, tensors))
        if type(data) is not np.ndarray and isinstance(data, (np.generic, int, float, bool)):
            data = np.asarray(data)  # NumPy reductions return scalars; a Tensor holds an array
        # Record the node only when grad mode is on and some input requires grad;
        # otherwise (no_grad, and every backward rule) this is all the work done.
        if record and data.dtype.kind == "f":
            out = Tensor._make(data, True)
            out._ctx = fn
            fn.inputs = tensors
            fn._seq = next(_sequence)  # recorded after its inputs' nodes: a higher number
            # which inputs need a gradient, and their versions (see ops/inplace.py);
            # shared copies of the usual small tuples: fewer objects to allocate and track
            needs = tuple(map(_requires_grad, tensors))
            versions = tuple(map(_version, tensors))
            fn.needs_input_grad = _SHARED_TUPLES.get(needs, needs)
            fn._versions = _SHARED_TUPLES.get(versions, versions)
        else:
            out = Tensor._make(data)
        if tracer is not None:  # mg.compile is recording this call (see compile.py)
            tracer(fn, tensors, out, params)
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


def _as_tensors(fn: Function, inputs: tuple[Any, ...]) -> tuple[Tensor, ...]:
    """Numbers and arrays among an op's inputs become constant Tensors."""
    if len(inputs) == 2:  # 2.0 * t, 1 - t: a Python number before a float Tensor
        a, b = inputs
        if type(b) is Tensor and type(a) in _NUMBER_TYPES and _is_float_ndarray(b):
            return number(a, b.data.dtype), b
    try:
        return tuple([t if isinstance(t, Tensor) else constant(t, inputs) for t in inputs])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{fn.op}: an input could not become a tensor ({exc})") from None


def _is_float_ndarray(t: Tensor) -> bool:
    """NumPy float data: a Python number beside it becomes a shared constant of its
    dtype (creation.number). CuPy and Dask data take the general path."""
    return type(t.data) is np.ndarray and t.data.dtype.kind == "f"


# mg.compile sets this to a callable(fn, input_tensors, out, params) while it traces.
tracer: Callable[..., None] | None = None

_sequence = itertools.count(1)
_last_inplace_change = 0  # the sequence number when a tensor was last changed in place


def note_inplace_change() -> None:
    """Called by every in-place op (ops/inplace.py): nodes recorded before now may
    have an input whose values changed since they used it."""
    global _last_inplace_change
    _last_inplace_change = next(_sequence)


_NUMBER_TYPES = (float, int)
_data = operator.attrgetter("data")
_requires_grad = operator.attrgetter("requires_grad")
_version = operator.attrgetter("_version")

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
# The backward pass: nodes latest first, each once its gradient is complete.
# ---------------------------------------------------------------------------
#
# Every recorded node gets a sequence number from one counter, and an op is
# always recorded after the ops that made its inputs. So going through nodes
# from the highest number down visits every consumer of a tensor before the
# tensor itself: by the time a node is reached, all of its gradient has
# arrived. (PyTorch orders its ready queue by the same kind of number.)


def toposort(roots: Iterable[Tensor]) -> list[Tensor]:
    """Tensors reachable from ``roots`` that require grad, each after all its consumers:
    the order ``backward`` goes through them (nodes latest first, then the leaves)."""
    nodes: list[Tensor] = []
    leaves: list[Tensor] = []
    seen: set[int] = set()
    stack = [root for root in roots if root.requires_grad]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._ctx is None:
            leaves.append(t)
            continue
        nodes.append(t)
        stack.extend(parent for parent in recorded_inputs(t._ctx) if parent.requires_grad)
    nodes.sort(key=lambda t: t._ctx._seq, reverse=True)
    return nodes + leaves


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
    pending: dict[int, Tensor] = {}  # id(tensor) -> the sum of the gradients sent to it so far
    # Gradients the engine allocated itself and nobody else holds yet: adding
    # into them in place is safe. (Not with create_graph: the sum is an op then.)
    owned: set[int] | None = None if create_graph else set()
    waiting: list[tuple[int, Tensor]] = []  # a heap of (-sequence number, node)
    leaves: list[Tensor] = []
    for root, grad in zip(roots, grads):
        _send(root, grad, pending, owned, waiting, leaves)
    wanted = None if inputs is None else {id(t): None for t in inputs}
    with _gc_paused(), enable_grad() if create_graph else no_grad():
        while waiting:
            node = heapq.heappop(waiting)[1]
            key = id(node)
            grad = pending.pop(key)  # complete: every consumer has already sent its share
            if wanted is not None:
                if key in wanted:
                    wanted[key] = grad
            elif node._retains_grad:
                _store_grad(node, grad, create_graph)
            fn = node._ctx
            parents, input_grads = _run_node(fn, node, grad)
            needs = fn.needs_input_grad
            for index, (parent, g) in enumerate(zip(parents, input_grads)):
                if g is None or not needs[index]:
                    continue
                if (type(g) is not Tensor or g.data.shape != parent.data.shape
                        or g.data.dtype != parent.data.dtype):
                    g = _conform(g, parent, fn.op, index)
                _send(parent, g, pending, owned, waiting, leaves)
            if not retain_graph:
                fn._freed = True  # a second backward through fn is an error (as PyTorch)
    for leaf in leaves:
        key = id(leaf)
        grad = pending.pop(key)
        if wanted is not None:
            if key in wanted:
                wanted[key] = grad
        else:
            _store_grad(leaf, grad, create_graph, owned is not None and key in owned)
    if wanted is None and not create_graph and any(backends.is_lazy(t.data) for t in roots):
        # Dask: compute every leaf gradient (and the loss) in one pass over the data
        backends.materialize_grads(leaves, roots)
    if wanted is None:
        return None
    return [wanted[id(t)] for t in inputs]  # type: ignore[union-attr]


def _send(tensor: Tensor, grad: Tensor, pending: dict[int, Tensor], owned: set[int] | None,
          waiting: list[tuple[int, Tensor]], leaves: list[Tensor]) -> None:
    """Add one consumer's share to ``tensor``'s gradient. A Tensor used by several ops
    receives one gradient from each: the chain rule says they add up. The first
    share also queues the tensor: a node by its sequence number, a leaf for the end.

    ``owned`` (None under create_graph, where the sum must be an op) holds the keys
    whose pending array the engine allocated itself: only those are added into in
    place -- a rule may hand the same gradient Tensor to two inputs (Add does), so
    any other array may be shared."""
    key = id(tensor)
    previous = pending.get(key)
    if previous is None:
        pending[key] = grad
        if tensor._ctx is None:
            leaves.append(tensor)
        else:
            heapq.heappush(waiting, (-tensor._ctx._seq, tensor))
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


def _run_node(fn: Function, out: Tensor, grad: Tensor) -> tuple[tuple[Tensor, ...], tuple]:
    """The chain rule at one node: fn's inputs as recorded, and the gradient its
    backward rule gives each of them (None where there is none)."""
    if fn._freed:
        raise RuntimeError(
            f"backward: the graph through '{fn.op}' was already freed by an earlier "
            "backward(). Pass retain_graph=True to the first backward() to go through "
            "the graph twice."
        )
    if fn._seq > _last_inplace_change:  # nothing was changed in place since fn was recorded
        inputs = fn.inputs
    else:
        inputs = recorded_inputs(fn)  # the versions fn used (see ops/inplace.py)
        if fn.saves:
            check_saved(fn, out)  # and an error if backward would read changed values
    if _anomaly_ever and _state.anomaly:
        input_grads = _backward_checked(fn, grad, out, inputs)
    else:
        input_grads = fn.backward(grad, out, *inputs)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    if len(input_grads) != len(inputs):
        raise ValueError(
            f"{fn.op}: backward returned {len(input_grads)} gradients for "
            f"{len(inputs)} inputs; return one per input (None where there is none)."
        )
    return inputs, input_grads


def _conform(g: Any, tensor: Tensor, op: str, index: int) -> Tensor:
    """A rule's gradient as a Tensor of its input's shape and dtype (as PyTorch)."""
    if not isinstance(g, Tensor):
        g = Tensor._make(g if hasattr(g, "__array_function__") else np.asarray(g))
    if g.data.shape != tensor.data.shape:
        g = unbroadcast(g, tensor.shape, op, index)
    if g.data.dtype != tensor.data.dtype:
        g = g.astype(tensor.dtype)
    return g


def _store_grad(tensor: Tensor, grad: Tensor, create_graph: bool, fresh: bool = False) -> None:
    if not create_graph and not fresh:
        grad = Tensor._make(grad.data.copy())  # .grad never aliases another tensor's array
    if tensor.grad is None:
        tensor.grad = grad
    elif create_graph:
        tensor.grad = tensor.grad + grad
    else:
        tensor.grad = Tensor._make(tensor.grad.data + grad.data)


# ---------------------------------------------------------------------------
# Anomaly detection support (mg.autograd.detect_anomaly).
# ---------------------------------------------------------------------------


def _backward_checked(fn: Function, grad: Tensor, out: Tensor, inputs: tuple[Tensor, ...]) -> Any:
    """fn's backward under detect_anomaly: an op inside the rule that makes NaN/inf
    names fn, and so does a NaN/inf gradient the rule returns."""
    previous_rule = _state.backward_of
    _state.backward_of = fn
    try:
        input_grads = fn.backward(grad, out, *inputs)
    finally:
        _state.backward_of = previous_rule
    for index, g in enumerate(input_grads if type(input_grads) is tuple else (input_grads,)):
        if g is not None:
            _check_finite(g.data if isinstance(g, Tensor) else np.asarray(g),
                          f"{fn.op} (backward, gradient of input {index})", fn._created_at)
    return input_grads


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
