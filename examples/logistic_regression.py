"""Logistic regression on the engine, its gradient checked against the formula.

Model: p = sigmoid(X w + b). Loss: the mean binary cross-entropy, computed
from the logits z = X w + b (``mg.losses.binary_cross_entropy_with_logits``,
stable for any z). Its analytic gradient is short:

    dL/dw = (1/n) X^T (sigmoid(z) - y),      dL/db = (1/n) sum (sigmoid(z) - y)

The script compares the engine's gradient with that formula (and with
central finite differences) at the start and at the end of training, then
trains by full-batch gradient descent.

Run:  python examples/logistic_regression.py
"""

from __future__ import annotations

import numpy as np

import minigrad as mg


def make_data(n: int = 400, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    true_w, true_b = np.array([2.0, -1.0, 0.5])[:d], -0.3
    p = 1 / (1 + np.exp(-(X @ true_w + true_b)))
    return X, (rng.uniform(size=n) < p).astype(np.float64)


def loss_fn(X: np.ndarray, y: np.ndarray, w: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
    return mg.losses.binary_cross_entropy_with_logits(mg.tensor(X) @ w + b, y)


def analytic_gradient(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float
                      ) -> np.ndarray:
    s = 1 / (1 + np.exp(-(X @ w + b)))
    return np.append(X.T @ (s - y), np.sum(s - y)) / len(X)


def finite_differences(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float,
                       eps: float = 1e-6) -> np.ndarray:
    def loss(theta: np.ndarray) -> float:
        z = X @ theta[:-1] + theta[-1]
        return float(np.mean(np.logaddexp(0, z) - y * z))

    theta = np.append(w, b)
    grad = np.empty_like(theta)
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = eps
        grad[i] = (loss(theta + e) - loss(theta - e)) / (2 * eps)
    return grad


def check(X: np.ndarray, y: np.ndarray, w: mg.Tensor, b: mg.Tensor, label: str) -> float:
    w.grad = b.grad = None
    loss_fn(X, y, w, b).backward()
    engine = np.append(w.grad.data, b.grad.data)
    analytic = analytic_gradient(X, y, w.data, float(b.data))
    numeric = finite_differences(X, y, w.data, float(b.data))
    print(f"\ngradient check {label}:")
    print(f"{'':8}{'engine':>20}{'analytic':>20}{'finite diff':>20}")
    for i, name in enumerate([f"w[{j}]" for j in range(len(w.data))] + ["b"]):
        print(f"{name:8}{engine[i]:>20.12f}{analytic[i]:>20.12f}{numeric[i]:>20.12f}")
    worst = float(np.max(np.abs(engine - analytic)))
    print(f"max |engine - analytic| = {worst:.2e}, "
          f"max |engine - finite diff| = {np.max(np.abs(engine - numeric)):.2e}")
    return worst


def main() -> float:
    X, y = make_data()
    w = mg.zeros(X.shape[1], requires_grad=True)
    b = mg.tensor(0.0, requires_grad=True)
    rng = np.random.default_rng(1)
    with mg.no_grad():  # start somewhere less special than zero for the check
        w.data[:] = rng.normal(size=w.shape)
    worst = check(X, y, w, b, "at random weights")
    opt = mg.optim.GD([w, b], lr=0.5)
    for step in range(300):
        opt.zero_grad()
        loss = loss_fn(X, y, w, b)
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step:3d}: loss {loss.item():.6f}")
    worst = max(worst, check(X, y, w, b, "after training"))
    with mg.no_grad():
        acc = np.mean(((mg.tensor(X) @ w + b).data > 0) == (y == 1))
    print(f"\nweights {np.round(w.data, 3)}, bias {float(b.data):.3f}; accuracy {acc:.1%}")
    return worst


if __name__ == "__main__":
    main()
