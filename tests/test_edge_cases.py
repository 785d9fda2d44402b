"""Numerical edge cases, one test each: IEEE results at poles, kinks and ties,
overflow, float32 end to end, and the ops that must stay finite at |x| = 1e4.

minigrad follows NumPy: an operation that overflows or divides by zero returns
inf/NaN *and* NumPy's RuntimeWarning is left alone (never silenced), so the
user hears about it. pytest here turns warnings into errors, so the tests say
which warning they expect (``pytest.warns``) or silence it (``np.errstate``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minigrad as mg


def grad_of(f, values, dtype=np.float64):
    x = mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)
    f(x).sum().backward()
    return x.grad.data


# -- poles: IEEE results, NumPy's warnings --------------------------------------


def test_log_of_zero_is_minus_inf_with_infinite_gradient():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y = mg.log(x)
    assert y.data[0] == -np.inf
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [np.inf, 1.0])


def test_sqrt_of_zero_has_infinite_gradient():
    with np.errstate(divide="ignore"):
        g = grad_of(mg.sqrt, [0.0, 4.0])
    np.testing.assert_array_equal(g, [np.inf, 0.25])


def test_division_by_zero_follows_ieee():
    x = mg.tensor([1.0, -1.0, 0.0], requires_grad=True)
    y = mg.tensor([0.0, 0.0, 0.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = x / y
        np.testing.assert_array_equal(q.data, [np.inf, -np.inf, np.nan])
        q.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [np.inf, np.inf, np.inf])  # 1/0
    np.testing.assert_array_equal(y.grad.data, [-np.inf, np.inf, np.nan])  # -x / y^2


def test_detect_anomaly_names_the_forward_op():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.autograd.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError, match=r"log \(forward\) produced inf.*"
                                                     r"test_edge_cases.py"):
            mg.log(x)


def test_detect_anomaly_names_the_backward_op():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.autograd.detect_anomaly(), np.errstate(divide="ignore"):
        y = mg.sqrt(x).sum()  # forward is finite: sqrt(0) = 0
        with pytest.raises(FloatingPointError, match=r"sqrt.*backward.*inf"):
            y.backward()


def test_where_nan_through_the_untaken_branch_and_the_safe_pattern():
    x = mg.tensor([-1.0, 4.0], requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mg.where(x > 0, mg.sqrt(x), 0.0).sum().backward()
    assert np.isnan(x.grad.data[0])  # 0 * NaN from sqrt'(-1): the documented trap
    assert x.grad.data[1] == 0.25
    x.grad = None
    safe = mg.where(x > 0, x, 1.0)  # make the untaken branch harmless first
    mg.where(x > 0, mg.sqrt(safe), 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.25])


# -- kinks and ties: exact subgradient conventions (as PyTorch) -----------------


def test_relu_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(mg.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])


def test_abs_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(mg.abs, [-2.0, 0.0, 3.0]), [-1.0, 0.0, 1.0])


def test_clip_passes_the_gradient_on_its_bounds():
    g = grad_of(lambda x: mg.clip(x, -1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: mg.clip(x, lo=0.0), [-1.0, 0.0]), [0, 1])


def test_maximum_and_minimum_split_ties():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = mg.tensor([2.0, 2.0, 2.0], requires_grad=True)
    (mg.maximum(x, y) + 10 * mg.minimum(x, y)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [10.0, 5.5, 1.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 5.5, 10.0])


def test_max_reduction_splits_ties_evenly():
    np.testing.assert_array_equal(grad_of(mg.max, [3.0, 1.0, 3.0, 3.0]), [1 / 3, 0, 1 / 3, 1 / 3])
    g = grad_of(lambda x: x.min(axis=1), [[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(g, [[0.5, 0.5], [1.0, 0.0]])


# -- overflow and stability -------------------------------------------------------


def test_exp_overflow_is_inf_with_a_warning():
    x = mg.tensor([1000.0, 0.0], requires_grad=True)
    with pytest.warns(RuntimeWarning, match="overflow"):
        y = mg.exp(x)
    np.testing.assert_array_equal(y.data, [np.inf, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [np.inf, 1.0])


BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])


@pytest.mark.parametrize("name, f", [
    ("softmax", lambda x: mg.softmax(x, axis=-1) * mg.tensor([1.0, 2.0, 3.0])),
    ("log_softmax", lambda x: mg.log_softmax(x, axis=-1) * mg.tensor([1.0, 2.0, 3.0])),
    ("logsumexp", lambda x: mg.logsumexp(x, axis=-1)),
    ("sigmoid", mg.sigmoid),
    ("tanh", mg.tanh),
    ("bce_with_logits", lambda x: mg.losses.binary_cross_entropy_with_logits(
        x, mg.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), reduction="none")),
    ("cross_entropy", lambda x: mg.losses.cross_entropy(x, np.array([1, 2]), reduction="none")),
])
def test_stable_at_magnitude_1e4(name, f):
    x = mg.tensor(BIG, requires_grad=True)
    y = f(x)  # any overflow warning here would fail the test (warnings are errors)
    assert np.isfinite(y.data).all(), name
    y.sum().backward()
    assert np.isfinite(x.grad.data).all(), name


def test_stable_values_at_magnitude_1e4():
    x = mg.tensor(BIG)
    np.testing.assert_allclose(mg.logsumexp(x, axis=-1).data, [1e4, 1e4])
    np.testing.assert_allclose(mg.softmax(x).data[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(mg.log_softmax(x).data[0], [0.0, -2e4, -1e4])
    np.testing.assert_allclose(mg.sigmoid(mg.tensor([1e4, -1e4])).data, [1.0, 0.0])
    ce = mg.losses.cross_entropy(x, np.array([1, 2]), reduction="none")
    np.testing.assert_allclose(ce.data, [2e4, 0.0])


def test_eigh_with_repeated_eigenvalues_warns_instead_of_nan():
    a = mg.tensor(np.diag([1.0, 1.0 + 1e-12, 3.0]), requires_grad=True)
    w, v = mg.linalg.eigh(a)
    with pytest.warns(RuntimeWarning, match="repeated"):
        (v * mg.tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
    assert not np.isnan(a.grad.data).any()


def test_nan_input_propagates_without_error():
    x = mg.tensor([np.nan, 1.0], requires_grad=True)
    (x * 2).exp().sum().backward()
    assert np.isnan(x.grad.data[0]) and np.isfinite(x.grad.data[1])


# -- float32 end to end -----------------------------------------------------------


def test_float32_mlp_trains_with_float32_gradients():
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.normal(size=(32, 3)), dtype=np.float32)
    y = mg.tensor(np.sin(X.data.sum(axis=1, keepdims=True)), dtype=np.float32)
    shapes = [(3, 16), (16,), (16, 1), (1,)]
    params = [mg.tensor(rng.normal(size=s) * 0.5, dtype=np.float32, requires_grad=True)
              for s in shapes]
    W1, b1, W2, b2 = params
    losses = []
    for _ in range(200):
        loss = (((X @ W1 + b1).tanh() @ W2 + b2 - y) ** 2).mean()
        assert loss.dtype == np.float32
        for p in params:
            p.grad = None
        loss.backward()
        assert all(p.grad.dtype == np.float32 for p in params)
        with mg.no_grad():
            for p in params:
                p -= 0.1 * p.grad
                assert p.dtype == np.float32
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_gradcheck_warns_that_float32_needs_float64():
    x = mg.tensor([0.5, 1.0], dtype=np.float32, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mg.gradcheck(lambda t: t * t, [x], raise_exception=False)
    assert any("float64" in str(w.message) for w in caught)
