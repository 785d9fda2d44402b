"""In-place operations: ``t += x``, ``t -= x``, ``t *= x``, ``t /= x`` and ``t[idx] = v``.

NumPy changes an array in place; an autograd engine must also keep the graph
right. The rules are PyTorch's:

1. The new values are written into ``t.data`` itself (the same array object,
   so every alias of it sees them), and ``t``'s version goes up by one (the
   counter is shared with every view and detached copy: ``versions.py``).
2. While a graph is recorded, ``t`` moves onto a new node whose first input is
   a snapshot of ``t`` as it was (holding ``t``'s old node), so gradients keep
   flowing through the history. Nodes that used ``t`` *before* the change send
   their gradient to that snapshot: the engine finds it by version.
3. A node whose backward reads the old values (see ``Function.saves``) cannot
   get them back, so its backward raises ``RuntimeError`` naming the op and
   where the tensor was modified.

Changing a leaf that requires grad is an error while grad mode is on: update
parameters under ``mg.no_grad()``, as the optimizers do. Writing into
``t.data`` directly bypasses all of this -- no version, no graph, no error.

>>> import minigrad as mg
>>> x = mg.tensor([1.0, 2.0], requires_grad=True)
>>> y = x * 1.0
>>> y += x          # recorded: y = x + x
>>> y[0] = 0.0      # recorded: y[0] no longer depends on x
>>> y.sum().backward()
>>> x.grad
Tensor([0., 2.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import versions
from minigrad.engine import Function, is_grad_enabled
from minigrad.ops.arithmetic import Add, Divide, Multiply, Subtract
from minigrad.ops.indexing import _plain_index, getitem
from minigrad.tensor import Tensor

_OPS = {"+=": (Add, np.add), "-=": (Subtract, np.subtract),
        "*=": (Multiply, np.multiply), "/=": (Divide, np.true_divide)}


class SetItem(Function):
    """out = x with out[idx] = v;   d out/dx = 1 except at idx (overwritten: 0),
    d out/dv = grad[idx]   (summed down to v's shape if v was broadcast)"""

    saves = ()  # backward needs only the index

    def forward(self, x, v, index):
        self.index = index
        out = x.copy()
        out[index] = v
        return out

    def backward(self, grad, out, x, v):
        grad_x = SetItem.apply(grad, 0.0, index=self.index) if self.needs_input_grad[0] else None
        grad_v = getitem(grad, self.index) if self.needs_input_grad[1] else None
        return grad_x, grad_v


def update(t: Tensor, symbol: str, other: Any) -> Tensor:
    """``t += other`` (``symbol`` one of ``+= -= *= /=``): write the result into ``t``."""
    _check_target(t, symbol)
    cls, ufunc = _OPS[symbol]
    if _records(t, other):
        # mul reads its first input in backward, so its snapshot keeps the old values
        old = _snapshot(t, copy="inputs" in cls.saves)
        _rebase(t, cls.apply(old, old if other is t else other), symbol)
    else:
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(t.data, value, out=t.data)
        except (TypeError, ValueError) as exc:
            raise _write_error(symbol, t, np.shape(value), exc) from None
        _bump(t, symbol)
    return t


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value``; recorded, so gradients reach both ``t``'s history and ``value``."""
    _check_target(t, "setitem")
    index = _plain_index(index)
    if _records(t, value) and t.data.dtype.kind != "f":
        raise TypeError(
            f"setitem: cannot write a value that requires grad into a tensor of dtype "
            f"{t.dtype}: only floating-point tensors carry gradients. Convert first "
            "(t = t.astype(np.float64)), or write value.detach() if no gradient should flow."
        )
    if _records(t, value):
        _rebase(t, SetItem.apply(_snapshot(t, copy=False), value, index=index), "setitem")
        return
    try:
        t.data[index] = value.data if isinstance(value, Tensor) else value
    except (TypeError, ValueError) as exc:
        raise _write_error("setitem", t, np.shape(value), exc) from None
    _bump(t, "setitem")


# -- the steps ------------------------------------------------------------


def _check_target(t: Tensor, op: str) -> None:
    if t._ctx is None and t.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad cannot be changed in place while grad "
            "mode is on (the change would be invisible to its gradient). Update it under "
            "`with mg.no_grad():` as optimizers do, or make a new tensor (x = x + 1)."
        )
    if not isinstance(t.data, np.ndarray):
        raise TypeError(f"{op}: in-place ops need NumPy data, but this tensor holds "
                        f"{type(t.data).__name__}; use an out-of-place op (x = x + 1).")
    # (an earlier in-place op's snapshot of t, its first input, shares t's memory by design)
    parents = t._ctx.inputs[1 if t._ctx._inplace_version else 0:] if t._ctx is not None else ()
    if any(np.may_share_memory(t.data, x.data) for x in parents):
        raise RuntimeError(
            f"{op}: this tensor is a view of the input of '{t._ctx.op}' (they share memory), "
            "so changing it in place would change that input behind the graph's back. "
            "Use an out-of-place op instead (y = y + 1)."
        )


def _records(t: Tensor, other: Any) -> bool:
    return is_grad_enabled() and (
        t.requires_grad or (isinstance(other, Tensor) and other.requires_grad))


def _snapshot(t: Tensor, copy: bool) -> Tensor:
    """A new Tensor standing for ``t`` as it is now: its node, version and (if the
    in-place op's backward reads them) its values."""
    old = Tensor._make(t.data.copy() if copy else t.data, t.requires_grad)
    old._ctx, old.name = t._ctx, t.name
    old._vc = [versions.version(t), None, None]  # its own counter, frozen at this version
    return old


def _rebase(t: Tensor, result: Tensor, op: str) -> None:
    """Make ``t`` the output of ``result``'s node, holding ``result``'s values."""
    try:
        np.copyto(t.data, result.data, casting="same_kind")
    except (TypeError, ValueError) as exc:
        raise _write_error(op, t, result.shape, exc) from None
    _bump(t, op, recorded=True)
    fn = result._ctx
    # the engine walks back past this node by version (versions.recorded_inputs)
    fn._inplace_version = fn._out_version = versions.version(t)
    t._ctx, t.requires_grad = fn, True


def _bump(t: Tensor, op: str, recorded: bool = False) -> None:
    versions.bump(t, op, versions.caller(), recorded)


def _write_error(op: str, t: Tensor, shape: tuple[int, ...], exc: Exception) -> Exception:
    if "read-only" in str(exc):
        return ValueError(f"{op}: this tensor's array is read-only (a broadcast view, or "
                          "NumPy memory marked unwritable); use an out-of-place op (t = t + x).")
    if "broadcast" not in str(exc) and (isinstance(exc, TypeError) or "cast" in str(exc)):
        return TypeError(
            f"{op}: the result cannot be stored in this tensor of dtype {t.dtype} in place "
            f"({exc}). Convert the tensor first (t = t.astype(np.float64)) or use an "
            "out-of-place op (t = t + x)."
        )
    return ValueError(
        f"{op}: a value of shape {shape} cannot be written into a tensor of shape {t.shape} "
        "in place; an in-place op never changes a tensor's shape. Use an out-of-place op "
        "(t = t + x), which broadcasts to a new shape."
    )
