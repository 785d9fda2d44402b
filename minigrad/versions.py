"""Version counters: how backward notices that a tensor was changed in place.

Every Tensor has a version, 0 when it is made, one more after each in-place
change (``t += 1``, ``t[i] = v``, an optimizer step, ``load_state_dict``). A
recorded node remembers the versions of its inputs; if backward would read
values that have changed since, it raises instead of using them (PyTorch's
rule, see ``ops/inplace.py``).

Tensors that share memory share one counter, as PyTorch's views do: an op
whose output is a view of an input (``y[0:2]``, ``y.T``, ``y.reshape(...)``)
and ``t.detach()`` hand the new Tensor the same counter, so a change through
any alias is seen by every graph that saved one of them.

A counter is a small list ``[version, where, recorded]``: ``where`` is
``(op, file, line)`` of the last change (for the error message); ``recorded``
lists the versions made by in-place ops that were themselves recorded in the
graph. Most Tensors are never changed in place, so their counter is created
only when it is first needed (``t._vc is None`` means version 0).

Every path that writes into ``t.data`` on purpose calls :func:`mark_modified`.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

from minigrad.tensor import Tensor

# One clock for the whole package: the engine numbers nodes with it, and an
# in-place change takes a number too, so "was fn recorded after the last
# in-place change?" is one comparison (then none of fn's inputs can be stale).
clock = itertools.count(1)
last_change = 0


def counter(t: Tensor) -> list:
    """``t``'s counter, created on first use."""
    if t._vc is None:
        t._vc = [0, None, None]
    return t._vc


def version(t: Tensor) -> int:
    return 0 if t._vc is None else t._vc[0]


def share(alias: Tensor, base: Tensor) -> None:
    """``alias`` sees ``base``'s memory (a view, a detached copy): one counter for both."""
    alias._vc = counter(base)


def share_if_view(out: Tensor, inputs: tuple[Tensor, ...]) -> int:
    """If ``out``'s array is (a view of) an input's array, share that input's counter.
    Returns the version ``out`` starts at (0 for a new array)."""
    data = out.data
    base = getattr(data, "base", None)
    for t in inputs:
        array = t.data
        if data is array or (base is not None
                             and (base is array or base is getattr(array, "base", None))):
            share(out, t)
            return out._vc[0]
    return 0


def mark_modified(*tensors: Tensor, where: str = "an in-place update") -> None:
    """Record that each tensor's values were changed in place (version + 1).

    Call it after writing into ``t.data`` on purpose (an optimizer step,
    ``load_state_dict``): a graph that saved the old values then raises at
    backward, naming ``where`` and the file:line of the call outside minigrad.

    For example (tests/test_inplace.py runs it)::

        w = mg.tensor([1.0, 2.0], requires_grad=True)
        loss = (w * w).sum()
        w.data -= 0.1
        mark_modified(w, where="my update")
        loss.backward()  # RuntimeError: ... modified in place by 'my update' at you.py:4
    """
    place = caller()
    for t in tensors:
        bump(t, where, place)


def bump(t: Tensor, op: str, place: tuple[str, int] | None = None,
         recorded: bool = False) -> None:
    """One in-place change of ``t`` by ``op``; ``recorded`` when the change is itself
    a node of the graph (an in-place op under grad mode)."""
    global last_change
    cell = counter(t)
    cell[0] += 1
    cell[1] = (op, *(place or caller()))
    if recorded:
        cell[2] = (cell[2] or []) + [cell[0]]
    if t._ctx is not None:
        t._ctx._out_modified_by = cell[1]  # the node that made t can no longer read it
    last_change = next(clock)


def note_inplace_change() -> None:
    """Older spelling of "something changed in place" (prefer :func:`mark_modified`)."""
    global last_change
    last_change = next(clock)


def user_frame() -> Any:
    """The innermost frame outside minigrad's own package: the user's line."""
    package = __file__.rsplit("versions.py", 1)[0]
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
    return frame


def caller() -> tuple[str, int]:
    """File and line of the user's line (cheap: no source read)."""
    frame = user_frame()
    return frame.f_code.co_filename, frame.f_lineno


# -- recording and checking (used by the engine) ----------------------------------


def record(fn: Any, inputs: tuple[Tensor, ...]) -> tuple[int, ...]:
    """The versions of ``inputs`` as ``fn`` uses them. An input whose values were
    changed by a recorded in-place op through an alias (``v = y[0:2]; y *= y``),
    after the node that made it, no longer holds what that node computed; the
    gradient through it would be wrong, so ``fn``'s backward will raise."""
    global last_change
    versions = []
    for index, t in enumerate(inputs):
        cell = t._vc
        if cell is None:
            versions.append(0)
            continue
        versions.append(cell[0])
        maker = t._ctx
        if cell[2] is not None and maker is not None and any(
                maker._out_version < v <= cell[0] for v in cell[2]):
            fn._stale_input = (index, cell[1])
            last_change = next(clock)  # so that backward checks fn (versions.check_saved)
    return tuple(versions)


def recorded_inputs(fn: Any) -> tuple[Tensor, ...]:
    """fn's inputs as fn used them. An input changed in place since then sits on a
    newer node (see ops/inplace.py); walk back to the snapshot of the version fn
    used, so the gradient reaches that version's history."""
    if tuple(map(version, fn.inputs)) == fn._versions:
        return fn.inputs  # the common case: nothing was changed in place
    recorded = []
    for tensor, used in zip(fn.inputs, fn._versions, strict=True):
        while tensor._ctx is not None and tensor._ctx._inplace_version > used:
            tensor = tensor._ctx.inputs[0]
        recorded.append(tensor)
    return tuple(recorded)


def check_saved(fn: Any, out: Tensor) -> None:
    """PyTorch's rule: what backward reads must still hold the values forward saw."""
    if fn._stale_input is not None:
        index, by = fn._stale_input
        _raise_modified(fn, f"input {index}", fn.inputs[index].shape, by,
                        "(through a view or alias of it, by an op recorded in the graph)")
    if "inputs" in fn.saves:
        for index, (tensor, used) in enumerate(zip(fn.inputs, fn._versions, strict=True)):
            if version(tensor) != used:
                _raise_modified(fn, f"input {index}", tensor.shape, tensor._vc[1])
    if "out" in fn.saves and (fn._out_modified_by is not None
                              or version(out) != fn._out_version):
        _raise_modified(fn, "its output", out.shape,
                        fn._out_modified_by or (out._vc and out._vc[1]))


def _raise_modified(fn: Any, what: str, shape: tuple[int, ...], by: Any, how: str = "") -> None:
    where = f" by '{by[0]}' at {by[1]}:{by[2]}" if by else ""
    how = f" {how}" if how else ""
    raise RuntimeError(
        f"backward: '{fn.op}' needs {what} (shape {shape}) to compute its gradient, but "
        f"that tensor was modified in place{where}{how} after '{fn.op}' used it, so the "
        "gradient would be wrong. Use an out-of-place op there (x = x + 1 instead of "
        "x += 1), or do the in-place change after backward."
    )
