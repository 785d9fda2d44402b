"""The same workloads in PyTorch, HIPS autograd, MyGrad, JAX and micrograd.

Each peer is imported only when its workload is built, so a missing package
only removes its column. Every factory mirrors the minigrad one in
``workloads.py`` expression for expression.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.workloads import Result

PEERS = {  # column name -> importable module
    "torch": "torch",
    "autograd": "autograd",
    "mygrad": "mygrad",
    "jax": "jax",
    "micrograd": "micrograd",
}


def installed(name: str) -> bool:
    return importlib.util.find_spec(PEERS[name]) is not None


def version(name: str) -> str:
    module = importlib.import_module(PEERS[name])
    return getattr(module, "__version__", None) or _dist_version(PEERS[name])


def _dist_version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(package)
    except PackageNotFoundError:
        return "?"


# ---------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


def w1_torch(data: dict[str, Any]) -> Callable[[], Result]:
    torch = _torch()
    X, y = torch.from_numpy(data["X"]), torch.from_numpy(data["y"])
    lr, steps = data["lr"], data["steps"]

    def run() -> Result:
        w = torch.tensor(data["w"], requires_grad=True)
        b = torch.tensor(data["b"], requires_grad=True)
        for _ in range(steps):
            r = X @ w + b - y
            loss = (r * r).mean()
            w.grad = b.grad = None
            loss.backward()
            with torch.no_grad():
                w -= lr * w.grad
                b -= lr * b.grad
        return w.detach().numpy(), b.detach().numpy()

    return run


def w2_torch(data: dict[str, Any]) -> Callable[[], Result]:
    torch = _torch()
    xs = [torch.from_numpy(x) for x in data["xs"]]
    ts = [torch.from_numpy(t) for t in data["onehots"]]
    lr, steps = data["lr"], data["steps"]

    def run() -> Result:
        params = [torch.tensor(p, requires_grad=True) for p in data["params"]]
        W1, b1, W2, b2, W3, b3 = params
        for step in range(steps):
            x, t = xs[step % len(xs)], ts[step % len(xs)]
            h1 = torch.tanh(x @ W1 + b1)
            h2 = torch.tanh(h1 @ W2 + b2)
            logp = torch.log_softmax(h2 @ W3 + b3, dim=-1)
            loss = -(logp * t).sum() / x.shape[0]
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
        return tuple(p.detach().numpy() for p in params)

    return run


def chain_torch(data: dict[str, Any]) -> Callable[[], Result]:
    torch = _torch()
    c, ops = data["c"], data["ops"]

    def run() -> Result:
        x = torch.tensor(data["x"], requires_grad=True)
        y = x
        for _ in range(ops):
            y = y * c
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    return run


def w4_torch(data: dict[str, Any]) -> Callable[[], Result]:
    torch = _torch()
    X, y, alpha = torch.from_numpy(data["X"]), torch.from_numpy(data["y"]), data["alpha"]

    def run() -> Result:
        params = [torch.tensor(p, requires_grad=True) for p in data["params"]]
        W1, b1, W2, b2, W3, b3 = params
        h1 = torch.relu(X @ W1 + b1)
        h2 = torch.relu(h1 @ W2 + b2)
        score = h2 @ W3 + b3
        reg = sum((p * p).sum() for p in params)
        loss = torch.relu(1 - y * score).mean() + alpha * reg
        loss.backward()
        return (loss.detach().numpy(),) + tuple(p.grad.numpy() for p in params)

    return run


# ---------------------------------------------------------------------------
# HIPS autograd (functional: grad of a function of the parameters)
# ---------------------------------------------------------------------------


def w1_autograd(data: dict[str, Any]) -> Callable[[], Result]:
    import autograd
    import autograd.numpy as anp

    X, y, lr, steps = data["X"], data["y"], data["lr"], data["steps"]

    def loss(w, b):
        r = anp.dot(X, w) + b - y
        return anp.mean(r * r)

    grad = autograd.grad(loss, argnum=(0, 1))

    def run() -> Result:
        w, b = data["w"].copy(), data["b"].copy()
        for _ in range(steps):
            gw, gb = grad(w, b)
            w -= lr * gw
            b = b - lr * gb
        return w, np.asarray(b)

    return run


def w2_autograd(data: dict[str, Any]) -> Callable[[], Result]:
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp

    xs, ts, lr, steps = data["xs"], data["onehots"], data["lr"], data["steps"]

    def loss(params, x, t):
        W1, b1, W2, b2, W3, b3 = params
        h1 = anp.tanh(anp.dot(x, W1) + b1)
        h2 = anp.tanh(anp.dot(h1, W2) + b2)
        z = anp.dot(h2, W3) + b3
        logp = z - logsumexp(z, axis=-1, keepdims=True)
        return -anp.sum(logp * t) / x.shape[0]

    grad = autograd.grad(loss)

    def run() -> Result:
        params = [p.copy() for p in data["params"]]
        for step in range(steps):
            grads = grad(params, xs[step % len(xs)], ts[step % len(xs)])
            for p, g in zip(params, grads, strict=True):
                p -= lr * g
        return tuple(params)

    return run


def chain_autograd(data: dict[str, Any]) -> Callable[[], Result]:
    import autograd
    import autograd.numpy as anp

    c, ops = data["c"], data["ops"]
    box: list[Any] = []

    def f(x):
        y = x
        for _ in range(ops):
            y = y * c
        box.append(y)
        return anp.sum(y)

    grad = autograd.grad(f)

    def run() -> Result:
        box.clear()
        g = grad(data["x"])
        return np.asarray(box[0]._value), g

    return run


def w4_autograd(data: dict[str, Any]) -> Callable[[], Result]:
    import autograd
    import autograd.numpy as anp

    X, y, alpha = data["X"], data["y"], data["alpha"]

    def loss(params):
        W1, b1, W2, b2, W3, b3 = params
        h1 = anp.maximum(anp.dot(X, W1) + b1, 0)
        h2 = anp.maximum(anp.dot(h1, W2) + b2, 0)
        score = anp.dot(h2, W3) + b3
        reg = sum(anp.sum(p * p) for p in params)
        return anp.mean(anp.maximum(1 - y * score, 0)) + alpha * reg

    value_and_grad = autograd.value_and_grad(loss)

    def run() -> Result:
        value, grads = value_and_grad(list(data["params"]))
        return (np.asarray(value),) + tuple(grads)

    return run


# ---------------------------------------------------------------------------
# MyGrad
# ---------------------------------------------------------------------------


def w1_mygrad(data: dict[str, Any]) -> Callable[[], Result]:
    import mygrad

    X, y, lr, steps = mygrad.tensor(data["X"]), mygrad.tensor(data["y"]), data["lr"], data["steps"]

    def run() -> Result:
        w = mygrad.tensor(data["w"].copy())
        b = mygrad.tensor(data["b"].copy())
        for _ in range(steps):
            r = mygrad.matmul(X, w) + b - y
            loss = (r * r).mean()
            loss.backward()
            w.data[...] -= lr * w.grad
            b.data[...] -= lr * b.grad
        return np.array(w.data), np.array(b.data)

    return run


def w2_mygrad(data: dict[str, Any]) -> Callable[[], Result]:
    import mygrad
    from mygrad.nnet.activations import logsoftmax

    xs = [mygrad.tensor(x, constant=True) for x in data["xs"]]
    ts = [mygrad.tensor(t, constant=True) for t in data["onehots"]]
    lr, steps = data["lr"], data["steps"]

    def run() -> Result:
        params = [mygrad.tensor(p.copy()) for p in data["params"]]
        W1, b1, W2, b2, W3, b3 = params
        for step in range(steps):
            x, t = xs[step % len(xs)], ts[step % len(xs)]
            h1 = mygrad.tanh(mygrad.matmul(x, W1) + b1)
            h2 = mygrad.tanh(mygrad.matmul(h1, W2) + b2)
            logp = logsoftmax(mygrad.matmul(h2, W3) + b3, axis=-1)
            loss = -(logp * t).sum() / x.shape[0]
            loss.backward()
            for p in params:
                p.data[...] -= lr * p.grad
        return tuple(np.array(p.data) for p in params)

    return run


def chain_mygrad(data: dict[str, Any]) -> Callable[[], Result]:
    import mygrad

    c, ops = data["c"], data["ops"]

    def run() -> Result:
        x = mygrad.tensor(data["x"].copy())
        y = x
        for _ in range(ops):
            y = y * c
        y.sum().backward()
        return np.array(y.data), np.array(x.grad)

    return run


def w4_mygrad(data: dict[str, Any]) -> Callable[[], Result]:
    import mygrad

    X, y = mygrad.tensor(data["X"], constant=True), mygrad.tensor(data["y"], constant=True)
    alpha = data["alpha"]

    def run() -> Result:
        params = [mygrad.tensor(p.copy()) for p in data["params"]]
        W1, b1, W2, b2, W3, b3 = params
        h1 = mygrad.maximum(mygrad.matmul(X, W1) + b1, 0)
        h2 = mygrad.maximum(mygrad.matmul(h1, W2) + b2, 0)
        score = mygrad.matmul(h2, W3) + b3
        reg = sum((p * p).sum() for p in params)
        loss = mygrad.maximum(1 - y * score, 0).mean() + alpha * reg
        loss.backward()
        return (np.array(loss.data),) + tuple(np.array(p.grad) for p in params)

    return run


# ---------------------------------------------------------------------------
# JAX (jit-compiled step; the float64 runs enable x64)
# ---------------------------------------------------------------------------


def _jax() -> Any:
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def w1_jax(data: dict[str, Any]) -> Callable[[], Result]:
    jax = _jax()
    jnp = jax.numpy
    X, y, lr, steps = jnp.asarray(data["X"]), jnp.asarray(data["y"]), data["lr"], data["steps"]

    def loss(w, b):
        r = X @ w + b - y
        return (r * r).mean()

    @jax.jit
    def step(w, b):
        gw, gb = jax.grad(loss, argnums=(0, 1))(w, b)
        return w - lr * gw, b - lr * gb

    def run() -> Result:
        w, b = jnp.asarray(data["w"]), jnp.asarray(data["b"])
        for _ in range(steps):
            w, b = step(w, b)
        return np.asarray(w.block_until_ready()), np.asarray(b)

    return run


def w2_jax(data: dict[str, Any]) -> Callable[[], Result]:
    jax = _jax()
    jnp = jax.numpy
    xs = [jnp.asarray(x) for x in data["xs"]]
    ts = [jnp.asarray(t) for t in data["onehots"]]
    lr, steps = data["lr"], data["steps"]

    def loss(params, x, t):
        W1, b1, W2, b2, W3, b3 = params
        h1 = jnp.tanh(x @ W1 + b1)
        h2 = jnp.tanh(h1 @ W2 + b2)
        logp = jax.nn.log_softmax(h2 @ W3 + b3, axis=-1)
        return -(logp * t).sum() / x.shape[0]

    @jax.jit
    def step(params, x, t):
        grads = jax.grad(loss)(params, x, t)
        return [p - lr * g for p, g in zip(params, grads, strict=True)]

    def run() -> Result:
        params = [jnp.asarray(p) for p in data["params"]]
        for i in range(steps):
            params = step(params, xs[i % len(xs)], ts[i % len(xs)])
        return tuple(np.asarray(p.block_until_ready()) for p in params)

    return run


def w4_jax(data: dict[str, Any]) -> Callable[[], Result]:
    jax = _jax()
    jnp = jax.numpy
    X, y, alpha = jnp.asarray(data["X"]), jnp.asarray(data["y"]), data["alpha"]

    def loss(params):
        W1, b1, W2, b2, W3, b3 = params
        h1 = jax.nn.relu(X @ W1 + b1)
        h2 = jax.nn.relu(h1 @ W2 + b2)
        score = h2 @ W3 + b3
        reg = sum((p * p).sum() for p in params)
        return jax.nn.relu(1 - y * score).mean() + alpha * reg

    value_and_grad = jax.jit(jax.value_and_grad(loss))

    def run() -> Result:
        value, grads = value_and_grad([jnp.asarray(p) for p in data["params"]])
        return (np.asarray(value.block_until_ready()),) + tuple(np.asarray(g) for g in grads)

    return run


# ---------------------------------------------------------------------------
# micrograd (scalar Values; its topological sort is recursive)
# ---------------------------------------------------------------------------


def chain_micrograd(data: dict[str, Any]) -> Callable[[], Result]:
    from micrograd.engine import Value

    c, ops = data["c"], data["ops"]

    def run() -> Result:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10_000))  # enough for W3; W5 still overflows
        try:
            x = Value(float(data["x"][0]))
            y = x
            for _ in range(ops):
                y = y * c
            y.backward()
        finally:
            sys.setrecursionlimit(limit)
        return np.array([y.data]), np.array([x.grad])

    return run


def w4_micrograd(data: dict[str, Any]) -> Callable[[], Result]:
    from micrograd.engine import Value

    X, y, alpha = data["X"].tolist(), data["y"][:, 0].tolist(), data["alpha"]
    arrays = data["params"]

    def run() -> Result:
        params = [[[Value(v) for v in row] for row in np.atleast_2d(p).tolist()] for p in arrays]
        W1, b1, W2, b2, W3, b3 = params

        def layer(x, W, b, relu):
            out = [sum((x[i] * W[i][j] for i in range(len(x))), b[0][j])
                   for j in range(len(b[0]))]
            return [o.relu() for o in out] if relu else out

        scores = [layer(layer(layer(xi, W1, b1, True), W2, b2, True), W3, b3, False)[0]
                  for xi in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
        flat = [v for p in params for row in p for v in row]
        loss = sum(losses) * (1.0 / len(losses)) + alpha * sum(p * p for p in flat)
        loss.backward()
        grads = tuple(np.array([[v.grad for v in row] for row in p]).reshape(a.shape)
                      for p, a in zip(params, arrays, strict=True))
        return (np.array(loss.data),) + grads

    return run


FACTORIES: dict[str, dict[str, Callable[[dict[str, Any]], Callable[[], Result]]]] = {
    "W1": {"torch": w1_torch, "autograd": w1_autograd, "mygrad": w1_mygrad, "jax": w1_jax},
    "W2": {"torch": w2_torch, "autograd": w2_autograd, "mygrad": w2_mygrad, "jax": w2_jax},
    "W2f32": {"torch": w2_torch, "autograd": w2_autograd, "mygrad": w2_mygrad, "jax": w2_jax},
    "W3": {"torch": chain_torch, "autograd": chain_autograd, "mygrad": chain_mygrad,
           "micrograd": chain_micrograd},
    "W4": {"torch": w4_torch, "autograd": w4_autograd, "mygrad": w4_mygrad, "jax": w4_jax,
           "micrograd": w4_micrograd},
    "W5": {"torch": chain_torch, "autograd": chain_autograd, "mygrad": chain_mygrad,
           "micrograd": chain_micrograd},
}
