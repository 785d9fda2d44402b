"""The optimizers: GD, SGD, Adam, AdamW, RMSprop, Adagrad.

Each one is a class whose ``_update`` is its formula, written on NumPy
arrays in the order ``torch.optim`` computes it (``tests/test_optim.py``
checks every option against PyTorch to 1e-12 over 20 steps in float64).
:class:`Optimizer` holds the rest: parameter groups, the per-parameter state,
``step`` and ``zero_grad``, ``state_dict`` and ``load_state_dict``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minigrad.backends import is_lazy, materialize_grads
from minigrad.engine import enable_grad, no_grad
from minigrad.tensor import Tensor
from minigrad.versions import mark_modified

__all__ = ["GD", "SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop"]


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses define ``_update``.

    ``params`` is an iterable of Tensors, or of dicts (*parameter groups*),
    each with ``"params"`` and any options that differ from the defaults::

        SGD([{"params": model.body.parameters()},
             {"params": model.head.parameters(), "lr": 1e-3}], lr=1e-2, momentum=0.9)

    ``param_groups`` is then a list of dicts, every option filled in; a
    learning-rate scheduler changes ``group["lr"]`` there. ``state`` maps each
    parameter (the Tensor itself) to its buffers, e.g. Adam's moments.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, dict):
            params = [params]
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list; pass model.parameters() "
                             "or a list of Tensors created with requires_grad=True.")
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the others from the defaults)."""
        name, where = type(self).__name__, f"group {len(self.param_groups)}"
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: {where} must be a dict with a 'params' entry (and "
                            f"options such as 'lr'), not {type(group).__name__}; or pass a "
                            "plain list of Tensors.")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: {where} has an empty parameter list.")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            what = f"parameter {i}" + (f" of {where}" if self.param_groups else "")
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: {what} is a {type(p).__name__}, not a Tensor.")
            if not p.requires_grad:
                raise ValueError(f"{name}: {what} (shape {p.shape}) does not require grad, so "
                                 "it would never change; create it with requires_grad=True.")
            if is_lazy(p.data):
                raise TypeError(f"{name}: {what} holds a Dask array, which cannot be updated "
                                "in place. Keep parameters in memory (NumPy) and only the data "
                                "in Dask: mg.tensor(np.zeros(d), requires_grad=True).")
            if id(p) in taken:
                raise ValueError(f"{name}: {what} (shape {p.shape}) appears more than once "
                                 "across the parameter groups; list each parameter once.")
            taken.add(id(p))
        unknown = sorted(set(group) - set(self.defaults) - {"params", "name"})
        if unknown:
            raise TypeError(f"{name}: {where} has unknown options {unknown}; {name} takes "
                            f"{sorted(self.defaults)}.")
        full = {"params": params, **copy.deepcopy(self.defaults),
                **{k: v for k, v in group.items() if k != "params"}}
        self._check(full)
        self.param_groups.append(full)

    def _check(self, group: dict[str, Any]) -> None:
        """Raise ``ValueError`` for a bad option (subclasses add theirs)."""
        _check(type(self).__name__, "lr", group["lr"], group["lr"] >= 0, "must be >= 0")

    @property
    def params(self) -> list[Tensor]:
        """Every parameter, group after group."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's ``.grad`` to ``None`` (the next backward starts fresh),
        or with ``set_to_none=False`` fill the existing gradients with zeros."""
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.data[...] = 0  # in place, as PyTorch

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place, without recording a
        graph. ``closure`` (optional, as PyTorch) recomputes the loss first and its
        value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        materialize_grads(self.params)  # Dask: compute lazy gradients, all in one pass
        changed = []
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue  # not reached by the last backward: leave it alone (as PyTorch)
                    self._update(p.data, p.grad.data, self.state.setdefault(p, {}), group)
                    changed.append(p)
        if changed:  # graphs that used these parameters are now stale
            mark_modified(*changed, where=f"{type(self).__name__}.step")
        return loss

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- saving and resuming ----------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: buffers}, "param_groups": [options + "params": indices]}``,
        as PyTorch: parameters are numbered in group order. Arrays are copies."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            numbers = [index.setdefault(id(p), len(index)) for p in group["params"]]
            options = copy.deepcopy({k: v for k, v in group.items() if k != "params"})
            groups.append({**options, "params": numbers})
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items()
                 if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from ``state_dict()`` of an optimizer of the same kind over parameters
        of the same shapes: its options and buffers are copied in; later steps are
        exactly those the saved optimizer would have taken."""
        name = type(self).__name__
        saved = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if saved is None or "state" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups', as optimizer.state_dict() returns.")
        sizes = [len(g["params"]) for g in self.param_groups]
        if [len(g["params"]) for g in saved] != sizes:
            raise ValueError(f"{name}.load_state_dict: the saved optimizer has groups of "
                             f"{[len(g['params']) for g in saved]} parameters, this one "
                             f"{sizes}. Build it over the same parameters.")
        by_index = {}
        for group, old in zip(self.param_groups, saved, strict=True):
            by_index.update(zip(old["params"], group["params"], strict=True))
        state = {}
        for i, buffers in state_dict["state"].items():
            p = by_index[i]
            for key, value in buffers.items():
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter {i} "
                                     f"has shape {value.shape}, the parameter {p.shape}.")
            state[p] = {k: (v.astype(p.dtype) if isinstance(v, np.ndarray) else
                            copy.deepcopy(v)) for k, v in buffers.items()}
        for group, old in zip(self.param_groups, saved, strict=True):
            group.update(copy.deepcopy({k: v for k, v in old.items() if k != "params"}))
        self.state = state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _check(opt: str, name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{opt}: {name} {rule}, got {value!r}.")


def _check_betas(opt: str, betas: Any) -> None:
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"{opt}: betas must be a pair (beta1, beta2), got {betas!r}.")
    for i, beta in enumerate(betas):
        _check(opt, f"betas[{i}]", beta, 0 <= beta < 1, "must lie in [0, 1)")


class GD(Optimizer):
    """Plain gradient descent:  ``p <- p - lr * g``.

    The same rule as ``torch.optim.SGD(params, lr)`` with no momentum. Feed it
    the full-batch gradient for gradient descent.
    """

    def __init__(self, params: Iterable[Any], lr: float) -> None:
        super().__init__(params, {"lr": lr})

    def _update(self, p, g, state, group):
        p -= group["lr"] * g


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``.

    At each step, with ``g`` the parameter's gradient::

        g <- -g                                      (if maximize)
        g <- g + weight_decay * p                    (if weight_decay != 0)
        b <- g                                       (first step)
        b <- momentum * b + (1 - dampening) * g      (later steps)
        g <- g + momentum * b   if nesterov  else  g <- b      (if momentum != 0)
        p <- p - lr * g

    Note the convention: ``lr`` multiplies the whole buffer (PyTorch), not
    ``b <- momentum * b + lr * g`` (Sutskever et al.); the two differ when
    ``lr`` changes during training.
    """

    # Positional order as minigrad's API (lr, momentum, nesterov, weight_decay);
    # torch's dampening comes between them, so here it is keyword-only.
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0,
                 *, dampening: float = 0.0, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _check(self, group):
        super()._check(group)
        momentum = group["momentum"]
        _check("SGD", "momentum", momentum, 0 <= momentum < 1, "must lie in [0, 1)")
        _check("SGD", "weight_decay", group["weight_decay"], group["weight_decay"] >= 0,
               "must be >= 0")
        if group["nesterov"] and (momentum == 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening=0 (Nesterov "
                             "momentum is a look-ahead on the momentum buffer); set momentum, "
                             "e.g. 0.9.")

    def _update(self, p, g, state, group):
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                # np.array, not g.copy(): a 0-d g may be a NumPy scalar, which *= rebinds
                buf = state["momentum_buffer"] = np.array(g)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g if group["dampening"] else g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), as ``torch.optim.Adam``.

    At step t = 1, 2, ... with ``g`` the parameter's gradient::

        g <- g + weight_decay * p                    (L2 penalty, as torch's Adam;
                                                      AdamW decays p instead)
        m <- beta1 * m + (1 - beta1) * g             (m, v start at 0)
        v <- beta2 * v + (1 - beta2) * g^2
        v_max <- max(v_max, v); use v_max for v      (if amsgrad)
        p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    ``eps`` is added after the bias correction of ``v``, as in PyTorch.
    """

    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas) if isinstance(
            betas, (tuple, list)) else betas, "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize})

    def _check(self, group):
        super()._check(group)
        name = type(self).__name__
        _check_betas(name, group["betas"])
        _check(name, "eps", group["eps"], group["eps"] >= 0, "must be >= 0")
        _check(name, "weight_decay", group["weight_decay"], group["weight_decay"] >= 0,
               "must be >= 0")

    def _update(self, p, g, state, group):
        (beta1, beta2), lr, weight_decay = group["betas"], group["lr"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if weight_decay and self._decoupled:
            p *= 1 - lr * weight_decay
        elif weight_decay:
            g = g + weight_decay * p
        m += (g - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1 ** t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + group["eps"]
        p -= step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``:
    each step first shrinks the parameter, ``p <- p * (1 - lr * weight_decay)``,
    then takes Adam's step on the plain gradient. The default decay is 0.01."""

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop (Hinton), as ``torch.optim.RMSprop``::

        g <- g + weight_decay * p                    (if weight_decay != 0)
        s <- alpha * s + (1 - alpha) * g^2           (s starts at 0)
        a <- alpha * a + (1 - alpha) * g             (if centered; a starts at 0)
        d <- sqrt(s - a^2) if centered else sqrt(s);  d <- d + eps
        b <- momentum * b + g / d;  p <- p - lr * b  (if momentum > 0)
        p <- p - lr * g / d                          (otherwise)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "maximize": maximize})

    def _check(self, group):
        super()._check(group)
        for key, ok, rule in (("alpha", 0 <= group["alpha"] <= 1, "must lie in [0, 1]"),
                              ("eps", group["eps"] >= 0, "must be >= 0"),
                              ("weight_decay", group["weight_decay"] >= 0, "must be >= 0"),
                              ("momentum", 0 <= group["momentum"] < 1, "must lie in [0, 1)")):
            _check("RMSprop", key, group[key], ok, rule)

    def _update(self, p, g, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if group["maximize"]:
            g = -g
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p))
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (g - grad_avg) * (1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p))
            buf *= momentum
            buf += g / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * g / avg


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), as ``torch.optim.Adagrad``. At step t = 1, 2, ...::

        g <- g + weight_decay * p                    (if weight_decay != 0)
        lr_t <- lr / (1 + (t - 1) * lr_decay)
        s <- s + g^2                                 (s starts at initial_accumulator_value)
        p <- p - lr_t * g / (sqrt(s) + eps)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps, "maximize": maximize})

    def _check(self, group):
        super()._check(group)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check("Adagrad", key, group[key], group[key] >= 0, "must be >= 0")

    def _update(self, p, g, state, group):
        if group["maximize"]:
            g = -g
        if not state:
            state.update(step=0, sum=np.full_like(p, group["initial_accumulator_value"]))
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p -= clr * g / (np.sqrt(state["sum"]) + group["eps"])
