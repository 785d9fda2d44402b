"""The autograd core: the Function base class, unbroadcast, and backward.

Read this file after ``tensor.py``. Everything here is about one idea: every
operation records a node (a :class:`Function` instance) that remembers its
input Tensors; ``backward`` walks those nodes from the output back to the
leaves, asking each node for the gradient of its inputs (the chain rule) and
adding up the contributions that reach the same Tensor. No recursion anywhere,
so a chain of a million ops back-propagates as well as a chain of three.

This is the plain version: ``_fastpath.py`` installs faster equivalents at
import (``MINIGRAD_PLAIN=1`` keeps these, for stepping through in a debugger).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import graph, versions

# Grad mode, one flag per thread: apply reads it, backward sets it (grad_mode.py).
from minigrad.grad_mode import (  # noqa: F401  (also engine.no_grad, as before)
    _state,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from minigrad.graph import toposort  # noqa: F401  (engine.toposort: the walk's order)
from minigrad.tensor import Tensor, as_tensors, rephrase, seed  # noqa: F401  (engine.seed)

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
    #: the op's name in graphs and errors; by default the class name in lower case
    name: str | None = None

    # Filled in by apply() when the node is recorded; _seq: when (see backward).
    inputs: tuple[Tensor, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    _seq = 0
    _freed = False
    # In-place bookkeeping (versions.py) and detect_anomaly's record (autograd.py).
    _versions: tuple[int, ...] = ()
    _out_version = _inplace_version = 0
    _out_modified_by = _stale_input = _created_at = None

    def forward(self, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, *arrays)")

    def backward(self, grad: Tensor, out: Tensor, *inputs: Tensor) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must define backward(self, grad, out, *inputs)"
        )

    @property
    def op(self) -> str:
        return self.name or type(self).__name__.lower()

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run forward on the inputs' arrays and, if needed, record the node."""
        fn = cls()
        tensors = as_tensors(fn.op, inputs, share=not _state.grad_enabled)
        try:
            data = fn.forward(*[t.data for t in tensors], **params)
        except (ValueError, IndexError, TypeError) as exc:
            raise rephrase(fn.op, exc, tensors) from None
        if isinstance(data, (np.generic, int, float, bool)):
            data = np.asarray(data)  # NumPy reductions return scalars; a Tensor holds an array
        out = Tensor._make(data)
        out_version = versions.share_if_view(out, tensors)  # y[0:2], y.T: one version
        # Record the node only when grad mode is on and some input requires grad;
        # otherwise (no_grad, and every backward rule) this is all the work done.
        if (_state.grad_enabled and data.dtype.kind == "f"
                and any(t.requires_grad for t in tensors)):
            out.requires_grad = True
            out._ctx = fn
            fn.inputs = tensors
            fn.needs_input_grad = tuple(t.requires_grad for t in tensors)
            fn._seq = next(versions.clock)  # after its inputs' nodes: a higher number
            fn._versions = versions.record(fn, tensors)
            fn._out_version = out_version
        if tracer is not None:
            tracer(fn, tensors, out, params)
        if anomaly is not None:
            anomaly.forward(fn, out)
        return out


# Hooks, None unless in use: mg.compile sets ``tracer`` to a callable(fn,
# input_tensors, out, params) while it traces; mg.autograd.detect_anomaly sets
# ``anomaly`` (autograd.py) to check every forward and backward for NaN/inf.
tracer: Callable[..., None] | None = None
anomaly: Any = None


# ---------------------------------------------------------------------------
# unbroadcast: undo NumPy broadcasting in one place.
# ---------------------------------------------------------------------------


