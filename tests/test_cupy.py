"""The op table on CuPy (GPU) arrays: forward and gradients match NumPy, and
gradients stay on the GPU. Skipped unless CuPy and a CUDA device are present."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.op_table import OP_CASES, OpCase, draw_inputs, draw_shapes

cp = pytest.importorskip("cupy")
try:
    _gpus = cp.cuda.runtime.getDeviceCount()
except Exception:  # CuPy installed, but no driver or no device
    _gpus = 0
pytestmark = pytest.mark.skipif(_gpus == 0, reason="no CUDA device for CuPy")

ROWS = [pytest.param(case, kwargs, id=f"{case.name}-{i}")
        for case in OP_CASES for i, kwargs in enumerate(case.kwargs)]


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_op_table_on_cupy_matches_numpy(case: OpCase, kwargs: dict, data: st.DataObject):
    shapes = data.draw(draw_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    arrays = draw_inputs(rng, case, shapes)
    results = []
    for convert in (np.asarray, cp.asarray):
        inputs = [mg.tensor(convert(a), requires_grad=True) for a in arrays]
        out = case.fn(*inputs, **kwargs)
        out.backward(convert(np.random.default_rng(0).normal(size=out.shape)))
        results.append((out, inputs))
    (ref, ref_inputs), (out, inputs) = results
    assert isinstance(out.data, cp.ndarray), f"{case.name}: the output left the GPU"
    np.testing.assert_allclose(cp.asnumpy(out.data), ref.data, rtol=1e-10, atol=1e-12)
    for x, x_ref in zip(inputs, ref_inputs, strict=True):
        assert isinstance(x.grad.data, cp.ndarray), f"{case.name}: the gradient left the GPU"
        np.testing.assert_allclose(cp.asnumpy(x.grad.data), x_ref.grad.data,
                                   rtol=1e-10, atol=1e-12)


def test_linear_regression_step_on_gpu():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    w = mg.tensor(cp.zeros(3), requires_grad=True)
    b = mg.tensor(cp.zeros(()), requires_grad=True)
    loss = mg.losses.mse(mg.tensor(cp.asarray(X)) @ w + b, mg.tensor(cp.asarray(y)))
    loss.backward()
    expected = 2 / len(X) * X.T @ (-y)  # the analytic gradient at w = 0, b = 0
    np.testing.assert_allclose(cp.asnumpy(w.grad.data), expected, rtol=1e-12)
    assert isinstance(loss.numpy(), np.ndarray) and loss.item() == pytest.approx(np.mean(y**2))
