"""Faster versions of four engine functions, installed when minigrad is imported.

``engine.py`` is written to be read; this module is written to be fast, and
gives the same values and gradients (tests/test_engine_fastpath.py runs the
op table and the random-graph fuzzer through both). It is CPython's pairing of
``heapq.py`` with ``_heapq``: the plain code is the definition, this is the
accelerator.

* :func:`apply` -- ``Function.apply`` with the one- and two-input cases spelled
  out (no ``*args`` packing, no generator), a Python number beside a float
  Tensor wrapped once per (value, dtype), shared copies of the usual small
  tuples, and the version bookkeeping skipped when no input was ever changed
  in place.
* :func:`unbroadcast` -- first-order gradients summed on the arrays directly
  instead of through the ``sum`` and ``reshape`` ops.
* :func:`send` -- first-order gradient shares added on the arrays directly.
* :func:`backward` -- the engine's own walk with Python's cyclic garbage
  collector paused: the walk makes no reference cycles, but the many gradient
  Tensors it creates would trigger collections that scan the whole (possibly
  huge) graph again and again.

``MINIGRAD_PLAIN=1`` in the environment (or ``uninstall()``) keeps the plain
versions, e.g. to step through ``engine.py`` in a debugger.
"""

from __future__ import annotations

import gc
import heapq
import operator
import os
from typing import Any

import numpy as np

from minigrad import engine, versions
from minigrad.engine import Function, _state
from minigrad.tensor import Tensor, as_tensors, number, rephrase

_NUMBER_TYPES = (float, int)
_requires_grad = operator.attrgetter("requires_grad")
_SHARED_TUPLES = {t: t for t in [(False,), (True,), (0,), (0, 0), (0, 0, 0)]
                  + [(a, b) for a in (False, True) for b in (False, True)]}
_clock = versions.clock


def apply(cls: type[Function], *inputs: Any, **params: Any) -> Tensor:
    """``engine.Function.apply``, faster; the same result."""
    fn = cls()
    if len(inputs) == 2:
        tensors: tuple[Tensor, ...] = inputs
        a, b = inputs
        if type(b) is not Tensor or type(a) is not Tensor:
            if (type(b) in _NUMBER_TYPES and type(a) is Tensor and type(a.data) is np.ndarray
                    and a.data.dtype.kind == "f"):
                b = number(b, a.data.dtype)  # t * 2.0: the commonest case, inline
                tensors = (a, b)
            elif (type(a) in _NUMBER_TYPES and type(b) is Tensor and type(b.data) is np.ndarray
                    and b.data.dtype.kind == "f"):
                a = number(a, b.data.dtype)  # 1 - t
                tensors = (a, b)
            else:
                tensors = a, b = as_tensors(fn.op, inputs, not _state.grad_enabled)
        try:
            data = (fn.forward(a.data, b.data, **params) if params
                    else fn.forward(a.data, b.data))
        except (ValueError, IndexError, TypeError) as exc:
            raise rephrase(fn.op, exc, tensors) from None
        needs = (a.requires_grad, b.requires_grad)
        record = _state.grad_enabled and (needs[0] or needs[1])
        fresh = (type(data) is np.ndarray and data.base is None
                 and data is not a.data and data is not b.data)
        counted = record and (a._vc is not None or b._vc is not None)
    elif len(inputs) == 1 and type(inputs[0]) is Tensor:
        a = inputs[0]
        tensors = inputs
        try:
            data = fn.forward(a.data, **params) if params else fn.forward(a.data)
        except (ValueError, IndexError, TypeError) as exc:
            raise rephrase(fn.op, exc, tensors) from None
        needs = (a.requires_grad,)
        record = _state.grad_enabled and needs[0]
        fresh = type(data) is np.ndarray and data.base is None and data is not a.data
        counted = record and a._vc is not None
    else:
        tensors = as_tensors(fn.op, inputs, not _state.grad_enabled)
        try:
            data = fn.forward(*[t.data for t in tensors], **params)
        except (ValueError, IndexError, TypeError) as exc:
            raise rephrase(fn.op, exc, tensors) from None
        needs = tuple(map(_requires_grad, tensors))
        record = _state.grad_enabled and any(needs)
        fresh = False
        counted = True
    if type(data) is not np.ndarray and isinstance(data, (np.generic, int, float, bool)):
        data = np.asarray(data)  # NumPy reductions return scalars; a Tensor holds an array
        fresh = True
    if record and data.dtype.kind == "f":
        out = Tensor._make(data, True)
        out._ctx = fn
        fn.inputs = tensors
        fn._seq = next(_clock)
        fn.needs_input_grad = _SHARED_TUPLES.get(needs, needs)
        if counted:
            v = versions.record(fn, tensors)
            fn._versions = _SHARED_TUPLES.get(v, v)
        else:  # no input was ever changed in place: every version is 0
            fn._versions = (0, 0) if len(tensors) == 2 else (0,)
        if not fresh:
            fn._out_version = versions.share_if_view(out, tensors)
    else:
        out = Tensor._make(data)
        if not fresh:
            versions.share_if_view(out, tensors)
    if engine.tracer is not None:  # mg.compile is recording this call
        engine.tracer(fn, tensors, out, params)
    if engine.anomaly is not None:  # detect_anomaly was used in this process
        engine.anomaly.forward(fn, out)
    return out