def summed_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of a broadcast result that sum back to ``shape``: the leading axes
    broadcasting added, and the axes where ``shape`` has size 1."""
    lead = len(grad_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and grad_shape[lead + i] != 1)


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
    grad = grad.sum(axis=summed_axes(grad.shape, shape), keepdims=True)
    return grad.reshape(shape)


# ---------------------------------------------------------------------------
# The backward pass: nodes latest first, each once its gradient is complete.
# ---------------------------------------------------------------------------
#
# Every recorded node gets a number from one clock, and an op is always
# recorded after the ops that made its inputs. So going through nodes from the
# highest number down visits every consumer of a tensor before the tensor
# itself: by the time a node is reached, all of its gradient has arrived.
# (PyTorch orders its ready queue by the same kind of number.)


def backward(
    roots: Sequence[Tensor],
    grads: Sequence[Tensor],
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
    observe: Callable[..., None] | None = None,
) -> list[Tensor | None] | None:
    """Propagate ``grads`` from ``roots`` to every Tensor that requires grad.

    ``inputs=None``: leaf gradients accumulate into ``.grad`` (``Tensor.backward``).
    Otherwise only the graph between the roots and ``inputs`` is run (and freed),
    and the gradients reaching ``inputs`` are returned (``mg.autograd.grad``).
    ``observe(tensor, grad, parents, input_grads)``, called for every tensor in walk
    order, makes the walk only look: nothing freed (freed nodes are walked), no
    ``.grad`` written (``mg.viz.backward_steps`` explains a backward pass this way).
    """
    wanted = None if inputs is None else {id(t): None for t in inputs}
    needed, run = (None, None) if inputs is None else graph.needed(roots, wanted)
    pending: dict[int, Tensor] = {}  # id(tensor) -> the sum of the gradients sent to it
    waiting: list[tuple[int, Tensor]] = []  # a heap of (-sequence number, node)
    leaves: list[Tensor] = []
    for root, grad in zip(roots, grads):
        _send(root, grad, pending, waiting, leaves)
    looking = observe is not None
    with enable_grad() if create_graph else no_grad():
        while waiting:
            node = heapq.heappop(waiting)[1]
            grad = pending.pop(id(node))  # complete: every consumer has sent its share
            if wanted is not None:
                if id(node) in wanted:
                    wanted[id(node)] = grad
            elif node._retains_grad and not looking:
                _store_grad(node, grad, create_graph)
            if run is not None and id(node) not in run:
                continue  # autograd.grad: no wanted tensor below this one
            fn = node._ctx
            parents, input_grads = _run_node(fn, node, grad, looking)
            for index, (parent, g) in enumerate(zip(parents, input_grads)):
                if (g is None or not fn.needs_input_grad[index]
                        or (needed is not None and id(parent) not in needed)):
                    continue
                if (type(g) is not Tensor or g.data.shape != parent.data.shape
                        or g.data.dtype != parent.data.dtype):
                    g = _conform(g, parent, fn.op, index)
                _send(parent, g, pending, waiting, leaves)
            if looking:
                observe(node, grad, parents, input_grads)
            elif not retain_graph:
                fn._freed = True  # a second backward through fn is an error (as PyTorch)
    for leaf in leaves:
        grad = pending.pop(id(leaf))
        if observe is not None:
            observe(leaf, grad, (), ())
        elif wanted is not None:
            if id(leaf) in wanted:
                wanted[id(leaf)] = grad
        else:
            _store_grad(leaf, grad, create_graph)
    return None if wanted is None else [wanted[id(t)] for t in inputs]  # type: ignore[union-attr]


def _send(tensor: Tensor, grad: Tensor, pending: dict[int, Tensor],
          waiting: list[tuple[int, Tensor]], leaves: list[Tensor]) -> None:
    """Add one consumer's share to ``tensor``'s gradient. A Tensor used by several ops
    receives one gradient from each: the chain rule says they add up. The first
    share also queues the tensor: a node by its sequence number, a leaf for the end."""
    key = id(tensor)
    previous = pending.get(key)
    if previous is None:
        pending[key] = grad
        if tensor._ctx is None:
            leaves.append(tensor)
        else:
            heapq.heappush(waiting, (-tensor._ctx._seq, tensor))
    else:
        pending[key] = previous + grad  # a new Tensor: shares may be shared arrays


def _run_node(fn: Function, out: Tensor, grad: Tensor,
              looking: bool) -> tuple[tuple[Tensor, ...], tuple]:
    """The chain rule at one node: fn's inputs as recorded, and the gradient its
    backward rule gives each of them (None where there is none)."""
    if fn._freed and not looking:
        raise RuntimeError(
            f"backward: the graph through '{fn.op}' was already freed by an earlier "
            "backward(). Pass retain_graph=True to the first backward() to go through "
            "the graph twice."
        )
    if fn._seq > versions.last_change:  # nothing was changed in place since fn was recorded
        inputs = fn.inputs
    else:
        inputs = versions.recorded_inputs(fn)  # the versions fn used
        versions.check_saved(fn, out)  # and an error if backward would read changed values
    if anomaly is not None:
        input_grads = anomaly.backward(fn, grad, out, inputs)
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


def _store_grad(tensor: Tensor, grad: Tensor, create_graph: bool) -> None:
    """``tensor.grad`` += ``grad``, always into an array of its own: a rule may hand one
    gradient to several inputs, and the caller's gradient is the caller's."""
    if not tensor.requires_grad:
        return  # requires_grad_(False) since the forward: .grad stays as it is (as PyTorch)
    if create_graph:  # ops, so that the gradient can be differentiated again
        tensor.grad = grad * 1 if tensor.grad is None else tensor.grad + grad
    elif tensor.grad is None:
        tensor.grad = Tensor._make(grad.data.copy())
    else:
        total = tensor.grad.data + grad.data
        tensor.grad = Tensor._make(np.asarray(total) if isinstance(total, np.generic) else total)
