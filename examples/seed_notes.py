"""Walk through both seed notes with minigrad, printing each result beside the note's.

Note 000 ("Mathematics for Machine Learning") returns its results without
printing them, so its column shows what the note's own NumPy/SciPy code gives
(or the value its text states); note 001 shows what the notebook printed.
Where a derivative means something, the gradient minigrad computes is shown too.

    python examples/seed_notes.py
"""

from __future__ import annotations

import math

import numpy as np

import minigrad as mg

D = mg.distributions


def show(label: str, ours: object, note: object) -> None:
    def fmt(v: object) -> str:
        if isinstance(v, mg.Tensor):
            v = v.data
        if isinstance(v, np.ndarray):
            return np.array2string(np.round(v, 4), separator=", ").replace("\n", "")
        return f"{v:.6g}" if isinstance(v, float) else str(v)

    print(f"  {label:<34} minigrad: {fmt(ours):<30} note: {fmt(note)}")


def note_000() -> None:
    print("== 000: Mathematics for Machine Learning ==")
    print("-- Linear algebra")
    v1 = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v2 = mg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    show("v1 + v2", v1 + v2, np.array([1, 2, 3]) + np.array([4, 5, 6]))
    dot = mg.dot(v1, v2)
    dot.backward()
    show("np.dot(v1, v2)", dot.item(), 32)
    show("d dot / d v1 (= v2)", v1.grad, np.array([4.0, 5.0, 6.0]))
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = mg.tensor([[5.0, 6.0], [7.0, 8.0]])
    an, bn = a.data, b.data
    show("np.matmul(A, B)", mg.matmul(a, b), np.matmul(an, bn))
    show("A.T", a.T, an.T)
    show("np.linalg.inv(A)", mg.linalg.inv(a), np.linalg.inv(an))
    w, v = mg.linalg.eig(a)
    show("eigenvalues of A", w, np.linalg.eig(an)[0])
    show("eigenvectors of A", v, np.linalg.eig(an)[1])
    mg.linalg.det(a).backward()
    show("d det(A) / dA (= det A * A^-T)", a.grad, np.linalg.det(an) * np.linalg.inv(an).T)
    a.grad = None
    mg.linalg.inv(a).sum().backward()
    show("d sum(inv A) / dA", a.grad, mg.numerical_grad(lambda t: mg.linalg.inv(t).sum(), [a])[0])
    basis = mg.tensor([[1.0, 0.0], [0.0, 1.0]])
    show("basis @ (2, 3)", mg.dot(basis, mg.tensor([2.0, 3.0])), np.array([2, 3]))
    vv, u = mg.tensor([3.0, 4.0]), mg.tensor([1.0, 0.0])
    show("projection of (3, 4) on (1, 0)", mg.dot(vv, u) / mg.dot(u, u) * u, np.array([3, 0]))

    print("-- Calculus (scipy.misc.derivative was removed from SciPy; autograd instead)")
    x = mg.tensor(2.0, requires_grad=True)
    (x**2 + 2 * x + 1).backward()
    show("f'(2) for f = x^2 + 2x + 1", x.grad.item(), 6.0)
    xy = mg.tensor([1.0, 1.0], requires_grad=True)
    (xy**2).sum().backward()
    show("grad of x^2 + y^2 at (1, 1)", xy.grad, np.array([2.0, 2.0]))

    print("-- Optimization")

    def f(t):
        return t**2 + 2 * t + 1

    x = mg.tensor(0.0, requires_grad=True)
    for _ in range(100):  # the note's loop: lr 0.01, 100 iterations, gradient by autograd
        (g,) = mg.autograd.grad(f(x), [x])
        x = (x - 0.01 * g).detach().requires_grad_()
    show("note's GD (lr .01, 100 steps)", x.item(), -1 + 0.98**100)
    show("minimize gd (lr .1, 1000 steps)", float(mg.optim.minimize(f, 0.0, steps=1000).x), -1.0)
    try:
        lbfgs = float(mg.optim.minimize(f, 0.0, method="L-BFGS-B").x)
    except ImportError:
        lbfgs = "(needs scipy)"
    show("minimize L-BFGS-B", lbfgs, -1.0)

    print("-- Probability distributions")
    grid = np.linspace(-4, 4, 100)
    show("normal pdf at 0 (x = linspace)", D.Normal(0.0, 1.0).prob(grid).data[49:51],
         np.exp(-grid[49:51] ** 2 / 2) / math.sqrt(2 * math.pi))
    show("binomial pmf n=10 p=.5", D.Binomial(10, 0.5).prob(np.arange(11.0)),
         np.array([math.comb(10, k) / 1024 for k in range(11)]))
    show("poisson pmf lambda=5", D.Poisson(5.0).prob(np.arange(10.0)),
         np.array([math.exp(-5) * 5**k / math.factorial(k) for k in range(10)]))

    print("-- Statistical measures (seeded: the note's were unseeded)")
    rng = np.random.default_rng(0)
    data = D.Normal(0.0, 1.0).sample((1000,), rng=rng)
    show("mean", mg.mean(data).item(), float(np.mean(data.data)))
    show("median", mg.median(data).item(), float(np.median(data.data)))
    show("std", mg.std(data).item(), float(np.std(data.data)))
    xs = D.Normal(0.0, 1.0).sample((100,), rng=rng)
    ys = 2 * xs + D.Normal(0.0, 0.1).sample((100,), rng=rng)
    show("corrcoef(x, 2x + noise)[0, 1]", mg.corrcoef(xs, ys)[0, 1].item(),
         float(np.corrcoef(xs.data, ys.data)[0, 1]))
    t = mg.mean(data) / (mg.std(data, ddof=1) / math.sqrt(1000))
    try:
        from scipy import stats

        reference: object = float(stats.ttest_1samp(data.data, 0).statistic)
    except ImportError:
        reference = "(needs scipy)"
    show("one-sample t statistic", t.item(), reference)

    print("-- Information theory")
    h = mg.losses.entropy(mg.tensor([0.5, 0.5]), base=2)
    left = mg.losses.entropy(mg.tensor([0.8, 0.2]), base=2)
    right = mg.losses.entropy(mg.tensor([0.2, 0.8]), base=2)
    show("entropy([.5, .5]) in bits", h.item(), 1.0)
    show("information gain (bits)", (h - 0.5 * left - 0.5 * right).item(),
         1 + 0.8 * math.log2(0.8) + 0.2 * math.log2(0.2))

    print("-- Linear regression from scratch (the note's class crashes on y of shape (n, 1))")
    np.random.seed(42)
    X = np.random.rand(100, 1)
    y = 2 * X + 1 + 0.1 * np.random.randn(100, 1)
    model = mg.models.LinearRegression(learning_rate=0.1, n_iterations=5000).fit(X, y)
    closed = mg.models.linear_regression_closed_form(X, y)
    show("weights, bias (GD on the engine)", np.array([model.weights[0], model.bias]),
         np.array([closed[0][0], closed[1]]))
    try:
        mg.losses.mse(mg.tensor(X[:, 0]), y)
    except ValueError as exc:
        print(f"  mse of (100,) vs (100, 1) -> ValueError: {str(exc)[:70]}...")