def unbroadcast(grad: Tensor, shape: tuple[int, ...], op: str = "", index: int = 0) -> Tensor:
    """``engine.unbroadcast``; first-order NumPy gradients are summed directly."""
    data = grad.data
    if _state.grad_enabled or type(data) is not np.ndarray or data.shape == shape:
        return _plain["unbroadcast"](grad, shape, op, index)
    lead = data.ndim - len(shape)
    if lead < 0 or any(g != s and s != 1 for g, s in zip(data.shape[lead:], shape)):
        return _plain["unbroadcast"](grad, shape, op, index)  # raises the engine's error
    # keepdims: an ndarray even when everything is summed (shape ()), never a NumPy scalar
    axes = engine.summed_axes(data.shape, shape)
    return Tensor._make(data.sum(axis=axes, keepdims=True).reshape(shape))


def send(tensor: Tensor, grad: Tensor, pending: dict[int, Tensor],
         waiting: list[tuple[int, Tensor]], leaves: list[Tensor]) -> None:
    """``engine._send``; a first-order sum of NumPy gradients skips the ``add`` op
    (the same ``x + y``, into a new array: the shares may be shared arrays)."""
    key = id(tensor)
    previous = pending.get(key)
    if previous is None:
        pending[key] = grad
        if tensor._ctx is None:
            leaves.append(tensor)
        else:
            heapq.heappush(waiting, (-tensor._ctx._seq, tensor))
    elif _state.grad_enabled or type(previous.data) is not np.ndarray:
        pending[key] = previous + grad
    else:
        total = previous.data + grad.data
        pending[key] = Tensor._make(np.asarray(total) if type(total) is not np.ndarray else total)


def backward(*args: Any, **kwargs: Any) -> Any:
    """``engine.backward`` with the cyclic garbage collector paused (and restored;
    gc.disable is process-wide, so it is re-enabled only if it was on before)."""
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return _plain["backward"](*args, **kwargs)
    finally:
        if collecting:
            gc.enable()


_plain = {"apply": Function.__dict__["apply"], "unbroadcast": engine.unbroadcast,
          "_send": engine._send, "backward": engine.backward}


def install() -> None:
    """Use the fast versions (done at import unless ``MINIGRAD_PLAIN=1``)."""
    Function.apply = classmethod(apply)  # type: ignore[method-assign]
    engine.unbroadcast = unbroadcast
    engine._send = send
    engine.backward = backward


def uninstall() -> None:
    """Go back to the plain versions in ``engine.py``."""
    Function.apply = _plain["apply"]  # type: ignore[method-assign]
    engine.unbroadcast = _plain["unbroadcast"]
    engine._send = _plain["_send"]
    engine.backward = _plain["backward"]


def installed() -> bool:
    return engine.backward is backward


if os.environ.get("MINIGRAD_PLAIN", "").strip().lower() not in ("1", "true", "yes", "on"):
    install()
