"""Gradient clipping: ``mg.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

Call either between ``loss.backward()`` and ``opt.step()``. Both change each
``p.grad`` in place, as PyTorch (a gradient array shared by two parameters is
clipped once; a lazy or read-only one is replaced by a clipped copy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from minigrad.backends import materialize_grads
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(params: Tensor | Iterable[Tensor], op: str) -> list[Tensor]:
    params = [params] if isinstance(params, Tensor) else list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor; pass "
                            "model.parameters().")
    materialize_grads(params)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(params: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients so that their joint norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_``: the norm of all gradients concatenated
    into one vector (``norm_type`` 2 by default, ``float("inf")`` for the largest
    entry) is computed; if it exceeds ``max_norm``, every gradient is multiplied
    by ``max_norm / (norm + 1e-6)``. Returns the norm before clipping (a Tensor).

    >>> import minigrad as mg
    >>> w = mg.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()                    # grad = [6, 8], norm 10
    >>> float(mg.nn.utils.clip_grad_norm_([w], max_norm=1.0))
    10.0
    >>> w.grad.data.round(6)
    array([0.6, 0.8])
    """
    grads = _with_grads(params, "clip_grad_norm_")
    if not grads:
        return Tensor(0.0)
    norm_type = float(norm_type)
    norms = np.array([np.linalg.norm(p.grad.data.ravel(), ord=norm_type) for p in grads])
    total = float(np.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so they cannot be clipped. Look for a NaN "
                           "or inf loss, or pass error_if_nonfinite=False.")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for p in _distinct(grads):
        _write(p, p.grad.data * np.asarray(coef, dtype=p.grad.data.dtype))
    return Tensor(total)


def clip_grad_value_(params: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient entry into ``[-clip_value, clip_value]``, as
    ``torch.nn.utils.clip_grad_value_``.

    >>> import minigrad as mg
    >>> w = mg.tensor([3.0, -0.5], requires_grad=True)
    >>> (w * w).sum().backward()                    # grad = [6, -1]
    >>> mg.nn.utils.clip_grad_value_([w], 2.0)
    >>> w.grad
    Tensor([ 2., -1.])
    """
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value!r}.")
    for p in _distinct(_with_grads(params, "clip_grad_value_")):
        _write(p, np.clip(p.grad.data, -clip_value, clip_value))


def _distinct(params: list[Tensor]) -> list[Tensor]:
    """One parameter per gradient array, so a shared array is clipped once."""
    seen: set[int] = set()
    return [p for p in params if not (id(p.grad.data) in seen or seen.add(id(p.grad.data)))]


def _write(p: Tensor, clipped) -> None:
    grad = p.grad.data
    if type(grad) is np.ndarray and grad.flags.writeable:
        grad[...] = clipped  # in place: a reference to p.grad sees the clipped values
    else:
        p.grad = Tensor._make(clipped)
