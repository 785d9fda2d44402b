"""mg.models: linear regression trained on the engine and checked three ways."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.models import (
    LinearRegression,
    check_gradients,
    linear_regression_closed_form,
    linear_regression_gradients,
)
from tests._examples import load_example


def seed_example():
    """The seed note's data, exactly."""
    np.random.seed(42)
    X = np.random.rand(100, 1)
    y = 2 * X + 1 + 0.1 * np.random.randn(100, 1)
    return X, y


def problem(d=5, n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    return X, X @ w + 0.5 + 0.01 * rng.normal(size=n)


def test_seed_example_reaches_closed_form_with_y_of_shape_n_1():
    X, y = seed_example()
    model = LinearRegression(learning_rate=0.5, n_iterations=500).fit(X, y)
    w, b = linear_regression_closed_form(X, y)
    np.testing.assert_allclose(model.weights, w, atol=1e-6)
    assert model.bias == pytest.approx(b, abs=1e-6)
    assert model.weights.shape == (1,) and isinstance(model.bias, float)
    assert model.predict(X).shape == (100, 1)
    np.testing.assert_allclose(w, [1.9540], atol=1e-4)  # y = 2x + 1 + noise
    assert b == pytest.approx(1.0215, abs=1e-4)


def test_seed_defaults_are_the_notes_defaults_and_y_flat_predicts_flat():
    X, y = seed_example()
    model = LinearRegression()
    assert (model.learning_rate, model.n_iterations) == (0.01, 1000)
    model.fit(X, y.ravel())
    assert model.predict(X).shape == (100,)
    assert len(model.history_) == 1000


def test_history_is_floats_and_decreasing_for_gd():
    X, y = seed_example()
    model = LinearRegression(learning_rate=0.1, n_iterations=50).fit(X, y)
    assert all(type(v) is float for v in model.history_)
    assert all(a >= b for a, b in zip(model.history_, model.history_[1:], strict=False))


def test_gd_matches_the_hand_written_update_with_twice_the_rate():
    """The seed note steps with (1/n) X^T r, the gradient of half the MSE; minigrad's
    MSE gradient is (2/n) X^T r. So minigrad at rate lr equals the notes at 2 lr."""
    X, y = seed_example()
    w, b = np.zeros(1), 0.0
    for _ in range(30):
        r = X @ w + b - y.ravel()
        w = w - 0.2 * (1 / 100) * X.T @ r
        b = b - 0.2 * (1 / 100) * r.sum()
    model = LinearRegression(learning_rate=0.1, n_iterations=30).fit(X, y)
    np.testing.assert_allclose(model.weights, w, rtol=1e-12)
    assert model.bias == pytest.approx(b, rel=1e-12)


def test_gd_and_sgd_converge_on_d5():
    X, y = problem(d=5)
    w, b = linear_regression_closed_form(X, y)
    gd = LinearRegression(learning_rate=0.1, n_iterations=300).fit(X, y)
    np.testing.assert_allclose(gd.weights, w, atol=1e-8)
    assert gd.bias == pytest.approx(b, abs=1e-8)
    sgd = LinearRegression(learning_rate=0.02, n_iterations=60, optimizer="sgd",
                           batch_size=20, random_state=0).fit(X, y)
    np.testing.assert_allclose(sgd.weights, w, atol=5e-3)
    assert sgd.bias == pytest.approx(b, abs=5e-3)
    assert len(sgd.history_) == 60 * 10  # one step per minibatch: 10 per pass
    assert len(gd.history_) == 300  # one step per pass


def test_sgd_reproducible_with_random_state():
    X, y = problem(d=3, n=50)

    def fit(seed):
        return LinearRegression(learning_rate=0.05, n_iterations=5, optimizer="sgd",
                                batch_size=8, random_state=seed).fit(X, y)

    a, b, c = fit(1), fit(1), fit(2)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.history_ == b.history_
    assert a.history_ != c.history_
    assert len(a.history_) == 5 * 7  # ceil(50 / 8) steps per pass


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 30), d=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       two_d_y=st.booleans())
def test_engine_analytic_finite_differences_agree(n, d, seed, two_d_y):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, d))
    y = rng.uniform(-5, 5, size=(n, 1) if two_d_y else n)
    w, b = rng.uniform(-2, 2, size=d), rng.uniform(-2, 2)
    report = check_gradients(X, y, w, b)
    assert report.max_difference < 1e-7, str(report)
    dw, db = linear_regression_gradients(X, y, w, b)
    r = X @ w + b - y.reshape(-1)
    np.testing.assert_allclose(dw, 2 / n * X.T @ r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(report.engine, np.append(dw, db), rtol=1e-10, atol=1e-12)


def test_check_gradients_report_and_method():
    X, y = seed_example()
    model = LinearRegression(learning_rate=0.1, n_iterations=3).fit(X, y)
    report = model.check_gradients(X, y)
    text = str(report)
    for word in ("engine", "analytic", "finite diff", "dL/dw[0]", "dL/db",
                 "max |engine vs analytic|", "max |engine vs finite differences|"):
        assert word in text
    assert report.max_difference < 1e-9
    dw, db = linear_regression_gradients(X, y, model.weights, model.bias)
    np.testing.assert_allclose(report.analytic, np.append(dw, db))
    unfitted = LinearRegression().check_gradients(X, y)  # at zeros
    np.testing.assert_allclose(unfitted.engine[-1], -2 * y.mean(), rtol=1e-12)


def test_closed_form_against_numpy_polyfit():
    X, y = seed_example()
    w, b = linear_regression_closed_form(X, y)
    slope, intercept = np.polyfit(X.ravel(), y.ravel(), 1)
    assert w[0] == pytest.approx(slope) and b == pytest.approx(intercept)


def test_progress_bar(capsys):
    pytest.importorskip("tqdm")
    X, y = seed_example()
    LinearRegression(n_iterations=5, progress=True).fit(X, y)
    LinearRegression(n_iterations=5).fit(X, y, progress=True)
    assert "LinearRegression.fit" in capsys.readouterr().err


def test_errors():
    X, y = seed_example()
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, n_features\).*"
                                         r"reshape\(-1, 1\)"):
        LinearRegression().fit(X.ravel(), y)
    with pytest.raises(ValueError, match=r"y must have shape \(n,\) or \(n, 1\)"):
        LinearRegression().fit(X, np.hstack([y, y]))
    with pytest.raises(ValueError, match="X has 100 rows but y has 99"):
        LinearRegression().fit(X, y[:99])
    with pytest.raises(ValueError, match="optimizer must be 'gd'"):
        LinearRegression(optimizer="adam")
    with pytest.raises(ValueError, match="batch_size is for optimizer='sgd'"):
        LinearRegression(batch_size=10)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        LinearRegression(learning_rate=0)
    with pytest.raises(RuntimeError, match="not fitted yet"):
        LinearRegression().predict(X)
    with pytest.raises(ValueError, match=r"weights must have shape \(1,\)"):
        linear_regression_gradients(X, y, [1.0, 2.0], 0.0)


def test_engine_tensors_accepted():
    X, y = seed_example()
    model = LinearRegression(learning_rate=0.5, n_iterations=10).fit(mg.tensor(X),
                                                                     mg.tensor(y))
    assert model.predict(mg.tensor(X)).shape == (100, 1)


def test_linear_regression_example(capsys):
    gaps = load_example("linear_regression").main([])
    assert gaps["gd_weight_gap"] < 1e-6 and gaps["gd_bias_gap"] < 1e-6
    out = capsys.readouterr().out
    assert "engine" in out and "analytic" in out and "finite diff" in out
    assert "closed form" in out and "SGD" in out


def test_logistic_regression_example_gradient_matches_formula(capsys):
    example = load_example("logistic_regression")
    assert example.main() < 1e-12
    X, y = example.make_data(n=30)
    w, b = np.array([0.3, -0.2, 0.1]), 0.05
    np.testing.assert_allclose(example.analytic_gradient(X, y, w, b),
                               example.finite_differences(X, y, w, b), atol=1e-8)
