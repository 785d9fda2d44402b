"""Optimizers (GD, SGD, Adam) and ``minimize``: ``mg.optim``.

An optimizer holds a list of parameters (Tensors that require grad). The
training loop is always the same four lines::

    opt.zero_grad()          # forget the previous gradients
    loss = compute_loss()    # forward: builds the graph
    loss.backward()          # fills p.grad for every parameter
    opt.step()               # p.data -= (something) * p.grad, in place

**GD versus SGD** (the seed notes' first interview question): the update rule
is the same; what differs is the data behind ``loss``. Gradient descent takes
one step per pass over the *full* dataset (the exact gradient); stochastic
gradient descent takes one step per random *minibatch* (a noisy, cheap
estimate of it), so it makes many steps per pass. ``GD`` and ``SGD`` below
are the update rules; ``mg.data.DataLoader`` supplies full batches or
minibatches, and ``mg.models.LinearRegression(optimizer="gd" | "sgd")`` shows
both.

Every formula is exactly ``torch.optim``'s for the same settings (checked
against PyTorch in ``tests/test_optim.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minigrad.backends import is_lazy, materialize_grads
from minigrad.engine import no_grad, note_inplace_change
from minigrad.tensor import Tensor

__all__ = ["GD", "SGD", "Adam", "MinimizeResult", "Optimizer", "minimize"]


class Optimizer:
    """Base class: holds ``params``; ``zero_grad()`` sets their gradients to ``None``."""

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            params = [params]
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list; pass model.parameters() "
                             "or a list of Tensors created with requires_grad=True.")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor.")
            if not p.requires_grad:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) does not require "
                                 "grad, so it would never change; create it with "
                                 "requires_grad=True.")
            if is_lazy(p.data):
                raise TypeError(f"{name}: parameter {i} holds a Dask array, which cannot be "
                                "updated in place. Keep parameters in memory (NumPy) and only "
                                "the data in Dask: mg.tensor(np.zeros(d), requires_grad=True).")
        _check(name, "lr", lr, lr >= 0, "must be >= 0")
        self.lr = lr
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to ``None`` (the next backward starts fresh)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place, without recording a graph."""
        materialize_grads(self.params)  # Dask: compute lazy gradients, all in one pass
        with no_grad():
            for p, state in zip(self.params, self.state, strict=True):
                if p.grad is None:
                    continue  # not reached by the last backward: leave it alone (as PyTorch)
                self._update(p.data, p.grad.data, state)
                p._version += 1  # an in-place change: graphs that used p are now stale
            note_inplace_change()

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError


