"""mg.distributions: closed forms, gradients in the parameters, sampling shapes, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.strategies import examples

D = mg.distributions


# -- log_prob / prob against closed forms -------------------------------------------------


@settings(max_examples=examples(30), deadline=None)
@given(loc=st.floats(-5, 5), scale=st.floats(0.1, 5), x=st.floats(-10, 10))
def test_normal_log_prob_closed_form(loc, scale, x):
    expected = -((x - loc) ** 2) / (2 * scale**2) - math.log(scale * math.sqrt(2 * math.pi))
    assert D.Normal(loc, scale).log_prob(x).item() == pytest.approx(expected, rel=1e-12)


@settings(max_examples=examples(30), deadline=None)
@given(n=st.integers(0, 30), p=st.floats(0, 1), data=st.data())
def test_binomial_pmf_closed_form(n, p, data):
    k = data.draw(st.integers(0, n))
    expected = math.comb(n, k) * p**k * (1 - p) ** (n - k)
    assert D.Binomial(n, p).prob(float(k)).item() == pytest.approx(expected, rel=1e-10, abs=1e-300)


@settings(max_examples=examples(30), deadline=None)
@given(rate=st.floats(0, 50), k=st.integers(0, 60))
def test_poisson_pmf_closed_form(rate, k):
    expected = math.exp(-rate) * rate**k / math.factorial(k)
    assert D.Poisson(rate).prob(float(k)).item() == pytest.approx(expected, rel=1e-10, abs=1e-300)


def test_bernoulli_log_prob_including_edges():
    d = D.Bernoulli(np.array([0.0, 0.3, 1.0]))
    np.testing.assert_allclose(d.log_prob(np.array([0.0, 1.0, 1.0])).data, [0.0, math.log(0.3), 0])
    assert d.log_prob(np.array([1.0, 0.0, 0.0])).data[0] == -np.inf


def test_pmfs_sum_to_one_and_means_match():
    k = np.arange(200.0)
    for dist in [D.Binomial(12, 0.3), D.Poisson(7.5)]:
        pmf = dist.prob(k[: 13] if isinstance(dist, D.Binomial) else k).data
        support = k[: pmf.size]
        assert pmf.sum() == pytest.approx(1.0, rel=1e-12)
        assert (support * pmf).sum() == pytest.approx(dist.mean.item(), rel=1e-10)
        assert ((support - dist.mean.item()) ** 2 * pmf).sum() == pytest.approx(
            dist.variance.item(), rel=1e-10)


# -- entropy ----------------------------------------------------------------------------------


def test_entropies_closed_form_and_against_scipy():
    assert D.Normal(0.0, 2.0).entropy().item() == pytest.approx(0.5 * math.log(2 * math.pi
                                                                                 * math.e * 4))
    assert D.Bernoulli(0.5).entropy().item() == pytest.approx(math.log(2))
    assert D.Bernoulli(0.0).entropy().item() == 0.0
    k = np.arange(11)
    pmf = np.array([math.comb(10, i) for i in k]) / 2**10
    assert D.Binomial(10, 0.5).entropy().item() == pytest.approx(-(pmf * np.log(pmf)).sum())
    assert D.Poisson(0.0).entropy().item() == 0.0
    stats = pytest.importorskip("scipy.stats")
    rates = np.array([0.5, 5.0, 300.0])
    np.testing.assert_allclose(D.Poisson(rates).entropy().data,
                               [stats.poisson(r).entropy() for r in rates], rtol=1e-10)
    np.testing.assert_allclose(D.Binomial(np.array([3, 10]), np.array([0.2, 0.7])).entropy().data,
                               [stats.binom(3, 0.2).entropy(), stats.binom(10, 0.7).entropy()])


# -- gradients ------------------------------------------------------------------------------


@settings(max_examples=examples(20), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_gradients_in_parameters_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    loc = mg.tensor(rng.normal(size=3), requires_grad=True)
    scale = mg.tensor(rng.uniform(0.5, 2, size=3), requires_grad=True)
    value = mg.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    assert mg.gradcheck(lambda m, s, v: D.Normal(m, s).log_prob(v), [loc, scale, value])
    assert mg.gradgradcheck(lambda m, s, v: D.Normal(m, s).log_prob(v), [loc, scale, value])
    assert mg.gradcheck(lambda s: D.Normal(0.0, s).entropy(), [scale])
    p = mg.tensor(rng.uniform(0.1, 0.9, size=3), requires_grad=True)
    counts = rng.integers(0, 8, size=3).astype(float)
    assert mg.gradcheck(lambda q: D.Binomial(8, q).log_prob(counts), [p])
    assert mg.gradgradcheck(lambda q: D.Binomial(8, q).log_prob(counts), [p])
    assert mg.gradcheck(lambda q: D.Binomial(8, q).entropy(), [p])
    assert mg.gradcheck(lambda q: D.Bernoulli(q).log_prob(counts % 2), [p])
    assert mg.gradcheck(lambda q: D.Bernoulli(q).entropy(), [p])
    rate = mg.tensor(rng.uniform(0.5, 10, size=3), requires_grad=True)
    assert mg.gradcheck(lambda r: D.Poisson(r).log_prob(counts), [rate])
    assert mg.gradcheck(lambda r: D.Poisson(r).entropy(), [rate])
    assert mg.gradcheck(lambda m, s: D.Normal(m, s).rsample((4,), rng=seed), [loc, scale])


def test_lgamma_digamma_against_math_and_scipy():
    x = np.array([0.1, 0.5, 1.0, 1.5, 2.5, 7.0, 30.0, -0.5, -2.3])
    np.testing.assert_allclose(D.lgamma(x).data, [math.lgamma(v) for v in x], rtol=1e-14)
    assert D.lgamma(np.array([0.0, -1.0])).data.tolist() == [np.inf, np.inf]
    # digamma(1) = -Euler gamma; digamma(n + 1) = H_n - gamma
    euler = 0.5772156649015329
    np.testing.assert_allclose(D.digamma(mg.tensor([1.0, 4.0])).data,
                               [-euler, 1 + 1 / 2 + 1 / 3 - euler], rtol=1e-13)
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(D.digamma(mg.tensor(x)).data, special.digamma(x), atol=1e-13)
    t = mg.tensor(np.abs(x) + 0.2, requires_grad=True)
    assert mg.gradcheck(D.lgamma, [t]) and mg.gradgradcheck(D.lgamma, [t])


# -- moments and sampling ------------------------------------------------------------------


def test_mean_variance_and_sample_shapes():
    normal = D.Normal(np.zeros(3), 2.0)
    assert normal.batch_shape == (3,)
    assert normal.mean.shape == (3,) and normal.variance.data.tolist() == [4.0] * 3
    assert normal.sample((4, 2), rng=0).shape == (4, 2, 3)
    assert D.Binomial(10, np.full(2, 0.5)).sample(5, rng=1).shape == (5, 2)
    assert D.Poisson(3.0).sample(rng=0).shape == ()
    assert D.Bernoulli(np.full((2, 2), 0.3)).sample((7,), rng=0).shape == (7, 2, 2)
    assert D.Binomial(10, 0.25).mean.item() == 2.5
    assert D.Binomial(10, 0.25).variance.item() == pytest.approx(1.875)
    assert D.Bernoulli(0.25).variance.item() == pytest.approx(0.1875)


def test_sample_statistics_and_reproducibility():
    rng = np.random.default_rng(0)
    for dist, mean, var in [(D.Normal(1.5, 2.0), 1.5, 4.0), (D.Binomial(20, 0.3), 6.0, 4.2),
                            (D.Poisson(4.0), 4.0, 4.0), (D.Bernoulli(0.2), 0.2, 0.16)]:
        draws = dist.sample((200_000,), rng=rng).data
        assert draws.mean() == pytest.approx(mean, abs=5 * math.sqrt(var / 200_000))
        assert draws.var() == pytest.approx(var, rel=0.02)
        np.testing.assert_array_equal(dist.sample((5,), rng=7).data, dist.sample((5,), rng=7).data)
    assert not D.Normal(mg.tensor(0.0, requires_grad=True), 1.0).sample((3,)).requires_grad


# -- bad parameters and values -----------------------------------------------------------------


@pytest.mark.parametrize(("make", "match"), [
    (lambda: D.Normal(0.0, 0.0), "Normal: scale must be positive"),
    (lambda: D.Normal(0.0, [1.0, -1.0]), "Normal: scale must be positive, but got \\[-1.0\\]"),
    (lambda: D.Normal(np.nan, 1.0), "Normal: loc must be finite"),
    (lambda: D.Binomial(10, 1.5), "Binomial: probs must lie in \\[0, 1\\]"),
    (lambda: D.Binomial(-1, 0.5), "Binomial: total_count must be a non-negative integer"),
    (lambda: D.Binomial(2.5, 0.5), "Binomial: total_count must be a non-negative integer"),
    (lambda: D.Poisson(-0.1), "Poisson: rate must be non-negative"),
    (lambda: D.Bernoulli(-0.2), "Bernoulli: probs must lie in \\[0, 1\\]"),
    (lambda: D.Bernoulli(np.nan), "Bernoulli: probs must lie in \\[0, 1\\]"),
])
def test_invalid_parameters_raise_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(("call", "match"), [
    (lambda: D.Binomial(10, 0.5).log_prob(11.0), "no larger than total_count"),
    (lambda: D.Binomial(10, 0.5).log_prob(2.5), "non-negative integers"),
    (lambda: D.Poisson(1.0).log_prob(-1.0), "Poisson.log_prob: values must be non-negative"),
    (lambda: D.Bernoulli(0.5).log_prob(0.5), "Bernoulli.log_prob: values must be 0 or 1"),
])
def test_values_outside_the_support_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
