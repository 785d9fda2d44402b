"""Linear regression on the engine, checked three ways: ``mg.models``.

The seed notes fit ``y = X w + b`` by gradient descent with hand-written
gradients. Here the engine computes them, and :func:`check_gradients` puts
three answers side by side at any parameters:

* the **engine**'s gradient (``loss.backward()`` through the recorded graph),
* the **analytic** gradient of the MSE, ``(2/n) X^T r`` and ``(2/n) sum r`` with
  residuals ``r = X w + b - y`` (:func:`linear_regression_gradients`),
* the **finite-difference** gradient (central differences of the loss).

A note for readers of the seed notes: their update uses ``dw = (1/n) X^T r``.
That is the gradient of *half* the MSE, ``(1/2n) sum r^2``; minigrad's loss is
the MSE itself, whose gradient is ``(2/n) X^T r`` -- twice as large. So
``learning_rate=0.01`` here takes steps twice as long as the notes' class with
the same rate; both converge to the same least-squares solution
(:func:`linear_regression_closed_form`).

>>> import numpy as np
>>> import minigrad as mg
>>> X = np.array([[0.0], [1.0], [2.0]]); y = 2 * X + 1
>>> model = mg.models.LinearRegression(learning_rate=0.1, n_iterations=2000).fit(X, y)
>>> np.round(model.weights, 6), round(model.bias, 6), model.predict(X).shape
(array([2.]), 1.0, (3, 1))
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from minigrad.backends import as_float_array
from minigrad.data import DataLoader
from minigrad.losses import mse
from minigrad.optim import GD, SGD
from minigrad.tensor import Tensor

__all__ = [
    "GradientCheck",
    "LinearRegression",
    "check_gradients",
    "linear_regression_closed_form",
    "linear_regression_gradients",
]


def _check_data(fn: str, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """X as float (n, d) and y as float (n,); clear errors for the usual mistakes."""
    X = as_float_array(X.data if isinstance(X, Tensor) else X)  # Dask/CuPy keep their type
    y = as_float_array(y.data if isinstance(y, Tensor) else y)
    if X.ndim != 2:
        hint = " Use X.reshape(-1, 1) for a single feature." if X.ndim == 1 else ""
        raise ValueError(f"{fn}: X must have shape (n_samples, n_features), got {X.shape}."
                         + hint)
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        raise ValueError(f"{fn}: y must have shape (n,) or (n, 1), got {y.shape}; linear "
                         "regression here predicts one target.")
    if len(y) != len(X):
        raise ValueError(f"{fn}: X has {len(X)} rows but y has {len(y)}; each sample needs "
                         "one target.")
    return X, y.reshape(-1)


def _check_params(fn: str, weights: Any, bias: Any, d: int) -> tuple[np.ndarray, float]:
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (d,):
        raise ValueError(f"{fn}: weights must have shape ({d},) for X with {d} features, "
                         f"got {np.shape(weights)}.")
    return w, float(np.asarray(bias, dtype=np.float64).reshape(()))


def linear_regression_closed_form(X: Any, y: Any) -> tuple[np.ndarray, float]:
    """Least-squares ``(weights, bias)`` minimizing the MSE, via ``np.linalg.lstsq``
    on ``[X, 1]`` (well defined even when X has dependent columns)."""
    X, y = _check_data("linear_regression_closed_form", X, y)
    design = np.hstack([X, np.ones((len(X), 1))])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return coef[:-1], float(coef[-1])


def linear_regression_gradients(X: Any, y: Any, weights: Any, bias: Any
                                ) -> tuple[np.ndarray, float]:
    """The analytic gradient of ``mse(X w + b, y)``: ``((2/n) X^T r, (2/n) sum r)``
    with ``r = X w + b - y``. (The seed notes' ``(1/n) X^T r`` is half of it: the
    gradient of half the MSE.)"""
    X, y = _check_data("linear_regression_gradients", X, y)
    w, b = _check_params("linear_regression_gradients", weights, bias, X.shape[1])
    r = X @ w + b - y
    n = len(X)
    return (2 / n) * (X.T @ r), float((2 / n) * r.sum())


@dataclasses.dataclass
class GradientCheck:
    """Engine, analytic and finite-difference gradients at one point.

    Each of ``engine``, ``analytic``, ``numerical`` is an array holding the
    weights' gradient followed by the bias's (length d + 1). ``max_diff`` maps
    each pair to its largest absolute difference. ``str()`` gives the table.
    """

    engine: np.ndarray
    analytic: np.ndarray
    numerical: np.ndarray
    loss: float
    eps: float

    @property
    def max_diff(self) -> dict[str, float]:
        e, a, f = self.engine, self.analytic, self.numerical
        return {"engine vs analytic": float(np.max(np.abs(e - a))),
                "engine vs finite differences": float(np.max(np.abs(e - f))),
                "analytic vs finite differences": float(np.max(np.abs(a - f)))}

    @property
    def max_difference(self) -> float:
        """The largest of the three pairwise differences."""
        return max(self.max_diff.values())

    def __str__(self) -> str:
        d = len(self.engine) - 1
        names = [f"dL/dw[{i}]" for i in range(d)] + ["dL/db"]
        rows = [f"{'parameter':<12}{'engine':>22}{'analytic':>22}{'finite diff':>22}"]
        shown = list(range(min(d, 10))) + [d]
        for i in shown:
            rows.append(f"{names[i]:<12}{self.engine[i]:>22.15g}{self.analytic[i]:>22.15g}"
                        f"{self.numerical[i]:>22.15g}")
        if d > 10:
            rows.insert(11, f"{'...':<12}({d - 10} more weights)")
        rows.append(f"loss (MSE) = {self.loss:.15g};  central differences with eps = "
                    f"{self.eps:g}")
        rows += [f"max |{k}| = {v:.3e}" for k, v in self.max_diff.items()]
        return "\n".join(rows)


def check_gradients(X: Any, y: Any, weights: Any = None, bias: Any = 0.0,
                    eps: float = 1e-4) -> GradientCheck:
    """Compare the engine's, the analytic and the finite-difference MSE gradients.

    At ``weights`` (default zeros) and ``bias``. The MSE is quadratic in the
    parameters, so central differences have no truncation error here and a
    fairly large ``eps`` only shrinks the rounding error.

    >>> import numpy as np
    >>> import minigrad as mg
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]); y = np.array([1.0, 2.0, 2.5])
    >>> report = mg.models.check_gradients(X, y, weights=[0.1, -0.2], bias=0.3)
    >>> report.max_difference < 1e-8
    True
    """
    X, y = _check_data("check_gradients", X, y)
    d = X.shape[1]
    w, b = _check_params("check_gradients", np.zeros(d) if weights is None else weights,
                         bias, d)
    # 1. the engine
    w_t, b_t = Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
    loss = mse(Tensor._make(X) @ w_t + b_t, Tensor._make(y))
    loss.backward()
    engine = np.append(w_t.grad.data, b_t.grad.data)
    # 2. the formula
    dw, db = linear_regression_gradients(X, y, w, b)
    analytic = np.append(dw, db)
    # 3. central differences: (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps)
    theta = np.append(w, b)

    def loss_at(t: np.ndarray) -> float:
        r = X @ t[:-1] + t[-1] - y
        return float(np.mean(r * r))

    numerical = np.empty_like(theta)
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = eps
        numerical[i] = (loss_at(theta + step) - loss_at(theta - step)) / (2 * eps)
    return GradientCheck(engine, analytic, numerical, float(loss.item()), eps)


class LinearRegression:
    """Linear regression ``y = X @ weights + bias`` trained on the engine.

    Parameters
    ----------
    learning_rate, n_iterations
        Step size, and number of passes over the data.
    optimizer
        ``"gd"``: gradient descent, one step per iteration on the full batch
        (the exact gradient). ``"sgd"``: stochastic gradient descent, one step
        per minibatch of ``batch_size`` rows (default 32), in an order shuffled
        each pass by ``random_state`` -- cheaper, noisier steps, many per pass.
    batch_size
        Minibatch size for ``"sgd"`` (must be ``None`` for ``"gd"``).
    random_state
        Seed or ``numpy.random.Generator`` for the shuffling: the same seed gives
        the same fit.
    progress
        Show a tqdm progress bar over the iterations (needs ``tqdm``).

    After ``fit``: ``weights`` (array of shape (d,)), ``bias`` (float), and
    ``history_``, the MSE before each optimizer step (floats). The loss is the
    MSE, with gradient ``(2/n) X^T r`` -- twice the seed notes' ``(1/n) X^T r``,
    which is the gradient of half the MSE.
    """

    def __init__(self, learning_rate: float = 0.01, n_iterations: int = 1000,
                 optimizer: str = "gd", batch_size: int | None = None,
                 random_state: Any = None, progress: bool = False) -> None:
        if optimizer not in ("gd", "sgd"):
            raise ValueError(f"LinearRegression: optimizer must be 'gd' (full batch) or 'sgd' "
                             f"(minibatches), not {optimizer!r}.")
        if not learning_rate > 0:
            raise ValueError(f"LinearRegression: learning_rate must be > 0, got "
                             f"{learning_rate!r}.")
        if not isinstance(n_iterations, (int, np.integer)) or n_iterations < 0:
            raise ValueError(f"LinearRegression: n_iterations must be an int >= 0, got "
                             f"{n_iterations!r}.")
        if optimizer == "gd" and batch_size is not None:
            raise ValueError("LinearRegression: batch_size is for optimizer='sgd'; gradient "
                             "descent ('gd') always uses the full batch.")
        self.learning_rate = learning_rate
        self.n_iterations = int(n_iterations)
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.random_state = random_state
        self.progress = progress
        self.weights: np.ndarray | None = None
        self.bias: float | None = None
        self.history_: list[float] = []

    def fit(self, X: Any, y: Any, progress: bool | None = None) -> LinearRegression:
        """Train from zero weights and bias; returns ``self``."""
        X, y_flat = _check_data("LinearRegression.fit", X, y)
        self._y_ndim = np.ndim(y.data if isinstance(y, Tensor) else y)
        w = Tensor(np.zeros(X.shape[1]), requires_grad=True)
        b = Tensor(0.0, requires_grad=True)
        if self.optimizer == "gd":
            opt: GD = GD([w, b], lr=self.learning_rate)
            loader = DataLoader(X, y_flat)  # the full batch: one step per iteration
        else:
            opt = SGD([w, b], lr=self.learning_rate)
            loader = DataLoader(X, y_flat, batch_size=self.batch_size or 32, shuffle=True,
                                rng=self.random_state)  # one step per minibatch
        self.history_ = history = []
        bar = _progress_bar(self.n_iterations, self.progress if progress is None else progress)
        for _ in bar:
            for xb, yb in loader:
                opt.zero_grad()
                loss = mse(xb @ w + b, yb)
                loss.backward()
                opt.step()
                history.append(float(loss.data))  # a float: no graph is kept alive
            if hasattr(bar, "set_postfix") and history:
                bar.set_postfix(loss=history[-1], refresh=False)
        self.weights, self.bias = w.data.copy(), float(b.data)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """``X @ weights + bias``, with the shape ``y`` had in ``fit`` ((n,) or (n, 1))."""
        if self.weights is None:
            raise RuntimeError("LinearRegression.predict: the model is not fitted yet; call "
                               "fit(X, y) first.")
        X = as_float_array(X.data if isinstance(X, Tensor) else X)
        if X.ndim != 2 or X.shape[1] != len(self.weights):
            raise ValueError(f"LinearRegression.predict: X must have shape (n, "
                             f"{len(self.weights)}), got {X.shape}.")
        pred = X @ self.weights + self.bias
        return pred.reshape(-1, 1) if self._y_ndim == 2 else pred

    def check_gradients(self, X: Any, y: Any, eps: float = 1e-4) -> GradientCheck:
        """The three-way gradient check at the current parameters (zeros before fit)."""
        return check_gradients(X, y, self.weights, self.bias or 0.0, eps=eps)


def _progress_bar(n: int, progress: bool) -> Any:
    if not progress:
        return range(n)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError("LinearRegression: progress=True needs tqdm (pip install tqdm, or "
                          "pip install minigrad[progress]).") from None
    return tqdm(range(n), desc="LinearRegression.fit", unit="it")
