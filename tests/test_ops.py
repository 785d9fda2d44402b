"""Sweep the op table: forward against NumPy, gradients against central finite
differences (float64), over Hypothesis-drawn shapes that broadcast."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.op_table import (
    AXIS_KEYS,
    OP_CASES,
    REQUIRED_OPS,
    OpCase,
    draw_inputs,
    draw_shapes,
    fixed_shapes,
    respell_axes,
)
from tests.strategies import examples

ROWS = [pytest.param(case, kwargs, id=f"{case.name}-{i}")
        for case in OP_CASES for i, kwargs in enumerate(case.kwargs)]


def test_every_listed_op_has_a_row():
    names = {case.name for case in OP_CASES}
    missing = [op for op in REQUIRED_OPS if op not in names]
    assert not missing, f"ops without a row in tests/op_table.py: {missing}"


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=examples(15), deadline=None)
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
@settings(max_examples=examples(15), deadline=None)
@given(data=st.data())
def test_gradients_match_finite_differences(case: OpCase, kwargs: dict, data: st.DataObject):
    shapes = data.draw(draw_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    inputs = [mg.tensor(a, requires_grad=True) for a in draw_inputs(rng, case, shapes)]
    assert mg.gradcheck(lambda *xs: case.fn(*xs, **kwargs), inputs)


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
def test_float32_stays_float32(case: OpCase, kwargs: dict):
    rng = np.random.default_rng(0)
    shapes = fixed_shapes(case)
    inputs = [mg.tensor(a, dtype=np.float32, requires_grad=True)
              for a in draw_inputs(rng, case, shapes)]
    out = case.fn(*inputs, **kwargs)
    assert out.dtype == np.float32
    out.sum().backward()
    for x in inputs:
        assert x.grad is not None and x.grad.dtype == np.float32


AXIS_ROWS = [row for row in ROWS if any(isinstance(row.values[1].get(k), (int, tuple, list))
                                        for k in AXIS_KEYS)]


def test_the_negative_axes_column_covers_the_axis_ops():
    covered = {row.values[0].name for row in AXIS_ROWS}
    for name in ["transpose_axes", "swapaxes_axes", "expand_dims_axis", "squeeze_axis",
                 "concatenate_axis", "stack_axis", "sum", "mean", "var", "std", "max", "min",
                 "prod", "logsumexp", "softmax", "log_softmax"]:
        assert name in covered, f"{name} has no row with an axis in tests/op_table.py"


@pytest.mark.parametrize(("case", "kwargs"), AXIS_ROWS)
@settings(max_examples=examples(8), deadline=None)
@given(data=st.data())
def test_negative_axes_give_the_same_values_and_gradients(case: OpCase, kwargs: dict,
                                                          data: st.DataObject):
    """Every axis spelled from the start (ndim - 1), from the end (-1), and mixed
    ((-1, 0, -2)): the same values and the same gradients, and gradcheck passes on
    each spelling (a backward that used a raw negative axis fails here)."""
    shapes = data.draw(draw_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    arrays = draw_inputs(rng, case, shapes)
    ndim = len(shapes[0]) + case.axis_offset
    results = []
    for how in ("start", "end", "mixed"):
        spelled = respell_axes(kwargs, ndim, how)
        inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
        out = case.fn(*inputs, **spelled)
        (out * np.cos(np.arange(out.size)).reshape(out.shape)).sum().backward()
        results.append((out.data, [x.grad.data for x in inputs]))
        if how != "start":
            assert mg.gradcheck(lambda *xs, kw=spelled: case.fn(*xs, **kw),
                                [mg.tensor(a, requires_grad=True) for a in arrays])
    out_start, grads_start = results[0]
    for out, grads in results[1:]:
        np.testing.assert_array_equal(out, out_start)
        for g, g_start in zip(grads, grads_start, strict=True):
            np.testing.assert_array_equal(g, g_start)