def _check(opt: str, name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{opt}: {name} {rule}, got {value!r}.")


class GD(Optimizer):
    """Plain gradient descent:  ``p <- p - lr * g``.

    The same rule as ``torch.optim.SGD(params, lr)`` with no momentum. Feed it
    the full-batch gradient for gradient descent.
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        super().__init__(params, lr)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        p -= self.lr * g


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD`` (dampening 0).

    At each step, with ``g`` the parameter's gradient::

        g <- g + weight_decay * p                    (if weight_decay != 0)
        b <- g                                       (first step)
        b <- momentum * b + g                        (later steps)
        g <- g + momentum * b   if nesterov  else  g <- b      (if momentum != 0)
        p <- p - lr * g

    Note the convention: ``lr`` multiplies the whole buffer (PyTorch), not
    ``b <- momentum * b + lr * g`` (Sutskever et al.); the two differ when
    ``lr`` changes during training.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        _check("SGD", "momentum", momentum, 0 <= momentum < 1, "must lie in [0, 1)")
        _check("SGD", "weight_decay", weight_decay, weight_decay >= 0, "must be >= 0")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0 (Nesterov momentum is a "
                             "look-ahead on the momentum buffer); set momentum, e.g. 0.9.")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), as ``torch.optim.Adam`` (amsgrad off).

    At step t = 1, 2, ... with ``g`` the parameter's gradient::

        g <- g + weight_decay * p                    (L2 penalty, as torch's Adam;
                                                      not AdamW's decoupled decay)
        m <- beta1 * m + (1 - beta1) * g             (m, v start at 0)
        v <- beta2 * v + (1 - beta2) * g^2
        p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    ``eps`` is added after the bias correction of ``v``, as in PyTorch.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}.")
        for i, beta in enumerate(betas):
            _check("Adam", f"betas[{i}]", beta, 0 <= beta < 1, "must lie in [0, 1)")
        _check("Adam", "eps", eps, eps >= 0, "must be >= 0")
        _check("Adam", "weight_decay", weight_decay, weight_decay >= 0, "must be >= 0")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        beta1, beta2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not state:
            state.update(step=0, m=np.zeros_like(p), v=np.zeros_like(p))
        state["step"] += 1
        t, m, v = state["step"], state["m"], state["v"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        step_size = self.lr / (1 - beta1 ** t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + self.eps
        p -= step_size * m / denom


# ---------------------------------------------------------------------------
# minimize: the engine's optimizers, or SciPy's, on a function of one Tensor
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class MinimizeResult:
    """What :func:`minimize` returns.

    ``x``: the final point (an array of x0's shape); ``fun``: f there (a float);
    ``nit``: the number of iterations (optimizer steps) taken; ``history``: f
    at x0 and after each iteration (floats, ``len(history) == nit + 1`` for the
    engine's methods); ``success`` and ``message`` as SciPy's.
    """

    x: np.ndarray
    fun: float
    nit: int
    history: list[float]
    success: bool = True
    message: str = ""
    method: str = "gd"


_ENGINE_METHODS = {"gd": GD, "sgd": SGD, "adam": Adam}
_SCIPY_GRADIENT_FREE = {"nelder-mead", "powell", "cobyla", "cobyqa"}
_SCIPY_NEED_HESSIAN = {"dogleg", "trust-ncg", "trust-exact", "trust-krylov"}


def minimize(f: Callable[[Tensor], Tensor], x0: Any, method: str = "gd", lr: float = 0.1,
             steps: int = 1000, tol: float | None = None,
             options: dict[str, Any] | None = None) -> MinimizeResult:
    """Minimize a scalar function ``f(x)`` of one Tensor, starting at ``x0``.

    ``method`` is ``"gd"``, ``"sgd"`` or ``"adam"`` (the engine's optimizers,
    with learning rate ``lr``, at most ``steps`` steps, stopping early once the
    gradient's norm is below ``tol``), or the name of any
    ``scipy.optimize.minimize`` method (``"L-BFGS-B"``, ``"BFGS"``, ...), which
    receives the engine's exact gradient, ``steps`` as ``maxiter`` and ``tol``
    as its tolerance (SciPy is then needed). ``options`` go to the optimizer's
    constructor (e.g. ``{"momentum": 0.9}`` for ``"sgd"``) or to SciPy's
    ``options``. ``"sgd"`` differs from ``"gd"`` only through its momentum, or
    when ``f`` itself is stochastic (samples a minibatch at each call).

    >>> import minigrad as mg
    >>> res = mg.optim.minimize(lambda x: x * x + 2 * x + 1, 0.0, lr=0.1, steps=200)
    >>> round(float(res.x), 6), res.nit
    (-1.0, 200)
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"minimize: steps must be a non-negative int, got {steps!r}.")
    if tol is not None and not tol >= 0:
        raise ValueError(f"minimize: tol must be None or >= 0, got {tol!r}.")
    start = np.array(x0.data if isinstance(x0, Tensor) else x0, dtype=np.float64)
    key = method.lower() if isinstance(method, str) else method
    if key in _ENGINE_METHODS:
        return _minimize_engine(f, start, key, lr, int(steps), tol, options or {})
    return _minimize_scipy(f, start, method, int(steps), tol, options or {})


def _value(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    out = f(x)
    if not isinstance(out, Tensor):
        out = Tensor(out)
    if out.size != 1:
        raise ValueError(f"minimize: f must return a scalar, but it returned shape {out.shape}; "
                         "reduce it first, e.g. with .sum().")
    return out


def _minimize_engine(f: Callable, start: np.ndarray, method: str, lr: float, steps: int,
                     tol: float | None, options: dict[str, Any]) -> MinimizeResult:
    x = Tensor(start, requires_grad=True)
    opt = _ENGINE_METHODS[method]([x], lr=lr, **options)
    history: list[float] = []
    nit, converged = 0, False
    while True:
        opt.zero_grad()
        value = _value(f, x)
        history.append(float(value.item()))
        if nit == steps and tol is None:
            break  # the last value is all we need: no gradient
        if value.requires_grad:
            value.backward()
        grad = x.grad.data if x.grad is not None else np.zeros_like(x.data)
        if tol is not None and float(np.linalg.norm(grad)) < tol:
            converged = True
            break
        if nit == steps:
            break
        opt.step()
        nit += 1
    message = (f"gradient norm below tol={tol} after {nit} steps" if converged
               else f"stopped after steps={steps}")
    return MinimizeResult(x.data.copy(), history[-1], nit, history,
                          success=converged or tol is None, message=message, method=method)


def _minimize_scipy(f: Callable, start: np.ndarray, method: Any, steps: int,
                    tol: float | None, options: dict[str, Any]) -> MinimizeResult:
    try:
        from scipy import optimize
    except ImportError:
        raise ImportError(
            f"minimize: method {method!r} comes from SciPy, which is not installed. Install it "
            f"(pip install scipy, or pip install minigrad[scipy]) or use one of the engine's "
            f"own methods: {sorted(_ENGINE_METHODS)}.") from None
    key = str(method).lower()
    if key in _SCIPY_NEED_HESSIAN:
        raise ValueError(f"minimize: method {method!r} needs a Hessian, which minimize does "
                         "not pass to SciPy; use 'L-BFGS-B', 'BFGS', 'CG' or 'Newton-CG'.")
    shape = start.shape

    def value_and_grad(z: np.ndarray) -> tuple[float, np.ndarray]:
        x = Tensor(z.reshape(shape), requires_grad=True)
        value = _value(f, x)
        if value.requires_grad:
            value.backward()
        grad = x.grad.data if x.grad is not None else np.zeros(shape)
        return float(value.item()), grad.ravel()

    def value_only(z: np.ndarray) -> float:
        with no_grad():
            return float(_value(f, Tensor(z.reshape(shape))).item())

    history = [value_only(start.ravel())]

    def record(xk: Any, *rest: Any) -> None:
        history.append(value_only(np.asarray(xk)))

    use_grad = key not in _SCIPY_GRADIENT_FREE
    try:
        res = optimize.minimize(value_and_grad if use_grad else value_only, start.ravel(),
                                method=method, jac=True if use_grad else None, tol=tol,
                                callback=record, options={"maxiter": steps, **options})
    except ValueError as exc:
        if "Unknown solver" in str(exc):
            raise ValueError(
                f"minimize: unknown method {method!r}; use one of {sorted(_ENGINE_METHODS)} or "
                "a scipy.optimize.minimize method such as 'L-BFGS-B' or 'BFGS'.") from None
        raise
    nit = int(getattr(res, "nit", len(history) - 1))
    return MinimizeResult(np.asarray(res.x, dtype=np.float64).reshape(shape), float(res.fun),
                          nit, history, success=bool(res.success), message=str(res.message),
                          method=str(method))
