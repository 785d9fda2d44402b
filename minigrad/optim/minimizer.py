"""``mg.optim.minimize``: the engine's optimizers, or SciPy's, on a function of one Tensor."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.engine import no_grad
from minigrad.optim.optimizers import GD, SGD, Adam
from minigrad.tensor import Tensor

__all__ = ["MinimizeResult", "minimize"]


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
