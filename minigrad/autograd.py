"""mg.autograd: derivatives as values -- grad, jacobian, hessian -- and detect_anomaly.

``Tensor.backward()`` adds gradients into the leaves' ``.grad``, which is what
training wants. Calculus wants the derivative handed back as a value, leaving
every ``.grad`` alone: :func:`grad` does that (PyTorch's semantics), on top of
the same engine walk (``engine.backward(..., inputs=...)``). With
``create_graph=True`` the backward rules, which are written with minigrad ops,
record a graph of their own, so a gradient can be differentiated again:
:func:`hessian` is reverse mode over reverse mode.
"""

from __future__ import annotations

import contextlib
import linecache
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import engine, versions
from minigrad.tensor import Tensor

__all__ = ["detect_anomaly", "grad", "hessian", "is_anomaly_enabled", "jacobian",
           "set_anomaly_enabled"]


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not stored.

    Computes ``sum_k grad_outputs[k] . d outputs[k] / d inputs[i]`` for each
    input, as ``torch.autograd.grad``. No ``.grad`` attribute is read or written.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
        What to differentiate; each must require grad.
    inputs : Tensor or sequence of Tensor
        With respect to what; each must require grad (leaves or not).
    grad_outputs : Tensor, array, number, or a sequence of them (one per output)
        The upstream gradient of each output, of its shape. ``None`` means ones,
        allowed only for a one-element output.
    retain_graph : bool, optional
        Keep the graph for another backward; defaults to ``create_graph``.
    create_graph : bool
        Record the backward pass itself, so the result can be differentiated again.
    allow_unused : bool
        An input the outputs do not depend on is an error unless this is True,
        in which case its gradient is ``None``.

    Returns
    -------
    tuple
        One gradient Tensor (or ``None``) per input, of that input's shape.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor(3.0, requires_grad=True)
    >>> (dx,) = mg.autograd.grad(x ** 3, x, create_graph=True)
    >>> dx.item(), mg.autograd.grad(dx, x)[0].item()
    (27.0, 18.0)
    """
    outputs = _as_list(outputs, "outputs")
    inputs = _as_list(inputs, "inputs")
    for k, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"grad: output {k} (shape {out.shape}) does not require grad, so nothing "
                "connects it to the inputs. Compute it from tensors with requires_grad=True, "
                "outside no_grad()."
            )
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(
                f"grad: input {i} (shape {x.shape}) does not require grad, so no gradient "
                "is recorded for it. Create it with requires_grad=True."
            )
    grads = [engine.seed(out, g, "grad", f"grad_outputs[{k}]") for k, (out, g) in
             enumerate(zip(outputs, _grad_outputs(grad_outputs, len(outputs)), strict=True))]
    if retain_graph is None:
        retain_graph = create_graph
    result = engine.backward(outputs, grads, retain_graph=retain_graph,
                             create_graph=create_graph, inputs=inputs)
    assert result is not None
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the "
                "outputs, so it has no gradient. Pass allow_unused=True to get None for it."
            )
    return tuple(result)


def jacobian(f: Callable[[Tensor], Tensor], x: Any) -> Tensor:
    """The dense Jacobian ``J[i..., j...] = d f(x)[i...] / d x[j...]``: ``out.shape + x.shape``.

    Computed by the engine: one backward pass (a vector-Jacobian product with a
    one-hot upstream gradient, ``retain_graph=True``) per output element gives
    one row. ``x`` is used through a fresh leaf sharing its data, so nothing
    about ``x`` (its ``.grad``, its graph) changes.

    Examples
    --------
    >>> import minigrad as mg
    >>> mg.autograd.jacobian(lambda x: x * x, mg.tensor([1.0, 2.0]))
    Tensor([[2., 0.],
            [0., 4.]])
    """
    leaf = _leaf(x, "jacobian")
    out = f(leaf)
    _check_output(out, "jacobian")
    return _rows(out, leaf)


def hessian(f: Callable[[Tensor], Tensor], x: Any) -> Tensor:
    """The dense Hessian ``H[i..., j...] = d^2 f / d x[i...] d x[j...]``: ``x.shape + x.shape``.

    Reverse over reverse: the gradient ``g = df/dx`` is computed with
    ``create_graph=True``, so ``g`` is a graph in ``x``; then one backward per
    element of ``g`` gives one row. ``f`` must return a one-element Tensor.

    Examples
    --------
    >>> import minigrad as mg
    >>> mg.autograd.hessian(lambda v: (v ** 2).sum(), mg.tensor([1.0, 1.0]))
    Tensor([[2., 0.],
            [0., 2.]])
    """
    leaf = _leaf(x, "hessian")
    out = f(leaf)
    _check_output(out, "hessian")
    if out.size != 1:
        raise ValueError(
            f"hessian: f must return a one-element Tensor (a scalar function), but it "
            f"returned shape {out.shape}. Reduce it (e.g. .sum()), or use "
            "mg.autograd.jacobian for a vector function."
        )
    if not out.requires_grad:
        return Tensor._make(np.zeros(leaf.shape + leaf.shape, dtype=leaf.dtype))
    (g,) = engine.backward([out], [Tensor._make(np.ones_like(out.data))],
                           retain_graph=True, create_graph=True, inputs=[leaf])
    if g is None:
        return Tensor._make(np.zeros(leaf.shape + leaf.shape, dtype=leaf.dtype))
    return _rows(g, leaf)


class detect_anomaly(contextlib.ContextDecorator):
    """Inside this context, a NaN or inf from any op raises ``FloatingPointError``.

    Each op's forward output and each gradient its backward rule returns is
    checked; the error names the op, forward or backward, and the line of your
    code that created the node. Checking costs time, so it is off by default.
    The setting is per thread and the previous one is restored on exit. Works
    as a decorator too. NumPy may print its own RuntimeWarning first.

    Examples
    --------
    >>> import numpy as np
    >>> import minigrad as mg
    >>> x = mg.tensor(0.0, requires_grad=True)
    >>> with mg.autograd.detect_anomaly(), np.errstate(divide="ignore"):
    ...     mg.log(x)
    Traceback (most recent call last):
    ...
    FloatingPointError: detect_anomaly: log (forward) produced inf. ...
    """

    def __enter__(self) -> detect_anomaly:
        self._previous = is_anomaly_enabled()
        set_anomaly_enabled(True)
        return self

    def __exit__(self, *exc: object) -> None:
        set_anomaly_enabled(self._previous)


class _Anomaly(threading.local):
    """The engine's ``anomaly`` hook (installed the first time any thread turns
    detection on; each thread's own flag says whether it checks)."""

    enabled = False
    backward_of: Any = None  # the Function whose backward rule is running

    def forward(self, fn: engine.Function, out: Tensor) -> None:
        if not self.enabled:
            return
        rule = self.backward_of
        if rule is None:
            fn._created_at = _user_frame()
            _check_finite(out.data, f"{fn.op} (forward)", fn._created_at)
        else:  # an op inside a backward rule: blame that rule and the user's line
            fn._created_at = rule._created_at
            _check_finite(out.data, f"{rule.op} (backward, in its {fn.op} step)",
                          rule._created_at)

    def backward(self, fn: engine.Function, grad: Tensor, out: Tensor,
                 inputs: tuple[Tensor, ...]) -> Any:
        if not self.enabled:
            return fn.backward(grad, out, *inputs)
        previous_rule, self.backward_of = self.backward_of, fn
        try:
            input_grads = fn.backward(grad, out, *inputs)
        finally:
            self.backward_of = previous_rule
        for index, g in enumerate(input_grads if type(input_grads) is tuple else (input_grads,)):
            if g is not None:
                _check_finite(g.data if isinstance(g, Tensor) else np.asarray(g),
                              f"{fn.op} (backward, gradient of input {index})", fn._created_at)
        return input_grads


