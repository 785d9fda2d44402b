"""median, cov, corrcoef: NumPy semantics and their gradients (the op-table rows for
them live in tests/op_table_linalg.py and are swept by tests/test_linalg.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.strategies import examples

finite = st.floats(-100, 100, allow_nan=False, width=64)


@settings(max_examples=examples(40), deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=finite),
       keepdims=st.booleans(), data=st.data())
def test_median_matches_numpy_with_ties(x, keepdims, data):
    axis = data.draw(st.sampled_from([None, 0, -1] + ([(0, 1)] if x.ndim > 1 else [])))
    out = mg.median(mg.tensor(x), axis=axis, keepdims=keepdims)
    expected = np.median(x, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected)


@settings(max_examples=examples(40), deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
                    elements=finite))
def test_median_gradient_sums_to_one_per_lane_and_sits_on_the_median(x):
    t = mg.tensor(x, requires_grad=True)
    mg.median(t, axis=-1).sum().backward()
    g = t.grad.data
    np.testing.assert_allclose(g.sum(axis=-1), 1.0)
    # the weighted sum of the chosen elements is the median itself
    np.testing.assert_allclose((g * x).sum(axis=-1), np.median(x, axis=-1), atol=1e-9)


def test_median_odd_and_even_counts():
    odd = mg.tensor([5.0, 1.0, 3.0], requires_grad=True)
    mg.median(odd).backward()
    np.testing.assert_array_equal(odd.grad.data, [0.0, 0.0, 1.0])
    even = mg.tensor([[4.0, 1.0, 3.0, 2.0]], requires_grad=True)
    m = mg.median(even, axis=1)
    m.backward(np.ones(1))
    assert m.item() == 2.5
    np.testing.assert_array_equal(even.grad.data, [[0.0, 0.0, 0.5, 0.5]])


def test_median_of_empty_raises():
    with pytest.raises(ValueError, match="median: cannot take the median of an empty array"):
        mg.median(mg.tensor(np.zeros(0)))


@settings(max_examples=examples(30), deadline=None)
@given(m=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(3, 6)),
                    elements=st.floats(-10, 10, width=64)),
       rowvar=st.booleans(), bias=st.booleans())
def test_cov_matches_numpy(m, rowvar, bias):
    data = m if rowvar else m.T
    np.testing.assert_allclose(mg.cov(data, rowvar=rowvar, bias=bias).data,
                               np.cov(data, rowvar=rowvar, bias=bias), atol=1e-10)


def test_cov_with_y_and_ddof():
    x, y = np.array([1.0, 2.0, 4.0, 7.0]), np.array([3.0, 1.0, 0.0, 2.0])
    np.testing.assert_allclose(mg.cov(x, y, ddof=2).data, np.cov(x, y, ddof=2))
    assert mg.cov(x).shape == ()  # one variable: a 0-d variance, as NumPy
    np.testing.assert_allclose(mg.cov(x).item(), np.var(x, ddof=1))


def test_cov_gradient_closed_form():
    # d var(x, ddof=1) / dx = 2 (x - mean) / (n - 1)
    x = mg.tensor([1.0, 2.0, 4.0, 7.0], requires_grad=True)
    mg.cov(x).backward()
    np.testing.assert_allclose(x.grad.data, 2 * (x.data - x.data.mean()) / 3)


def test_corrcoef_of_perfectly_correlated_vectors_is_one():
    c = mg.corrcoef(mg.tensor([1.0, 2.0, 3.0, 4.0]), mg.tensor([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_allclose(c.data, np.ones((2, 2)))
    assert c.data.max() <= 1.0


def test_corrcoef_gradient_against_finite_differences():
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.normal(size=6), requires_grad=True)
    y = mg.tensor(rng.normal(size=6), requires_grad=True)
    assert mg.gradcheck(lambda a, b: mg.corrcoef(a, b)[0, 1], [x, y])
    assert mg.gradgradcheck(lambda a, b: mg.corrcoef(a, b)[0, 1], [x, y])


def test_cov_bad_inputs():
    with pytest.raises(ValueError, match="cov: m has shape"):
        mg.cov(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="cov: m has 3 observations but y has 4"):
        mg.cov(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="cov: 1 observations with ddof=1"):
        mg.cov(np.ones(1))
