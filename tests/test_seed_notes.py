"""Every snippet of the two seed notes (../shared/seeds/), rewritten with minigrad.

Each test asserts the note's own output and, where a derivative means
something, checks it against a closed form and/or central finite differences.
Section by section, in the notes' order: 000 "Mathematics for Machine
Learning", then 001 "Machine Learning Mathematics Notebook".
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg

D = mg.distributions


# =============================== note 000 ===============================================
# -- 1. Linear algebra: vectors and matrices --------------------------------------------------


def test_000_vector_sum_and_dot_product_and_its_gradient():
    v1 = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v2 = mg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    assert (v1 + v2).tolist() == [5.0, 7.0, 9.0]
    dot = mg.dot(v1, v2)
    assert dot.item() == 32.0
    dot.backward()
    assert v1.grad.tolist() == [4.0, 5.0, 6.0]  # d(v1 . v2)/dv1 = v2
    assert v2.grad.tolist() == [1.0, 2.0, 3.0]  # d(v1 . v2)/dv2 = v1
    assert mg.gradcheck(mg.dot, [v1, v2])


def test_000_matrix_product_transpose_inverse():
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = mg.tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
    assert mg.matmul(a, b).tolist() == [[19.0, 22.0], [43.0, 50.0]]
    assert mg.gradcheck(mg.matmul, [a, b])
    assert a.T.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    a_inv = mg.linalg.inv(a)
    np.testing.assert_allclose(a_inv.data, [[-2.0, 1.0], [1.5, -0.5]])
    np.testing.assert_allclose((a @ a_inv).data, np.eye(2), atol=1e-12)


def test_000_gradient_of_inverse():
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    mg.linalg.inv(a)[0, 1].backward()  # d (A^-1)_01 / dA = -(A^-T)[:, 0] (A^-T)[1, :]
    inv = np.linalg.inv(a.data)
    np.testing.assert_allclose(a.grad.data, -np.outer(inv[0, :], inv[:, 1]))
    assert mg.gradcheck(mg.linalg.inv, [a]) and mg.gradgradcheck(mg.linalg.inv, [a])


def test_000_gradient_of_determinant():
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    d = mg.linalg.det(a)
    assert d.item() == pytest.approx(-2.0)
    d.backward()
    np.testing.assert_allclose(a.grad.data, [[4.0, -3.0], [-2.0, 1.0]])  # cofactor matrix
    assert mg.gradcheck(mg.linalg.det, [a]) and mg.gradgradcheck(mg.linalg.det, [a])


def test_000_eigenvalues_and_eigenvectors():
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    eigenvalues, eigenvectors = mg.linalg.eig(a)
    np.testing.assert_allclose(eigenvalues.data, [-0.3722813232690143, 5.372281323269014])
    expected_w, expected_v = np.linalg.eig(a.data)
    np.testing.assert_allclose(eigenvalues.data, expected_w)
    np.testing.assert_allclose(eigenvectors.data, expected_v)
    np.testing.assert_allclose((a @ eigenvectors).data, (eigenvectors * eigenvalues).data)
    assert mg.gradcheck(lambda t: mg.linalg.eig(t)[0], [a])
    assert mg.gradcheck(lambda t: mg.linalg.eig(t)[1], [a])


# -- Vector spaces and transformations ------------------------------------------------------


def project_vector(v, u):
    return (mg.dot(v, u) / mg.dot(u, u)) * u


def test_000_basis_change_and_projection():
    basis = mg.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert mg.dot(basis, mg.tensor([2.0, 3.0])).tolist() == [2.0, 3.0]
    v = mg.tensor([3.0, 4.0], requires_grad=True)
    u = mg.tensor([1.0, 0.0], requires_grad=True)
    v_proj = project_vector(v, u)
    assert v_proj.tolist() == [3.0, 0.0]
    v_proj[0].backward()
    assert v.grad.tolist() == [1.0, 0.0]  # the projection keeps only v's component along u
    assert mg.gradcheck(project_vector, [v, u])


# -- 2. Calculus: derivatives and gradients (scipy.misc.derivative is gone: autograd) --------


def test_000_derivative_and_gradient_examples():
    x = mg.tensor(2.0, requires_grad=True)
    f = x**2 + 2 * x + 1
    f.backward()
    assert x.grad.item() == 6.0  # f'(x) = 2x + 2
    xy = mg.tensor([1.0, 1.0], requires_grad=True)
    (xy**2).sum().backward()
    assert xy.grad.tolist() == [2.0, 2.0]  # grad (x^2 + y^2) = (2x, 2y)
    numerical = mg.numerical_grad(lambda t: (t**2).sum(), [xy])[0]
    np.testing.assert_allclose(numerical, [2.0, 2.0], rtol=1e-8)


# -- Optimization ------------------------------------------------------------------------------


def test_000_gradient_descent_as_written_and_to_convergence():
    def f(x):
        return x**2 + 2 * x + 1

    x = mg.tensor(0.0, requires_grad=True)
    for _ in range(100):  # the note's loop: learning_rate=0.01, n_iterations=100
        (grad,) = mg.autograd.grad(f(x), [x])
        x = (x - 0.01 * grad).detach().requires_grad_()
    # x_k + 1 = 0.98^k (x_0 + 1): 100 small steps stop short of the minimum at -1
    assert x.item() == pytest.approx(-1 + 0.98**100, rel=1e-12)
    gd = mg.optim.minimize(f, 0.0, method="gd", lr=0.1, steps=1000)
    assert float(gd.x) == pytest.approx(-1.0, abs=1e-9)
    pytest.importorskip("scipy")
    lbfgs = mg.optim.minimize(f, 0.0, method="L-BFGS-B")
    assert float(lbfgs.x) == pytest.approx(-1.0, abs=1e-6)
    assert lbfgs.fun == pytest.approx(0.0, abs=1e-12)


# -- 3. Statistics and probability: distributions ----------------------------------------------


def test_000_normal_binomial_poisson_against_closed_forms():
    x = np.linspace(-4, 4, 100)
    normal_pdf = D.Normal(0.0, 1.0).prob(x)
    np.testing.assert_allclose(normal_pdf.data, np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi))
    n, p = 10, 0.5
    binomial_pmf = D.Binomial(n, p).prob(np.arange(n + 1.0))
    np.testing.assert_allclose(binomial_pmf.data, [math.comb(10, k) / 1024 for k in range(11)])
    poisson_pmf = D.Poisson(5.0).prob(np.arange(10.0))
    np.testing.assert_allclose(poisson_pmf.data,
                               [math.exp(-5) * 5**k / math.factorial(k) for k in range(10)])
    stats = pytest.importorskip("scipy.stats")
    np.testing.assert_allclose(normal_pdf.data, stats.norm.pdf(x, 0, 1))
    np.testing.assert_allclose(binomial_pmf.data, stats.binom.pmf(range(n + 1), n, p))
    np.testing.assert_allclose(poisson_pmf.data, stats.poisson.pmf(range(10), 5))


# -- Statistical measures ------------------------------------------------------------------------


def test_000_statistical_measures_and_t_test():
    rng = np.random.default_rng(0)
    data = D.Normal(0.0, 1.0).sample((1000,), rng=rng)
    assert mg.mean(data).item() == pytest.approx(np.mean(data.data))
    assert mg.median(data).item() == pytest.approx(np.median(data.data))
    assert mg.std(data).item() == pytest.approx(np.std(data.data))
    x = D.Normal(0.0, 1.0).sample((100,), rng=rng)
    y = 2 * x + D.Normal(0.0, 0.1).sample((100,), rng=rng)
    correlation = mg.corrcoef(x, y)[0, 1]
    assert correlation.item() == pytest.approx(np.corrcoef(x.data, y.data)[0, 1])
    assert correlation.item() > 0.99

    def t_statistic(sample):
        return mg.mean(sample) / (mg.std(sample, ddof=1) / math.sqrt(sample.size))

    t = t_statistic(data)
    expected = np.mean(data.data) / (np.std(data.data, ddof=1) / math.sqrt(1000))
    assert t.item() == pytest.approx(expected, rel=1e-12)
    assert mg.gradcheck(t_statistic, [mg.tensor(data.data[:8], requires_grad=True)])
    stats = pytest.importorskip("scipy.stats")
    assert t.item() == pytest.approx(stats.ttest_1samp(data.data, 0).statistic, rel=1e-12)


# -- 4. Information theory -----------------------------------------------------------------------


def test_000_entropy_and_information_gain():
    def entropy(p):
        return mg.losses.entropy(p, base=2)

    parent_entropy = entropy(mg.tensor([0.5, 0.5]))
    assert parent_entropy.item() == pytest.approx(1.0)
    left_entropy = entropy(mg.tensor([0.8, 0.2]))
    right_entropy = entropy(mg.tensor([0.2, 0.8]))
    gain = parent_entropy - (0.5 * left_entropy + 0.5 * right_entropy)
    expected = 1 + 0.8 * math.log2(0.8) + 0.2 * math.log2(0.2)
    assert gain.item() == pytest.approx(expected, rel=1e-12)
    assert round(gain.item(), 4) == 0.2781


# -- Hands-on task: linear regression from scratch ------------------------------------------------


def _seed_regression_data():
    np.random.seed(42)  # the note's data, exactly
    X = np.random.rand(100, 1)
    y = 2 * X + 1 + 0.1 * np.random.randn(100, 1)
    return X, y


def test_000_the_notes_linear_regression_class_crashes_on_y_of_shape_n_1():
    X, y = _seed_regression_data()
    weights, bias = np.zeros(1), 0.0
    with pytest.raises(ValueError):  # (100,) - (100, 1) broadcasts to (100, 100)
        y_predicted = np.dot(X, weights) + bias
        weights -= 0.01 * (1 / 100) * np.dot(X.T, (y_predicted - y))


def test_000_linear_regression_with_y_of_shape_n_1_works():
    X, y = _seed_regression_data()
    model = mg.models.LinearRegression(learning_rate=0.1, n_iterations=5000).fit(X, y)
    assert model.predict(X).shape == (100, 1)
    assert model.weights.shape == (1,)
    closed_w, closed_b = mg.models.linear_regression_closed_form(X, y)
    np.testing.assert_allclose(model.weights, closed_w, atol=1e-6)
    assert model.bias == pytest.approx(closed_b, abs=1e-6)
    assert model.weights[0] == pytest.approx(2.0, abs=0.1)
    assert model.bias == pytest.approx(1.0, abs=0.1)
    assert model.history_[-1] < model.history_[0]


def test_000_the_n_vs_n_1_loss_mistake_raises_a_clear_error():
    X, y = _seed_regression_data()
    pred = mg.tensor(X[:, 0] * 2 + 1)  # shape (100,) against y of shape (100, 1)
    with pytest.raises(ValueError, match=r"mse: .*\(100,\).*\(100, 1\)"):
        mg.losses.mse(pred, y)


# =============================== note 001 ===============================================


def test_001_linear_equation():
    a = mg.tensor(2.0, requires_grad=True)
    b = mg.tensor(-4.0, requires_grad=True)
    x = -b / a
    assert x.item() == 2.0
    x.backward()
    assert a.grad.item() == -1.0  # dx/da = b / a^2
    assert b.grad.item() == -0.5  # dx/db = -1 / a


def test_001_dot_product_matmul_transpose():
    assert mg.dot(mg.tensor([1, 2, 3]), mg.tensor([4, 5, 6])).item() == 32
    a_mat = mg.tensor([[2, 3], [4, 5]])
    b_mat = mg.tensor([[4, 6], [6, 8]])
    assert (a_mat @ b_mat).tolist() == [[26, 36], [46, 64]]
    assert mg.tensor([[1, 2], [3, 4]]).T.tolist() == [[1, 3], [2, 4]]


def test_001_one_gradient_descent_step():
    w = mg.tensor(5.0, requires_grad=True)
    (w**2).backward()
    assert w.grad.item() == 10.0  # derivative of w^2 is 2w
    mg.optim.GD([w], lr=0.1).step()
    assert w.item() == 4.0


def test_001_mean_variance_std():
    t = mg.tensor([10.0, 20.0, 30.0, 40.0])
    assert (mg.mean(t).item(), mg.var(t).item()) == (25.0, 125.0)
    assert mg.std(t).item() == pytest.approx(11.180339887498949, rel=1e-15)


def test_001_normal_samples():
    samples = D.Normal(0.0, 1.0).sample((100,), rng=0)
    assert samples.shape == (100,)
    np.testing.assert_array_equal(samples.data, np.random.default_rng(0).standard_normal(100))
    assert abs(samples.data.mean()) < 0.3  # the note's printed draws were unseeded


def test_001_bayes_theorem():
    p_a = mg.tensor(0.3, requires_grad=True)
    p_a_given_b = (0.8 * p_a) / 0.5
    assert p_a_given_b.item() == pytest.approx(0.48, rel=1e-15)
    p_a_given_b.backward()
    assert p_a.grad.item() == pytest.approx(1.6)  # P(B|A) / P(B)


def test_001_correlation():
    c = mg.corrcoef(mg.tensor([1.0, 2.0, 3.0, 4.0]), mg.tensor([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_allclose(c.data, [[1.0, 1.0], [1.0, 1.0]])


def test_001_mse_loss():
    y_true = mg.tensor([3.0, 5.0, 7.0])
    y_pred = mg.tensor([2.0, 5.0, 8.0], requires_grad=True)
    loss = mg.losses.mse(y_pred, y_true)
    assert loss.item() == pytest.approx(0.6666666666666666, rel=1e-15)
    loss.backward()
    np.testing.assert_allclose(y_pred.grad.data, [-2 / 3, 0.0, 2 / 3])  # 2 (pred - true) / n


# =============================== maximum likelihood ========================================


@pytest.mark.parametrize("method", ["gd", "L-BFGS-B"])
def test_mle_of_a_normal_by_gradient_descent_on_minus_log_prob(method):
    samples = np.random.default_rng(7).normal(3.0, 2.0, size=500)

    def nll(params):
        return -mg.mean(D.Normal(params[0], mg.exp(params[1])).log_prob(samples))

    if method == "L-BFGS-B":
        pytest.importorskip("scipy")
    result = mg.optim.minimize(nll, [0.0, 0.0], method=method, lr=0.3, steps=3000, tol=1e-12)
    loc, scale = result.x[0], math.exp(result.x[1])
    assert loc == pytest.approx(samples.mean(), abs=1e-6)
    assert scale == pytest.approx(samples.std(), abs=1e-6)  # biased (ddof=0) std
