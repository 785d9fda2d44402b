"""Finite differences and gradient checks: how to trust a gradient.

The engine's gradients are *analytic*: each op's backward rule is calculus
written by hand. :func:`numerical_grad` estimates the same numbers by central
finite differences, ``(f(x + eps) - f(x - eps)) / (2 eps)`` one element at a
time, which needs no calculus at all and so is an independent witness.
:func:`gradcheck` compares the two for every input element;
:func:`gradgradcheck` does the same one level up, for the derivative of the
gradient that ``create_graph=True`` builds.

Finite differences need float64. In float32 the rounding error of
``f(x + eps) - f(x - eps)`` (about 1e-7 * |f|) divided by ``2 eps`` swamps
the difference itself, and correct gradients fail the check.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import engine
from minigrad.engine import enable_grad, no_grad
from minigrad.ops.shape import concatenate
from minigrad.tensor import Tensor

__all__ = ["GradcheckError", "GradcheckWarning", "gradcheck", "gradgradcheck", "numerical_grad"]

# How many random upstream gradients gradcheck tries on an output with many
# elements. One already catches a wrong Jacobian with probability 1; a second
# one guards against an unlucky small weight hiding an error under the tolerance.
_N_UPSTREAM = 2
_SEED = 0


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


class GradcheckWarning(UserWarning):
    """Finite differences are unreliable for these inputs (float32 or float16)."""


def numerical_grad(f: Callable[..., Tensor], inputs: Tensor | Sequence[Tensor],
                   eps: float = 1e-6) -> list[np.ndarray]:
    """Central finite-difference gradient of a scalar function, one array per input.

    Each element ``x[j]`` of each input is moved to ``x[j] + eps`` and to
    ``x[j] - eps`` on a private copy (the inputs are never modified), and
    ``(f(.. x[j] + eps ..) - f(.. x[j] - eps ..)) / (2 eps)`` is its partial
    derivative. The error is O(eps^2) from truncation plus O(1e-16 |f| / eps)
    from rounding: about 1e-10 in float64 with the default ``eps``.

    Parameters
    ----------
    f : callable
        Takes the input Tensors (positionally) and returns a one-element Tensor.
        It runs in the caller's grad mode, so it may differentiate internally
        (e.g. call ``mg.autograd.grad``); call under ``mg.no_grad()`` for speed.
    inputs : Tensor or sequence of Tensor
        Floating-point Tensors; ``requires_grad`` does not matter here.
    eps : float
        The step.

    Returns
    -------
    list of numpy.ndarray
        ``d f / d inputs[i]``, each of ``inputs[i].shape``.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor(2.0)
    >>> round(float(mg.numerical_grad(lambda x: x**2 + 2*x + 1, [x])[0]), 6)
    6.0
    """
    tensors = _as_tensors(inputs, "numerical_grad")
    for i, t in enumerate(tensors):
        if t.dtype.kind != "f":
            raise TypeError(
                f"numerical_grad: input {i} has dtype {t.dtype}; finite differences need "
                "floating-point inputs. Pass mg.tensor(data, dtype=np.float64), or close "
                "over integer data inside f."
            )
    evaluate = _evaluator(f, tensors, "numerical_grad", engine.is_grad_enabled(), scalar=True)
    evaluate()  # fail early, with a clear message, if f does not return a scalar
    return [_fd_gradient(evaluate, tensors, i, eps, lambda column: column.item())
            for i in range(len(tensors))]


def gradcheck(f: Callable[..., Tensor], inputs: Tensor | Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check the engine's gradients of ``f`` against central finite differences.

    Every element of every input that requires grad is checked (inputs that do
    not require grad are skipped). When ``f`` returns one element, its gradient
    is compared directly. When ``f`` returns many, the full Jacobian would cost
    one backward per output element; instead both sides are contracted with
    random upstream gradients ``v`` (standard normal, fixed seed): the engine
    computes the vector-Jacobian product ``v^T J`` with one backward, and the
    finite differences estimate ``d (v . f(x)) / dx``. A wrong entry ``J[k, j]``
    changes input element ``j``'s value by ``v[k] * error``, which is nonzero
    with probability one, so every output element is covered; two vectors are
    tried to keep a small ``v[k]`` from hiding an error under the tolerance.

    An element passes when ``|analytic - numerical| <= atol + rtol * |numerical|``
    (as ``numpy.isclose``). The finite differences run in the caller's grad mode
    (call under ``mg.no_grad()`` to make them faster when ``f`` does not itself
    differentiate); the analytic side always records a graph.

    Parameters
    ----------
    f : callable
        Takes the input Tensors and returns a Tensor of any shape.
    inputs : Tensor or sequence of Tensor
        Use float64: float32 inputs draw a :class:`GradcheckWarning`, since finite
        differences in float32 fail on correct gradients.
    eps, atol, rtol : float
        Finite-difference step and tolerances.
    raise_exception : bool
        On a mismatch, raise :class:`GradcheckError` (default) or return False.

    Returns
    -------
    bool
        True when every element agrees.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> mg.gradcheck(lambda x: (x * x).sum(axis=0), [x])
    True
    """
    tensors = _as_tensors(inputs, "gradcheck")
    return _check(f, tensors, eps, atol, rtol, raise_exception, "gradcheck",
                  [f"input {i}" for i in range(len(tensors))], engine.is_grad_enabled())