_anomaly = _Anomaly()


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly`` (in this thread)."""
    return _anomaly.enabled


def set_anomaly_enabled(mode: bool) -> None:
    if mode:
        engine.anomaly = _anomaly  # from now on the engine calls the hook (cheap when off)
    _anomaly.enabled = bool(mode)


def _user_frame() -> str:
    """'file:line in function: source' of the user's line (versions.user_frame)."""
    frame = versions.user_frame()
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}: {source}"


def _check_finite(array: Any, what: str, where: str | None) -> None:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        kind = "NaN" if np.isnan(array).any() else "inf"
        if where is None:
            where = ("a line not known: the node was created outside detect_anomaly(); "
                     "run the forward pass inside it too")
        raise FloatingPointError(
            f"detect_anomaly: {what} produced {kind}. The node was created at {where}."
        )


# ---------------------------------------------------------------------------


def _rows(out: Tensor, leaf: Tensor) -> Tensor:
    """Stack d out.flat[k] / d leaf for every k: one backward per output element."""
    rows = np.zeros((out.size,) + leaf.shape, dtype=leaf.dtype)
    if out.requires_grad:
        for k in range(out.size):
            onehot = np.zeros(out.size, dtype=out.dtype)
            onehot[k] = 1
            (g,) = engine.backward([out], [Tensor._make(onehot.reshape(out.shape))],
                                   retain_graph=True, inputs=[leaf])
            if g is not None:
                rows[k] = g.data
    return Tensor._make(rows.reshape(out.shape + leaf.shape))


def _leaf(x: Any, where: str) -> Tensor:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind != "f":
        if data.dtype.kind not in "biu":
            raise TypeError(f"{where}: x must be a Tensor or numbers, not {type(x).__name__}.")
        data = data.astype(np.float64)
    return Tensor._make(data, requires_grad=True)


def _check_output(out: Any, where: str) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{where}: f must return a Tensor, but it returned "
                        f"{type(out).__name__}. Build f from minigrad ops.")


def _as_list(tensors: Any, what: str) -> list[Tensor]:
    items = [tensors] if isinstance(tensors, Tensor) else tensors
    if not isinstance(items, (list, tuple)) or not items:
        raise TypeError(f"grad: {what} must be a Tensor or a non-empty list/tuple of Tensors, "
                        f"not {type(tensors).__name__}.")
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: {what}[{i}] is a {type(t).__name__}, not a Tensor.")
    return list(items)


def _grad_outputs(grad_outputs: Any, n: int) -> list[Any]:
    if grad_outputs is None:
        return [None] * n
    if n == 1 and not (isinstance(grad_outputs, (list, tuple)) and len(grad_outputs) == 1
                       and isinstance(grad_outputs[0], (Tensor, np.ndarray, type(None)))):
        return [grad_outputs]  # one output: a list of numbers is its gradient's data
    if not isinstance(grad_outputs, (list, tuple)) or len(grad_outputs) != n:
        raise ValueError(f"grad: grad_outputs must hold one gradient per output ({n}), "
                         f"got {grad_outputs!r:.80}.")
    return list(grad_outputs)
