"""Sweep the op table: forward against NumPy, gradients against central finite
differences (float64), over Hypothesis-drawn shapes that broadcast."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.op_table import OP_CASES, REQUIRED_OPS, OpCase, draw_inputs, draw_shapes

ROWS = [pytest.param(case, kwargs, id=f"{case.name}-{i}")
        for case in OP_CASES for i, kwargs in enumerate(case.kwargs)]


def test_every_listed_op_has_a_row():
    names = {case.name for case in OP_CASES}
    missing = [op for op in REQUIRED_OPS if op not in names]
    assert not missing, f"ops without a row in tests/op_table.py: {missing}"


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_forward_matches_numpy(case: OpCase, kwargs: dict, data: st.DataObject):
    shapes = data.draw(draw_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    arrays = draw_inputs(rng, case, shapes)
    out = case.fn(*[mg.tensor(a) for a in arrays], **kwargs)
    expected = case.ref(*arrays, **kwargs)
    assert isinstance(out, mg.Tensor)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_gradients_match_finite_differences(case: OpCase, kwargs: dict, data: st.DataObject):
    shapes = data.draw(draw_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    inputs = [mg.tensor(a, requires_grad=True) for a in draw_inputs(rng, case, shapes)]
    assert mg.gradcheck(lambda *xs: case.fn(*xs, **kwargs), inputs)


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
def test_float32_stays_float32(case: OpCase, kwargs: dict):
    rng = np.random.default_rng(0)
    shapes = {"broadcast": [(2, 3)] * case.arity, "reduce": [(2, 3)], "reduce2": [(2, 3)], "same": [(2, 3)] * 2,
              "fixed43": [(4, 3)], "matmul": [(2, 3), (3, 2)], "dot": [(2, 3), (3,)],
              "vectors": [(2,), (3,)], "matrix": [(3, 3)], "diag": [(3,)]}[case.shapes]
    inputs = [mg.tensor(a, dtype=np.float32, requires_grad=True)
              for a in draw_inputs(rng, case, shapes)]
    out = case.fn(*inputs, **kwargs)
    assert out.dtype == np.float32
    out.sum().backward()
    for x in inputs:
        assert x.grad is not None and x.grad.dtype == np.float32
