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

import functools
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from minigrad import backends
from minigrad.tensor import Tensor

# ---------------------------------------------------------------------------
# Grad mode: one flag per thread, as PyTorch.
# ---------------------------------------------------------------------------

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward (the default)."""
    return getattr(_state, "grad_enabled", True)


def set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


def is_anomaly_enabled() -> bool:
    return getattr(_state, "anomaly", False)


def set_anomaly_enabled(mode: bool) -> None:
    _state.anomaly = bool(mode)


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

    # Filled in by apply() when the node is recorded.
    inputs: tuple[Tensor, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    _freed = False
    _created_at: str | None = None

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
        tensors = tuple(x if isinstance(x, Tensor) else _constant(x, inputs) for x in inputs)
        fn = cls()
        try:
            data = fn.forward(*[t.data for t in tensors], **params)
        except (ValueError, IndexError, TypeError) as exc:
            raise _rephrase(fn.op, exc, tensors) from None
        if isinstance(data, (np.generic, int, float, bool)):
            data = np.asarray(data)  # NumPy reductions return scalars; a Tensor holds an array
        requires_grad = (is_grad_enabled() and any(t.requires_grad for t in tensors)
                         and data.dtype.kind == "f")
        out = Tensor._make(data, requires_grad)
        if requires_grad:
            fn.inputs = tensors
            fn.needs_input_grad = tuple(t.requires_grad for t in tensors)
            fn._versions = tuple(t._version for t in tensors)
            out._ctx = fn
        if is_anomaly_enabled():
            fn._created_at = _user_frame()
            _check_finite(data, f"{fn.op} (forward)", fn._created_at)
        return out


def _constant(x: Any, inputs: Sequence[Any]) -> Tensor:
    """Wrap a non-Tensor operand. A Python number takes the dtype of a float Tensor
    beside it, so ``float32_tensor * 2.0`` stays float32 (as NumPy does)."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        for other in inputs:
            if isinstance(other, Tensor) and other.dtype.kind == "f":
                value = np.asarray(x, dtype=other.dtype)  # on CuPy/Dask: their own array type
                return Tensor._make(backends.asarray_like(value, other.data))
    return Tensor(x)


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
    if grad.shape == shape:
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
    if axes:
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
            for parent in node._ctx.inputs:
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
    order = toposort(roots)
    pending: dict[int, Tensor] = {}
    for root, grad in zip(roots, grads):
        _accumulate(pending, root, grad)
    wanted = None if inputs is None else {id(t): None for t in inputs}
    with enable_grad() if create_graph else no_grad():
        for node in order:
            grad = pending.pop(id(node), None)
            if grad is None:
                continue
            if wanted is not None and id(node) in wanted:
                wanted[id(node)] = grad  # complete: every consumer has already sent its share
            fn = node._ctx
            if fn is None:
                if wanted is None:
                    _store_grad(node, grad, create_graph)
                continue
            if wanted is None and node._retains_grad:
                _store_grad(node, grad, create_graph)
            _run_node(fn, node, grad, pending)
    if not retain_graph:
        for node in order:
            if node._ctx is not None:
                _free(node._ctx)
    if wanted is None and not create_graph and any(backends.is_lazy(t.data) for t in roots):
        # Dask: compute every leaf gradient (and the loss) in one pass over the data
        backends.materialize_grads([node for node in order if node._ctx is None], roots)
    if wanted is None:
        return None
    return [wanted[id(t)] for t in inputs]  # type: ignore[union-attr]


def _run_node(fn: Function, out: Tensor, grad: Tensor, pending: dict[int, Tensor]) -> None:
    """The chain rule at one node: ask fn for its inputs' gradients and pass them on."""
    if fn._freed:
        raise RuntimeError(
            f"backward: the graph through '{fn.op}' was already freed by an earlier "
            "backward(). Pass retain_graph=True to the first backward() to go through "
            "the graph twice."
        )
    for tensor, version in zip(fn.inputs, fn._versions):
        if tensor._version != version:
            raise RuntimeError(
                f"backward: an input of '{fn.op}' was modified in place after '{fn.op}' "
                f"used it (version {version} became {tensor._version}); its gradient would "
                "be wrong. Use an out-of-place op (x = x + 1) instead of x += 1."
            )
    input_grads = fn.backward(grad, out, *fn.inputs)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(fn.inputs):
        raise ValueError(
            f"{fn.op}: backward returned {len(input_grads)} gradients for "
            f"{len(fn.inputs)} inputs; return one per input (None where there is none)."
        )
    for index, (tensor, g) in enumerate(zip(fn.inputs, input_grads)):
        if g is None or not fn.needs_input_grad[index]:
            continue
        if not isinstance(g, Tensor):
            g = Tensor._make(g if hasattr(g, "__array_function__") else np.asarray(g))
        g = unbroadcast(g, tensor.shape, fn.op, index)
        if g.dtype != tensor.dtype:
            g = g.astype(tensor.dtype)  # gradients keep their input's dtype, as PyTorch
        if is_anomaly_enabled():
            _check_finite(g.data, f"{fn.op} (backward, gradient of input {index})",
                          fn._created_at)
        _accumulate(pending, tensor, g)


def _accumulate(pending: dict[int, Tensor], tensor: Tensor, grad: Tensor) -> None:
    # A Tensor used by several ops receives one gradient from each: the chain
    # rule says they add up.
    previous = pending.get(id(tensor))
    pending[id(tensor)] = grad if previous is None else previous + grad


def _store_grad(tensor: Tensor, grad: Tensor, create_graph: bool) -> None:
    if not create_graph:
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
        raise FloatingPointError(
            f"detect_anomaly: {what} produced {kind}. The node was created at {where}."
        )
