"""The seed note's linear regression, on the engine: GD vs SGD, checked three ways.

The seed note ("Implementing Linear Regression from Scratch") fits
``y = 2x + 1 + noise`` with hand-written gradients. Here:

1. the same data (``np.random.seed(42)``, y of shape (100, 1) -- the shape
   that crashes the note's class once ``y`` is 2-D);
2. gradient descent (one step per pass, on the full batch) and stochastic
   gradient descent (one step per minibatch of 16, reshuffled every pass);
3. the engine's gradient beside the analytic formula and finite differences;
4. both fits beside the exact least-squares solution.

Note: the note's update uses ``(1/n) X^T r``, the gradient of *half* the MSE.
minigrad minimizes the MSE itself, whose gradient is ``(2/n) X^T r``.

Run:  python examples/linear_regression.py [--plot fit.png]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import minigrad as mg
from minigrad.models import LinearRegression, linear_regression_closed_form


def seed_data() -> tuple[np.ndarray, np.ndarray]:
    np.random.seed(42)
    X = np.random.rand(100, 1)
    y = 2 * X + 1 + 0.1 * np.random.randn(100, 1)
    return X, y


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", default=None, help="write the fit and loss curves to a PNG")
    args = parser.parse_args(argv)
    X, y = seed_data()
    w_exact, b_exact = linear_regression_closed_form(X, y)

    print("1. The three-way gradient check at w = 0.5, b = 0 (the loss is the MSE):")
    print(mg.models.check_gradients(X, y, weights=[0.5], bias=0.0))

    fits = {}
    for label, model in [
        ("GD  (full batch, 1 step/pass)", LinearRegression(learning_rate=0.5, n_iterations=500)),
        ("SGD (batch 16, 7 steps/pass) ", LinearRegression(learning_rate=0.1, n_iterations=200,
                                                           optimizer="sgd", batch_size=16,
                                                           random_state=0)),
    ]:
        start = time.perf_counter()
        model.fit(X, y)
        fits[label] = (model, time.perf_counter() - start)

    print("\n2. Gradient descent vs stochastic gradient descent vs least squares:")
    print(f"{'':32}{'weight':>12}{'bias':>12}{'steps':>8}{'final MSE':>14}{'time':>9}")
    for label, (model, seconds) in fits.items():
        mse = float(np.mean((model.predict(X) - y) ** 2))
        print(f"{label:32}{model.weights[0]:>12.6f}{model.bias:>12.6f}"
              f"{len(model.history_):>8}{mse:>14.8f}{seconds:>8.2f}s")
    exact_mse = float(np.mean((X @ w_exact + b_exact - y.ravel()) ** 2))
    print(f"{'closed form (np.linalg.lstsq)':32}{w_exact[0]:>12.6f}{b_exact:>12.6f}"
          f"{'':>8}{exact_mse:>14.8f}")
    gd = fits["GD  (full batch, 1 step/pass)"][0]
    gaps = {"gd_weight_gap": float(abs(gd.weights[0] - w_exact[0])),
            "gd_bias_gap": float(abs(gd.bias - b_exact))}
    print(f"\n|GD - closed form|: weight {gaps['gd_weight_gap']:.2e}, "
          f"bias {gaps['gd_bias_gap']:.2e}")
    print(f"predict() keeps y's shape: {gd.predict(X).shape}")
    print("\n3. After training, the gradient is ~0 and all three still agree:")
    print(gd.check_gradients(X, y))

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        order = np.argsort(X[:, 0])
        left.scatter(X, y, s=12, color="tab:blue", label="data")
        for label, (model, _) in fits.items():
            left.plot(X[order], model.predict(X)[order], label=label.split("(")[0].strip())
        left.set(title="Linear regression on minigrad", xlabel="X", ylabel="y")
        left.legend()
        for label, (model, _) in fits.items():
            steps = np.arange(1, len(model.history_) + 1)
            right.loglog(steps, model.history_, label=label.split("(")[0].strip())
        right.set(title="MSE per optimizer step", xlabel="step", ylabel="MSE")
        right.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=175)  # 1925 px wide: sharp on a 1920 x 1080 slide
        print(f"\nplot written to {args.plot}")
    return gaps


if __name__ == "__main__":
    main()
