"""The five workloads: their data, the hand-written NumPy version (the limit) and minigrad's.

Every implementation is a factory ``make(data) -> run``; ``run()`` performs the
whole workload from the same starting point and returns a tuple of NumPy arrays
that the harness compares with the NumPy result before timing anything.

The NumPy versions use gradients derived by hand and avoid needless temporaries
(in-place updates, no gradient for the data); they stand for what the
computation costs without any autograd.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Result = tuple[np.ndarray, ...]
Factory = Callable[[dict[str, Any]], Callable[[], Result]]


@dataclass
class Workload:
    """One benchmark: how to make its data, at full and at ``--quick`` size."""

    key: str
    title: str
    per_op: bool  # report microseconds per op (W3, W5) rather than a ratio
    full: dict[str, Any]
    quick: dict[str, Any]
    make_data: Callable[..., dict[str, Any]]
    rtol: float = 1e-7
    impls: dict[str, Factory] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def linreg_data(n: int, d: int, steps: int, dtype: str = "float64") -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5 + 0.1 * rng.standard_normal(n)
    return {"X": X.astype(dtype), "y": y.astype(dtype), "w": np.zeros(d, dtype),
            "b": np.zeros((), dtype), "lr": 0.05, "steps": steps}


def mlp_data(batch: int, sizes: tuple[int, ...], steps: int, dtype: str = "float64",
             n_batches: int = 4) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype))
        params.append(np.zeros(fan_out, dtype))
    xs = [rng.standard_normal((batch, sizes[0])).astype(dtype) for _ in range(n_batches)]
    onehots = [np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], batch)]
               for _ in range(n_batches)]
    return {"params": params, "xs": xs, "onehots": onehots, "lr": 0.1, "steps": steps}


def chain_data(ops: int) -> dict[str, Any]:
    return {"x": np.array([1.0]), "c": 1.0000001, "ops": ops}


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's make_moons), labels -1 / +1."""
    top = n // 2
    angles = np.concatenate([np.linspace(0, np.pi, top), np.linspace(0, np.pi, n - top)])
    X = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    X[top:] = np.stack([1 - np.cos(angles[top:]), 0.5 - np.sin(angles[top:])], axis=1)
    X += noise * rng.standard_normal(X.shape)
    y = np.where(np.arange(n) < top, -1.0, 1.0)
    return X, y


def moons_data(n: int, hidden: int) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    X, y = moons(n, 0.1, rng)
    sizes = (2, hidden, hidden, 1)
    params = []
    # micrograd's initialization: weights U(-1, 1), biases 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(rng.uniform(-1, 1, (fan_in, fan_out)))
        params.append(np.zeros(fan_out))
    return {"X": X, "y": y.reshape(-1, 1), "params": params, "alpha": 1e-4}


# ---------------------------------------------------------------------------
# W1: linear regression, full-batch gradient descent on the MSE
# ---------------------------------------------------------------------------


def w1_numpy(data: dict[str, Any]) -> Callable[[], Result]:
    X, y, lr, steps = data["X"], data["y"], data["lr"], data["steps"]
    XT = np.ascontiguousarray(X.T)
    n = len(y)

    def run() -> Result:
        w, b = data["w"].copy(), data["b"].copy()
        for _ in range(steps):
            r = X @ w
            r += b
            r -= y                       # residual
            loss = r @ r / n             # noqa: F841  (computed, as every framework does)
            w -= (2 * lr / n) * (XT @ r)  # d loss/dw = (2/n) X^T r
            b -= (2 * lr / n) * r.sum()   # d loss/db = (2/n) sum r
        return w, b

    return run


