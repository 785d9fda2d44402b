"""The graph as data: which tensors a backward pass goes through, in its order.

One traversal, used by the engine (``autograd.grad`` runs only what it needs),
``explain`` and ``viz``. Iterative (no recursion), so a graph a million ops deep
is fine. Parents are the inputs each node *used* (``versions.recorded_inputs``):
after an in-place change, the snapshot of the old value, not the changed tensor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from minigrad import versions
from minigrad.tensor import Tensor


def toposort(roots: Iterable[Tensor]) -> list[Tensor]:
    """Tensors reachable from ``roots`` that require grad, in the order ``backward``
    goes through them: nodes latest first, then the leaves as the walk reaches them.
    Nodes freed by an earlier backward are still listed (they keep their inputs)."""
    nodes: list[Tensor] = []
    seen: set[int] = set()
    roots = [root for root in roots if root.requires_grad]
    stack = list(roots)
    while stack:
        t = stack.pop()
        if id(t) in seen or t._ctx is None:
            continue
        seen.add(id(t))
        nodes.append(t)
        stack.extend(p for p in versions.recorded_inputs(t._ctx) if p.requires_grad)
    nodes.sort(key=lambda t: t._ctx._seq, reverse=True)
    leaves = {id(t): t for t in roots if t._ctx is None}
    for t in nodes:
        for p in versions.recorded_inputs(t._ctx):
            if p.requires_grad and p._ctx is None:
                leaves.setdefault(id(p), p)
    return nodes + list(leaves.values())


def needed(roots: Sequence[Tensor], wanted: dict[int, Any]) -> tuple[set[int], set[int]]:
    """For ``inputs=``: the tensors on some path from ``roots`` down to a wanted tensor,
    and the nodes among them whose rule must run (a wanted tensor is below them)."""
    needed: set[int] = set()
    run: set[int] = set()
    for t in reversed(toposort(roots)):  # leaves, then nodes earliest first
        if t._ctx is not None and any(id(p) in needed
                                      for p in versions.recorded_inputs(t._ctx)):
            run.add(id(t))
            needed.add(id(t))
        elif id(t) in wanted:
            needed.add(id(t))
    return needed, run
