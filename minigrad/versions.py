"""In-place version bookkeeping, one protocol for ops, nn and optim.

Every path that writes into ``t.data`` on purpose (an in-place op, an
optimizer step, ``load_state_dict``) calls :func:`mark_modified`, so that a
graph that saved the old values raises at backward, naming where the change
happened.
"""

from __future__ import annotations

from minigrad.ops.inplace import _bump


def mark_modified(*tensors, where: str = "an in-place update") -> None:
    """Record that each tensor's values were changed in place (version + 1)."""
    for t in tensors:
        _bump(t, where)