def w1_minigrad(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    X, y, lr, steps = mg.tensor(data["X"]), mg.tensor(data["y"]), data["lr"], data["steps"]

    def run() -> Result:
        w = mg.tensor(data["w"], requires_grad=True)
        b = mg.tensor(data["b"], requires_grad=True)
        for _ in range(steps):
            r = X @ w + b - y
            loss = (r * r).mean()
            w.grad = b.grad = None
            loss.backward()
            with mg.no_grad():
                w.data -= lr * w.grad.data
                b.data -= lr * b.grad.data
        return w.data, b.data

    return run


# ---------------------------------------------------------------------------
# W2: MLP with tanh, softmax cross-entropy, SGD
# ---------------------------------------------------------------------------


def w2_numpy(data: dict[str, Any]) -> Callable[[], Result]:
    xs, onehots, lr, steps = data["xs"], data["onehots"], data["lr"], data["steps"]

    def run() -> Result:
        W1, b1, W2, b2, W3, b3 = (p.copy() for p in data["params"])
        for step in range(steps):
            x, t = xs[step % len(xs)], onehots[step % len(xs)]
            h1 = x @ W1
            h1 += b1
            np.tanh(h1, out=h1)                       # in place: no temporaries
            h2 = h1 @ W2
            h2 += b2
            np.tanh(h2, out=h2)
            z = h2 @ W3
            z += b3
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            loss = -np.log(p[t.astype(bool)]).mean()  # noqa: F841
            dz = (p - t) / len(x)                     # d CE / d logits = softmax - onehot
            dh2 = dz @ W3.T
            dh2 *= 1 - h2 * h2                        # tanh' = 1 - tanh^2
            dh1 = dh2 @ W2.T
            dh1 *= 1 - h1 * h1
            W3 -= lr * (h2.T @ dz)
            b3 -= lr * dz.sum(axis=0)
            W2 -= lr * (h1.T @ dh2)
            b2 -= lr * dh2.sum(axis=0)
            W1 -= lr * (x.T @ dh1)
            b1 -= lr * dh1.sum(axis=0)
        return W1, b1, W2, b2, W3, b3

    return run


def mlp_loss_minigrad(mg: Any, params: list[Any], x: Any, t: Any) -> Any:
    W1, b1, W2, b2, W3, b3 = params
    h1 = (x @ W1 + b1).tanh()
    h2 = (h1 @ W2 + b2).tanh()
    logp = mg.log_softmax(h2 @ W3 + b3, axis=-1)
    return -(logp * t).sum() / x.shape[0]


def w2_minigrad(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    xs = [mg.tensor(x) for x in data["xs"]]
    ts = [mg.tensor(t) for t in data["onehots"]]
    lr, steps = data["lr"], data["steps"]

    def run() -> Result:
        params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
        for step in range(steps):
            loss = mlp_loss_minigrad(mg, params, xs[step % len(xs)], ts[step % len(xs)])
            for p in params:
                p.grad = None
            loss.backward()
            with mg.no_grad():
                for p in params:
                    p.data -= lr * p.grad.data
        return tuple(p.data for p in params)

    return run


# ---------------------------------------------------------------------------
# W3 / W5: a chain of scalar multiplications (per-op overhead)
# ---------------------------------------------------------------------------


def chain_numpy(data: dict[str, Any]) -> Callable[[], Result]:
    x, c, ops = data["x"], data["c"], data["ops"]

    def run() -> Result:
        y = x
        for _ in range(ops):
            y = y * c
        g = np.ones_like(x)
        for _ in range(ops):   # d(y c)/dy = c, applied op by op
            g = g * c
        return y, g

    return run


def chain_minigrad(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    c, ops = data["c"], data["ops"]

    def run() -> Result:
        x = mg.tensor(data["x"], requires_grad=True)
        y = x
        for _ in range(ops):
            y = y * c
        y.sum().backward()
        return y.data, x.grad.data

    return run


# ---------------------------------------------------------------------------
# W4: micrograd's moons MLP, one forward + backward
# ---------------------------------------------------------------------------


def w4_numpy(data: dict[str, Any]) -> Callable[[], Result]:
    X, y, alpha = data["X"], data["y"], data["alpha"]
    params = data["params"]

    def run() -> Result:
        W1, b1, W2, b2, W3, b3 = params
        a1 = X @ W1 + b1
        h1 = np.maximum(a1, 0)
        a2 = h1 @ W2 + b2
        h2 = np.maximum(a2, 0)
        score = h2 @ W3 + b3
        margin = 1 - y * score
        loss = np.maximum(margin, 0).mean() + alpha * sum((p * p).sum() for p in params)
        ds = (margin > 0) * (-y / len(y))  # d mean(relu(1 - y s)) / ds
        gW3, gb3 = h2.T @ ds, ds.sum(axis=0)
        d2 = (ds @ W3.T) * (a2 > 0)
        gW2, gb2 = h1.T @ d2, d2.sum(axis=0)
        d1 = (d2 @ W2.T) * (a1 > 0)
        gW1, gb1 = X.T @ d1, d1.sum(axis=0)
        grads = (gW1, gb1, gW2, gb2, gW3, gb3)
        grads = tuple(g + 2 * alpha * p for g, p in zip(grads, params, strict=True))  # + L2
        return (np.asarray(loss),) + grads

    return run


def moons_loss_minigrad(params: list[Any], X: Any, y: Any, alpha: float) -> Any:
    W1, b1, W2, b2, W3, b3 = params
    h1 = (X @ W1 + b1).relu()
    h2 = (h1 @ W2 + b2).relu()
    score = h2 @ W3 + b3
    reg = sum((p * p).sum() for p in params)
    return (1 - y * score).relu().mean() + alpha * reg


def w4_minigrad(data: dict[str, Any]) -> Callable[[], Result]:
    import minigrad as mg

    X, y, alpha = mg.tensor(data["X"]), mg.tensor(data["y"]), data["alpha"]

    def run() -> Result:
        params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
        loss = moons_loss_minigrad(params, X, y, alpha)
        loss.backward()
        return (loss.data,) + tuple(p.grad.data for p in params)

    return run


WORKLOADS: dict[str, Workload] = {
    "W1": Workload("W1", "linear regression, full-batch GD, n=10,000, d=10, 300 steps", False,
                   {"n": 10_000, "d": 10, "steps": 300}, {"n": 200, "d": 3, "steps": 3},
                   linreg_data, 1e-7, {"numpy": w1_numpy, "minigrad": w1_minigrad}),
    "W2": Workload("W2", "MLP 64-128-128-10 tanh + softmax CE, batch 256, 100 SGD steps "
                   "(float64)", False,
                   {"batch": 256, "sizes": (64, 128, 128, 10), "steps": 100},
                   {"batch": 8, "sizes": (4, 5, 5, 3), "steps": 2},
                   mlp_data, 1e-7, {"numpy": w2_numpy, "minigrad": w2_minigrad}),
    "W2f32": Workload("W2f32", "W2 in float32", False,
                      {"batch": 256, "sizes": (64, 128, 128, 10), "steps": 100,
                       "dtype": "float32"},
                      {"batch": 8, "sizes": (4, 5, 5, 3), "steps": 2, "dtype": "float32"},
                      mlp_data, 2e-3, {"numpy": w2_numpy, "minigrad": w2_minigrad}),
    "W3": Workload("W3", "per-op overhead, chain of 2,000 ops on one element, fwd + bwd", True,
                   {"ops": 2_000}, {"ops": 20}, chain_data, 1e-9,
                   {"numpy": chain_numpy, "minigrad": chain_minigrad}),
    "W4": Workload("W4", "micrograd's moons MLP 2-16-16-1, one forward + backward", False,
                   {"n": 100, "hidden": 16}, {"n": 10, "hidden": 4}, moons_data, 1e-8,
                   {"numpy": w4_numpy, "minigrad": w4_minigrad}),
    "W5": Workload("W5", "chain of 50,000 ops, fwd + bwd", True,
                   {"ops": 50_000}, {"ops": 50}, chain_data, 1e-9,
                   {"numpy": chain_numpy, "minigrad": chain_minigrad}),
}


def w2_memory_growth(make_run: Callable[[dict], Callable[[], Any]], quick: bool) -> dict[str, Any]:
    """Peak traced memory of a W2 run of 1/5 of its steps and of all of them: a run
    whose memory does not grow with the number of steps gives ``growth`` near 1."""
    params = dict(WORKLOADS["W2"].quick if quick else WORKLOADS["W2"].full)
    peaks = {}
    for steps in (params["steps"] // 5 or 1, params["steps"]):
        params["steps"] = steps
        run = make_run(mlp_data(**params))
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        run()
        peaks[steps] = (tracemalloc.get_traced_memory()[1] - before) / 2**20
        tracemalloc.stop()
    (short, short_peak), (long, long_peak) = peaks.items()
    return {"steps": [short, long], "peak_mib": [short_peak, long_peak],
            "growth": long_peak / short_peak if short_peak else float("nan")}