def gradgradcheck(f: Callable[..., Tensor], inputs: Tensor | Sequence[Tensor],
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives of ``f``: the gradient of its gradient.

    With a fixed random upstream gradient ``u`` (of ``f``'s output shape), the
    first derivative ``g(x, u) = u^T df/dx`` is computed by the engine with
    ``create_graph=True``, so ``g`` is itself a graph. :func:`gradcheck` then
    checks ``g`` with respect to the inputs (the second derivatives, analytic
    by backward through the backward rules, numerical by finite differences
    of the analytic first derivative) and with respect to ``u`` (that the
    backward rules use the incoming gradient differentiably).

    Parameters are those of :func:`gradcheck`.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    >>> mg.gradgradcheck(lambda x: mg.tanh(x) * x, [x])
    True
    """
    tensors = _as_tensors(inputs, "gradgradcheck")
    wrt = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not wrt:
        raise ValueError(_nothing_to_check("gradgradcheck"))
    out = f(*tensors)
    _output_array(out, "gradgradcheck")
    rng = np.random.default_rng(_SEED + 1)
    upstream = Tensor._make(rng.standard_normal(out.shape).astype(out.dtype), True)

    def first_derivative(*args: Tensor) -> Tensor:
        *xs, u = args
        y = f(*xs)
        grads = [None] * len(wrt)
        if y.requires_grad:
            grads = engine.backward([y], [u], retain_graph=True, create_graph=True,
                                    inputs=[xs[i] for i in wrt])
        parts = [(g if g is not None else Tensor._make(np.zeros_like(xs[i].data))).reshape(-1)
                 for i, g in zip(wrt, grads, strict=True)]
        return concatenate(parts) if len(parts) > 1 else parts[0]

    labels = [f"second derivative, input {i}" for i in range(len(tensors))]
    labels.append("second derivative, upstream gradient")
    return _check(first_derivative, [*tensors, upstream], eps, atol, rtol, raise_exception,
                  "gradgradcheck", labels, grad_enabled=True)


# ---------------------------------------------------------------------------
# The machinery shared by the three functions.
# ---------------------------------------------------------------------------


def _check(f: Callable[..., Tensor], tensors: list[Tensor], eps: float, atol: float,
           rtol: float, raise_exception: bool, where: str, labels: list[str],
           grad_enabled: bool) -> bool:
    wrt = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not wrt:
        raise ValueError(_nothing_to_check(where))
    low = [i for i in wrt if tensors[i].dtype.itemsize < 8]
    if low:
        warnings.warn(
            f"{where}: input(s) {low} have dtype {tensors[low[0]].dtype}. Finite "
            "differences in float32 give false failures (rounding swamps the step); "
            "use float64 inputs for gradient checks.",
            GradcheckWarning, stacklevel=3,
        )

    # Analytic side: one backward per upstream gradient, nothing written to .grad.
    with enable_grad():
        out = f(*tensors)
    _output_array(out, where)
    if out.size == 1:
        upstreams = [np.ones(out.shape)]
    else:
        rng = np.random.default_rng(_SEED)
        upstreams = [rng.standard_normal(out.shape) for _ in range(_N_UPSTREAM)]
    analytic = []
    for v in upstreams:
        grads: list[Tensor | None] = [None] * len(wrt)
        if out.requires_grad:
            grads = engine.backward([out], [Tensor._make(v.astype(out.dtype))],
                                    retain_graph=True, inputs=[tensors[i] for i in wrt])
        analytic.append([np.zeros(tensors[i].shape) if g is None
                         else np.asarray(g.data, dtype=np.float64)
                         for i, g in zip(wrt, grads, strict=True)])

    # Numerical side: each perturbation gives the whole output, projected on every v.
    evaluate = _evaluator(f, tensors, where, grad_enabled, scalar=False)
    for position, i in enumerate(wrt):
        numerical = _fd_gradient(
            evaluate, tensors, i, eps,
            lambda column: np.array([np.sum(v * column) for v in upstreams]),
            extra_shape=(len(upstreams),),
        )
        for k in range(len(upstreams)):
            a, n = analytic[k][position], numerical[..., k]
            bad = ~np.isclose(a, n, rtol=rtol, atol=atol)
            if bad.any():
                index = tuple(int(j) for j in np.argwhere(bad)[0])
                message = (f"{labels[i]}, index {index}: analytic {a[index]:.6g} vs numerical "
                           f"{n[index]:.6g} (atol={atol}, rtol={rtol}).")
                if bad.sum() > 1:
                    message += f" {int(bad.sum()) - 1} more element(s) of this input disagree."
                if out.size > 1:
                    message += (f" The output has shape {out.shape}, so both values are "
                                f"vector-Jacobian products with random upstream gradient #{k}.")
                if not raise_exception:
                    return False
                raise GradcheckError(message)
    return True


def _as_tensors(inputs: Any, where: str) -> list[Tensor]:
    if isinstance(inputs, Tensor):
        return [inputs]
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{where}: inputs must be a Tensor or a list/tuple of Tensors, "
                        f"not {type(inputs).__name__}.")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{where}: input {i} is a {type(x).__name__}, not a Tensor. Wrap it: "
                "mg.tensor(data, dtype=np.float64, requires_grad=True)."
            )
    return list(inputs)


def _nothing_to_check(where: str) -> str:
    return (f"{where}: no input requires grad, so there is nothing to check. Create the "
            "inputs to check with requires_grad=True.")


def _output_array(out: Any, where: str) -> np.ndarray:
    if not isinstance(out, Tensor):
        raise TypeError(f"{where}: f must return a Tensor, but it returned "
                        f"{type(out).__name__}. Build f from minigrad ops.")
    if out.dtype.kind != "f":
        raise TypeError(f"{where}: f returned a tensor of dtype {out.dtype}, which has no "
                        "gradient. Return a floating-point result.")
    return out.data


def _evaluator(f: Callable[..., Tensor], tensors: list[Tensor], where: str,
               grad_enabled: bool, scalar: bool) -> Callable[[], np.ndarray]:
    """f at the current values of private copies of the inputs (``evaluate.arrays``)."""
    copies: dict[int, np.ndarray] = {}  # one copy per distinct Tensor: f(x, x) moves both
    arrays = [copies.setdefault(id(t), np.array(t.data, order="C", copy=True)) for t in tensors]

    def evaluate() -> np.ndarray:
        made: dict[int, Tensor] = {}
        args = [made.setdefault(id(a), Tensor._make(a, t.requires_grad))
                for a, t in zip(arrays, tensors, strict=True)]
        with enable_grad() if grad_enabled else no_grad():
            out = _output_array(f(*args), where)
        if scalar and out.size != 1:
            raise ValueError(
                f"{where}: f must return a one-element Tensor, but it returned shape "
                f"{out.shape}. Reduce it (e.g. f(x).sum()), or use mg.gradcheck or "
                "mg.autograd.jacobian for a function with many outputs."
            )
        return np.array(out, dtype=np.float64)  # a copy: out may be a view of an input

    evaluate.arrays = arrays  # type: ignore[attr-defined]
    return evaluate


def _fd_gradient(evaluate: Callable[[], np.ndarray], tensors: list[Tensor], i: int,
                 eps: float, project: Callable[[np.ndarray], Any],
                 extra_shape: tuple[int, ...] = ()) -> np.ndarray:
    """Central differences over every element of input ``i``, each column projected."""
    flat = evaluate.arrays[i].reshape(-1)  # type: ignore[attr-defined]  # a view: C order
    result = np.zeros((flat.size, *extra_shape))
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus, high = evaluate(), flat[j]
        flat[j] = original - eps
        minus, low = evaluate(), flat[j]
        flat[j] = original
        # divide by the step actually taken, after rounding to the input's dtype
        result[j] = project((plus - minus) / float(high - low))
    dtype = tensors[i].dtype if not extra_shape else np.float64
    return result.reshape(tensors[i].shape + extra_shape).astype(dtype)
