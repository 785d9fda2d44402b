"""Property test (issue 16, standing check): random graphs with random in-place changes
through random aliases either give the gradient of what was recorded or raise --
never a silent wrong value.

A random program over two leaves builds values with ops, makes aliases of them
(basic slices, ``.T``, ``reshape``, ``detach``), changes some alias in place (in
grad mode or under ``no_grad``, by a constant or by another tensor), and sums a
few results into a loss. The same program runs in PyTorch (float64), whose
version counters are shared by views: "the gradient of what was recorded" is
PyTorch's. minigrad must either raise a RuntimeError (before or at backward) or
give PyTorch's gradients; if PyTorch itself refuses, minigrad must refuse too.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.strategies import examples

torch = pytest.importorskip("torch")

SHAPE = (3, 4)
OPS = ["mul", "add", "tanh", "exp_small", "scale", "slice", "T", "reshape", "detach",
       "iadd_c", "imul_c", "setitem_c", "iadd_t", "imul_t"]


class Refused(Exception):
    """The library raised (at forward or at backward)."""


def _run(lib: str, leaves: list[np.ndarray], steps: list[tuple], outputs: list[int]):
    if lib == "mg":
        xs = [mg.tensor(a.copy(), requires_grad=True) for a in leaves]
        no_grad = mg.no_grad
    else:
        xs = [torch.tensor(a.copy(), dtype=torch.float64, requires_grad=True) for a in leaves]
        no_grad = torch.no_grad
    # start from values computed from the leaves, so that in-place changes are allowed
    values = [xs[0] * 1.0, xs[1] * 1.0, xs[0] * xs[1]]
    try:
        for op, i, j, c, quiet in steps:
            a = values[i % len(values)]
            b = values[j % len(values)]
            # only the in-place changes may run under no_grad: a view made under no_grad
            # is a constant in minigrad but a requires-grad view in PyTorch (a convention
            # that differs, not a gradient)
            quiet = quiet and op.startswith(("i", "set"))
            context = no_grad() if quiet else contextlib.nullcontext()
            with context:
                if op == "mul" and a.shape == b.shape:
                    values.append(a * b)
                elif op == "add" and a.shape == b.shape:
                    values.append(a + b)
                elif op == "tanh":
                    values.append(a.tanh())
                elif op == "exp_small":
                    values.append((a * 0.1).exp())
                elif op == "scale":
                    values.append(a * c)
                elif op == "slice" and a.ndim == 2 and a.shape[0] >= 2:
                    values.append(a[0:2])
                elif op == "T" and a.ndim == 2:
                    values.append(a.T)
                elif op == "reshape":
                    values.append(a.reshape(-1))
                elif op == "detach":
                    values.append(a.detach())
                elif op == "iadd_c":
                    a += c
                elif op == "imul_c":
                    a *= c
                elif op == "setitem_c":
                    a[0] = c
                elif op == "iadd_t" and a.shape == b.shape and a is not b:
                    a += b
                elif op == "imul_t" and a.shape == b.shape and a is not b:
                    a *= b
        chosen = [values[k % len(values)] for k in outputs]
        chosen = [v for v in chosen if v.requires_grad]
        if not chosen:
            return None
        loss = chosen[0].sum() * 1.0
        for k, v in enumerate(chosen[1:], 2):
            loss = loss + v.sum() * float(k)
        loss.backward()
    except (RuntimeError, ValueError, TypeError) as exc:
        raise Refused(f"{type(exc).__name__}: {exc}") from None
    return [np.zeros(SHAPE) if x.grad is None else np.asarray(
        x.grad.data if lib == "mg" else x.grad.numpy()) for x in xs]


@st.composite
def programs(draw):
    values = st.floats(-1.5, 1.5, allow_nan=False, width=64)
    leaves = [np.array(draw(st.lists(values, min_size=12, max_size=12))).reshape(SHAPE)
              for _ in range(2)]
    n = draw(st.integers(1, 8))
    steps = [(draw(st.sampled_from(OPS)), draw(st.integers(0, 20)), draw(st.integers(0, 20)),
              draw(st.sampled_from([0.5, -2.0, 3.0])), draw(st.booleans()))
             for _ in range(n)]
    outputs = draw(st.lists(st.integers(0, 20), min_size=1, max_size=3))
    return leaves, steps, outputs


@settings(max_examples=examples(150), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs())
def test_in_place_changes_through_aliases_give_the_recorded_gradient_or_raise(program):
    leaves, steps, outputs = program
    try:
        ours = _run("mg", leaves, steps, outputs)
    except Refused as refused:
        assert refused.args[0].startswith("RuntimeError") or _torch_refuses(program), refused
        return  # refusing is always allowed
    try:
        theirs = _run("torch", leaves, steps, outputs)
    except Refused as refused:
        pytest.fail(f"PyTorch refuses this program ({refused}) but minigrad gave a gradient")
    if ours is None or theirs is None:
        assert ours is None and theirs is None
        return
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _torch_refuses(program) -> bool:
    try:
        _run("torch", *program)
    except Refused:
        return True
    return False


def test_the_property_test_sees_both_outcomes():
    """A program that is refused (a saved value changed through a view) and one that
    is not (an unsaved one), so the property above exercises both branches."""
    leaves = [np.arange(12.0).reshape(SHAPE) / 10, np.ones(SHAPE)]
    refused = [("mul", 0, 0, 1.0, False), ("detach", 0, 0, 1.0, False),
               ("iadd_c", 4, 0, 3.0, True)]
    with pytest.raises(Refused, match="modified in place"):
        _run("mg", leaves, refused, [3])
    kept = [("add", 0, 1, 1.0, False), ("T", 3, 0, 1.0, False), ("iadd_c", 3, 0, 3.0, True)]
    ours = _run("mg", leaves, kept, [3, 4])
    theirs = _run("torch", leaves, kept, [3, 4])
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b)