def note_001() -> None:
    print("== 001: Machine Learning Mathematics Notebook ==")
    a, b = mg.tensor(2.0, requires_grad=True), mg.tensor(-4.0, requires_grad=True)
    x = -b / a
    x.backward()
    show("x = -b / a", x.item(), 2.0)
    show("dx/da, dx/db", np.array([a.grad.item(), b.grad.item()]), np.array([-1.0, -0.5]))
    show("np.dot(asif, ahanger)", mg.dot(mg.tensor([1, 2, 3]), mg.tensor([4, 5, 6])).item(), 32)
    show("A_mat @ B_mat", mg.tensor([[2, 3], [4, 5]]) @ mg.tensor([[4, 6], [6, 8]]),
         np.array([[26, 36], [46, 64]]))
    show("Danish.T", mg.tensor([[1, 2], [3, 4]]).T, np.array([[1, 3], [2, 4]]))
    w = mg.tensor(5.0, requires_grad=True)
    (w**2).backward()
    mg.optim.GD([w], lr=0.1).step()
    show("one GD step on w^2 from 5", w.item(), 4.0)
    t = mg.tensor([10.0, 20.0, 30.0, 40.0])
    show("mean, variance, std", np.array([mg.mean(t).item(), mg.var(t).item(), mg.std(t).item()]),
         np.array([25.0, 125.0, 11.180339887498949]))
    show("Normal(0, 1) samples[:3] (seed 0)", D.Normal(0.0, 1.0).sample((100,), rng=0)[:3],
         "unseeded in the note: [0.2142, 1.5429, 1.6448]")
    show("Bayes P(A|B)", ((0.8 * mg.tensor(0.3)) / 0.5).item(), 0.48)
    show("corrcoef(x, y)", mg.corrcoef(mg.tensor([1.0, 2, 3, 4]), mg.tensor([10.0, 20, 30, 40])),
         np.ones((2, 2)))
    show("MSE", mg.losses.mse(mg.tensor([2.0, 5.0, 8.0]), mg.tensor([3.0, 5.0, 7.0])).item(),
         0.6666666666666666)

    print("-- Maximum likelihood: Normal(loc, scale) by GD on -log_prob")
    samples = np.random.default_rng(7).normal(3.0, 2.0, size=500)
    fit = mg.optim.minimize(
        lambda p: -mg.mean(D.Normal(p[0], mg.exp(p[1])).log_prob(samples)), [0.0, 0.0],
        lr=0.3, steps=3000, tol=1e-12)
    show("loc, scale", np.array([fit.x[0], math.exp(fit.x[1])]),
         np.array([samples.mean(), samples.std()]))


if __name__ == "__main__":
    note_000()
    print()
    note_001()
