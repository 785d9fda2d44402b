"""Second derivatives of every op in the op table: gradgradcheck over Hypothesis shapes.

Each row's input domain keeps it off its kinks (relu and abs away from 0, max
without ties, clip away from its bounds), so every row is checked; none is
skipped. The first derivative goes through create_graph=True and is compared,
differentiated again by the engine, against finite differences of itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.op_table import OP_CASES, OpCase, draw_inputs, draw_shapes, fixed_shapes
from tests.strategies import examples

ROWS = [pytest.param(case, kwargs, id=f"{case.name}-{i}")
        for case in OP_CASES for i, kwargs in enumerate(case.kwargs)]


def test_every_row_is_checked_to_second_order():
    opted_out = [case.name for case in OP_CASES if not case.second_order]
    assert not opted_out, (f"rows with second_order=False: {opted_out}; keep them off their "
                           "kinks with a domain instead of skipping them")


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=examples(20), deadline=None)
@given(data=st.data())
def test_second_derivatives_match_finite_differences(case: OpCase, kwargs: dict,
                                                     data: st.DataObject):
    shapes = data.draw(draw_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    inputs = [mg.tensor(a, requires_grad=True) for a in draw_inputs(rng, case, shapes)]
    assert mg.gradgradcheck(lambda *xs: case.fn(*xs, **kwargs), inputs)


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
def test_second_order_check_can_fail(case: OpCase, kwargs: dict):
    """The same check with a perturbed op must fail: the sweep is not vacuous.

    ``f(x) = op(x) + 0.1 * sum(x^3)`` whose backward pretends the added term's second
    derivative is zero (a gradient computed in NumPy is a constant to create_graph)."""

    class CubeFlatSecond(mg.Function):
        def forward(self, x):
            return 0.1 * np.sum(x**3)

        def backward(self, grad, out, x):
            return grad * mg.Tensor(0.3 * x.data**2)

    rng = np.random.default_rng(0)
    fixed = fixed_shapes(case)
    inputs = [mg.tensor(a, requires_grad=True) for a in draw_inputs(rng, case, fixed)]
    assert mg.gradgradcheck(lambda *xs: case.fn(*xs, **kwargs), inputs)
    perturbed = lambda *xs: case.fn(*xs, **kwargs).sum() + CubeFlatSecond.apply(xs[0])  # noqa: E731
    assert not mg.gradgradcheck(perturbed, inputs, raise_exception=False)
