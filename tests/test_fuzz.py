"""Fuzzing: random expression DAGs (tests/strategies.py), every leaf gradient checked
against central finite differences in float64, and Hessian-vector products
checked against finite differences of the gradient.

CI runs a bounded number of examples, from a fixed seed. For the long run of every
property test with 10x the examples, drawn at random (README, "Trusting a gradient"):

    MINIGRAD_EXAMPLES_SCALE=10 python -m pytest -q tests/test_fuzz.py tests/test_ops.py \
        tests/test_ops_second_order.py tests/test_linalg.py tests/test_statistics.py \
        tests/test_gradcheck.py tests/test_losses.py tests/test_distributions.py

or only this file, with a number of your choice: MINIGRAD_FUZZ_EXAMPLES=2000.

A failure prints the program (``n3 = multiply(n0, n2)`` ...) that Hypothesis
shrank it to.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings

import minigrad as mg
from tests.strategies import LONG_RUN, Program, build, examples, programs

EXAMPLES = int(os.environ.get("MINIGRAD_FUZZ_EXAMPLES", examples(100)))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _leaves(program: Program, arrays: list[np.ndarray] | None = None) -> list[mg.Tensor]:
    arrays = arrays or [*program.leaves, program.matrix]
    return [mg.tensor(a.copy(), requires_grad=True) for a in arrays]


def _loss(program: Program, tensors: list[mg.Tensor]) -> mg.Tensor:
    return build(program, tensors[:-1], tensors[-1])


def _gradients(program: Program, arrays: list[np.ndarray]) -> list[np.ndarray]:
    tensors = _leaves(program, arrays)
    _loss(program, tensors).backward()
    return [np.zeros_like(t.data) if t.grad is None else t.grad.data for t in tensors]


def _numerical(program: Program, eps: float = 1e-6) -> tuple[list[np.ndarray], float]:
    arrays = [*program.leaves, program.matrix]
    with mg.no_grad():
        scale = abs(_loss(program, _leaves(program)).item())
        result = []
        for i, array in enumerate(arrays):
            g = np.zeros_like(array)
            for index in np.ndindex(array.shape):
                values = []
                for sign in (1, -1):
                    moved = [a.copy() for a in arrays]
                    moved[i][index] += sign * eps
                    values.append(_loss(program, _leaves(program, moved)).item())
                g[index] = (values[0] - values[1]) / (2 * eps)
            result.append(g)
    return result, scale


@FUZZ
@given(programs())
def test_every_leaf_gradient_matches_finite_differences(program):
    analytic = _gradients(program, [*program.leaves, program.matrix])
    numerical, scale = _numerical(program)
    for k, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        np.testing.assert_allclose(a, n, rtol=1e-4, atol=1e-6 * (1 + scale),
                                   err_msg=f"leaf {k} of {program!r}")


@FUZZ
@given(programs(max_steps=5))
def test_hessian_vector_products_match_finite_differences(program):
    arrays = [*program.leaves, program.matrix]
    rng = np.random.default_rng(program.seed)
    direction = [rng.normal(size=a.shape) for a in arrays]
    tensors = _leaves(program)
    grads = mg.autograd.grad(_loss(program, tensors), tensors, create_graph=True,
                             allow_unused=True)
    inner = mg.tensor(0.0)
    for g, v in zip(grads, direction, strict=True):
        if g is not None and g.requires_grad:
            inner = inner + (g * v).sum()
    if inner.requires_grad:
        hvp = mg.autograd.grad(inner, tensors, allow_unused=True)
        hvp = [np.zeros_like(a) if h is None else h.data for h, a in zip(hvp, arrays, strict=True)]
    else:  # the loss is linear in every leaf
        hvp = [np.zeros_like(a) for a in arrays]
    eps = 1e-5
    plus = _gradients(program, [a + eps * v for a, v in zip(arrays, direction, strict=True)])
    minus = _gradients(program, [a - eps * v for a, v in zip(arrays, direction, strict=True)])
    first = _gradients(program, arrays)
    scale = 1 + max(float(np.abs(g).max(initial=0)) for g in first)
    for k, (h, p, m) in enumerate(zip(hvp, plus, minus, strict=True)):
        np.testing.assert_allclose(h, (p - m) / (2 * eps), rtol=1e-3, atol=1e-5 * scale,
                                   err_msg=f"leaf {k} of {program!r}")
