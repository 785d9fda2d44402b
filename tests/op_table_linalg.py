"""Op-table rows for mg.linalg, the statistics and the special functions (swept by
tests/test_linalg.py).

Rows use the ``OpCase`` of tests/op_table.py. Matrix ops need well-conditioned
inputs that plain ``draw_values`` cannot make (SPD matrices, separated real
eigenvalues), so ``domain`` is a callable ``(rng, shape) -> array`` here, and
``shapes`` names one of the kinds drawn by :func:`draw_linalg_shapes`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.op_table import OpCase


def well_conditioned(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Diagonally dominant: off-diagonal row sums <= 1 < diagonal."""
    n = shape[-1]
    return rng.uniform(-0.5, 0.5, size=shape) / max(n - 1, 1) + 2.0 * np.eye(n)


def spd(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Symmetric positive definite with eigenvalues at least 0.5 apart (spectrum ~ 1, 3, 5)."""
    n = shape[-1]
    x = rng.uniform(-0.15, 0.15, size=shape)
    return x + np.swapaxes(x, -1, -2) + np.diag(1.0 + 2.0 * np.arange(n))


def separated(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Not symmetric, real eigenvalues well apart: a small perturbation of diag(0, 2, 4)."""
    n = shape[-1]
    return rng.uniform(-0.2, 0.2, size=shape) + np.diag(2.0 * np.arange(n))


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.3, 6.0, size=shape)


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape))
    return (0.25 * rng.permutation(size) + rng.uniform(-0.02, 0.02, size)).reshape(shape)


def anything(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(-2.0, 2.0, size=shape)


def _flat_median(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.median(x, axis=axis, keepdims=keepdims)


LINALG_CASES: list[OpCase] = [
    OpCase("inv", mg.linalg.inv, np.linalg.inv, domain=well_conditioned, shapes="square"),
    OpCase("det", mg.linalg.det, np.linalg.det, domain=well_conditioned, shapes="square"),
    OpCase("slogdet", lambda a: mg.linalg.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1],
           domain=well_conditioned, shapes="square"),
    OpCase("solve", mg.linalg.solve, np.linalg.solve, arity=2,
           domain=[well_conditioned, anything], shapes="solve"),
    OpCase("norm", mg.linalg.norm, np.linalg.norm, domain="nonzero", shapes="matrix2",
           kwargs=[{}, {"ord": "fro"}, {"axis": 0}, {"ord": 1, "axis": 1},
                   {"ord": np.inf, "axis": -1, "keepdims": True}, {"ord": 3, "axis": 0},
                   {"ord": 1}, {"ord": -np.inf}, {"keepdims": True}], second_order=False),
    OpCase("eigh_eigenvalues", lambda a: mg.linalg.eigh(a)[0], lambda a: np.linalg.eigh(a)[0],
           domain=spd, shapes="square"),
    OpCase("eigh_eigenvectors", lambda a: mg.linalg.eigh(a)[1], lambda a: np.linalg.eigh(a)[1],
           domain=spd, shapes="square"),
    OpCase("eig_eigenvalues", lambda a: mg.linalg.eig(a)[0], lambda a: np.linalg.eig(a)[0],
           domain=separated, shapes="square"),
    OpCase("eig_eigenvectors", lambda a: mg.linalg.eig(a)[1], lambda a: np.linalg.eig(a)[1],
           domain=separated, shapes="square"),
    OpCase("median", mg.median, _flat_median, domain=distinct, shapes="reduce",
           kwargs=[{}, {"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)}],
           second_order=False),
    OpCase("cov", mg.cov, np.cov, domain=anything, shapes="observations",
           kwargs=[{}, {"bias": True}, {"ddof": 2}]),
    OpCase("cov_rowvar", lambda x: mg.cov(x, rowvar=False), lambda x: np.cov(x, rowvar=False),
           domain=anything, shapes="observations_t"),
    OpCase("corrcoef", mg.corrcoef, np.corrcoef, domain=anything, shapes="observations"),
    OpCase("lgamma", mg.distributions.lgamma,
           np.vectorize(__import__("math").lgamma, otypes=[float]), domain=positive,
           shapes="broadcast"),
    OpCase("digamma", mg.distributions.digamma, None, domain=positive, shapes="broadcast",
           second_order=False),
]

_side = st.integers(1, 3)


@st.composite
def draw_linalg_shapes(draw: Any, case: OpCase) -> list[tuple[int, ...]]:
    kind = case.shapes
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2))
    n = draw(_side)
    if kind == "square":
        return [batch + (n, n)]
    if kind == "solve":
        if draw(st.booleans()):
            return [batch + (n, n), (n,)]
        return [batch + (n, n), draw(st.sampled_from([batch, ()])) + (n, draw(_side))]
    if kind == "matrix2":  # 2-D, so that ord with axis=None is a matrix norm
        return [(draw(_side), draw(_side))]
    if kind == "reduce":
        return [draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))]
    if kind == "observations":  # variables x observations
        return [(draw(st.integers(1, 3)), draw(st.integers(4, 6)))]
    if kind == "observations_t":
        return [(draw(st.integers(4, 6)), draw(st.integers(2, 3)))]
    if kind == "broadcast":
        return [draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))]
    raise ValueError(f"unknown shape kind {kind!r}")


def draw_linalg_inputs(rng: np.random.Generator, case: OpCase,
                       shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    domains = case.domain if isinstance(case.domain, list) else [case.domain] * case.arity
    out = []
    for shape, domain in zip(shapes, domains, strict=True):
        if domain == "nonzero":
            values = rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        else:
            values = domain(rng, shape)
        out.append(np.asarray(values, dtype=np.float64))
    return out
