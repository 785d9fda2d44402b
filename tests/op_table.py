"""The op table: one row per differentiable op, swept by tests/test_ops.py.

A row says how to call the op in minigrad and in NumPy, how many inputs it
takes, what shapes they may have, and where its inputs live (its domain), so
that ops with kinks (relu, abs, max, clip) are drawn away from them.
Adding an op is adding a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg


@dataclass
class OpCase:
    name: str
    fn: Callable[..., Any]  # minigrad
    ref: Callable[..., Any]  # NumPy
    arity: int = 1
    domain: Any = (-2.0, 2.0)  # (lo, hi), a named domain, or a list with one per input
    kwargs: list[dict] = field(default_factory=lambda: [{}])
    shapes: str = "broadcast"  # how input shapes are drawn (see draw_shapes)
    second_order: bool = True  # gradgradcheck applies (smooth away from the domain's kinks)
    axis_offset: int = 0  # 1 where kwargs' axes count the output's axes (stack, expand_dims)


def _mid(lo: float, hi: float) -> Callable:
    return lambda rng, shape: rng.uniform(lo, hi, size=shape)


def draw_values(rng: np.random.Generator, shape: tuple[int, ...], domain: Any) -> np.ndarray:
    """Float64 values of ``shape`` from a domain that keeps the op off its kinks."""
    if domain == "nonzero":  # |x| in [0.3, 2]: away from the kink of relu/abs at 0
        return rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if domain == "grid":  # near multiples of 0.3: two "grid" and "offgrid" arrays never tie
        return 0.3 * rng.integers(-5, 6, size=shape) + rng.uniform(-0.03, 0.03, size=shape)
    if domain == "offgrid":
        return 0.3 * rng.integers(-5, 6, size=shape) + 0.15 + rng.uniform(-0.03, 0.03, shape)
    if domain == "distinct":  # all values distinct, at least 0.1 apart: no tied maxima
        size = int(np.prod(shape))
        values = 0.25 * rng.permutation(size) - 0.125 * size + rng.uniform(-0.02, 0.02, size)
        return values.reshape(shape)
    lo, hi = domain
    return rng.uniform(lo, hi, size=shape)


def _batch_matmul(a, b):
    return np.matmul(a, b)


def _shape_fn(name: str) -> tuple[Callable, Callable]:
    """Shape ops take the shape of their input into account: (minigrad fn, NumPy fn)."""
    table = {
        "reshape": (lambda x: mg.reshape(x, (-1,)), lambda x: np.reshape(x, (-1,))),
        "transpose": (lambda x: mg.transpose(x), lambda x: np.transpose(x)),
        "swapaxes": (lambda x: mg.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1)),
        "expand_dims": (lambda x: mg.expand_dims(x, 0), lambda x: np.expand_dims(x, 0)),
        "squeeze": (lambda x: mg.squeeze(mg.expand_dims(x, 1)), lambda x: np.squeeze(np.expand_dims(x, 1))),
        "broadcast_to": (lambda x: mg.broadcast_to(x, (2,) + x.shape),
                         lambda x: np.broadcast_to(x, (2,) + x.shape)),
        "flatten": (lambda x: mg.flatten(x), lambda x: x.flatten()),
    }
    return table[name]


def _index_fn(index: Any) -> tuple[Callable, Callable]:
    return (lambda x: x[index]), (lambda x: x[index])


OP_CASES: list[OpCase] = [
    # arithmetic
    OpCase("add", mg.add, np.add, arity=2),
    OpCase("subtract", mg.subtract, np.subtract, arity=2),
    OpCase("multiply", mg.multiply, np.multiply, arity=2),
    OpCase("divide", mg.divide, np.divide, arity=2, domain=[(-2, 2), "nonzero"]),
    OpCase("negative", mg.negative, np.negative),
    OpCase("power", mg.power, np.power, arity=2, domain=[(0.5, 2.0), (-2.0, 2.0)]),
    OpCase("abs", mg.abs, np.abs, domain="nonzero"),
    # elementwise
    OpCase("exp", mg.exp, np.exp),
    OpCase("log", mg.log, np.log, domain=(0.3, 3.0)),
    OpCase("sqrt", mg.sqrt, np.sqrt, domain=(0.3, 3.0)),
    OpCase("sin", mg.sin, np.sin),
    OpCase("cos", mg.cos, np.cos),
    OpCase("tanh", mg.tanh, np.tanh),
    OpCase("sigmoid", mg.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    OpCase("relu", mg.relu, lambda x: np.maximum(x, 0), domain="nonzero"),
    OpCase("maximum", mg.maximum, np.maximum, arity=2, domain=["grid", "offgrid"]),
    OpCase("minimum", mg.minimum, np.minimum, arity=2, domain=["grid", "offgrid"]),
    OpCase("where", lambda x, y: mg.where(x > 0, x, y), lambda x, y: np.where(x > 0, x, y),
           arity=2, domain=["nonzero", (-2, 2)]),
    OpCase("clip", lambda x: mg.clip(x, -0.45, 0.45), lambda x: np.clip(x, -0.45, 0.45),
           domain="grid"),
    # reductions
    OpCase("sum", mg.sum, np.sum, shapes="reduce",
           kwargs=[{}, {"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)}]),
    OpCase("mean", mg.mean, np.mean, shapes="reduce",
           kwargs=[{}, {"axis": 1}, {"axis": (0, -1), "keepdims": True}]),
    OpCase("var", mg.var, np.var, shapes="reduce2",
           kwargs=[{}, {"axis": 0}, {"axis": -1, "ddof": 1, "keepdims": True}]),
    OpCase("std", mg.std, np.std, shapes="reduce2",
           kwargs=[{}, {"axis": 0, "ddof": 1}, {"axis": (0, 1), "keepdims": True}]),
    OpCase("max", mg.max, np.max, shapes="reduce", domain="distinct",
           kwargs=[{}, {"axis": 0}, {"axis": -1, "keepdims": True}]),
    OpCase("min", mg.min, np.min, shapes="reduce", domain="distinct",
           kwargs=[{}, {"axis": 1}, {"axis": (0, 1)}]),
    OpCase("prod", mg.prod, np.prod, shapes="reduce", domain=(0.5, 1.5),
           kwargs=[{}, {"axis": 0}, {"axis": -1, "keepdims": True}]),
    OpCase("logsumexp", mg.logsumexp,
           lambda x, axis=None, keepdims=False: np.log(np.sum(np.exp(x), axis=axis,
                                                              keepdims=keepdims)),
           shapes="reduce", kwargs=[{}, {"axis": 0}, {"axis": -1, "keepdims": True}]),
    OpCase("softmax", mg.softmax,
           lambda x, axis=-1: np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True),
           shapes="reduce", kwargs=[{}, {"axis": 0}, {"axis": 1}]),
    OpCase("log_softmax", mg.log_softmax,
           lambda x, axis=-1: x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True)),
           shapes="reduce", kwargs=[{}, {"axis": 0}]),
    # shape
    *[OpCase(name, *_shape_fn(name), shapes="reduce") for name in
      ["reshape", "transpose", "swapaxes", "expand_dims", "squeeze", "broadcast_to", "flatten"]],
    # shape ops with their axes spelled out: the negative-axes column (test_ops) respells them
    OpCase("transpose_axes", lambda x, axes: mg.transpose(x, axes),
           lambda x, axes: np.transpose(x, axes), shapes="rank3",
           kwargs=[{"axes": (2, 0, 1)}, {"axes": (0, 2, 1)}]),
    OpCase("swapaxes_axes", mg.swapaxes, np.swapaxes, shapes="rank3",
           kwargs=[{"axis1": 0, "axis2": 2}, {"axis1": 1, "axis2": 2}]),
    OpCase("expand_dims_axis", mg.expand_dims, np.expand_dims, shapes="rank3", axis_offset=1,
           kwargs=[{"axis": 1}, {"axis": 3}]),
    OpCase("squeeze_axis", lambda x, axis: mg.squeeze(mg.expand_dims(x, 2), axis),
           lambda x, axis: np.squeeze(np.expand_dims(x, 2), axis), shapes="rank3",
           axis_offset=1, kwargs=[{"axis": 2}]),
    OpCase("concatenate_axis", lambda x, y, axis: mg.concatenate([x, y], axis=axis),
           lambda x, y, axis: np.concatenate([x, y], axis=axis), arity=2, shapes="rank3",
           kwargs=[{"axis": 1}, {"axis": 2}, {"axis": None}]),
    OpCase("stack_axis", lambda x, y, axis: mg.stack([x, y], axis=axis),
           lambda x, y, axis: np.stack([x, y], axis=axis), arity=2, shapes="rank3",
           axis_offset=1, kwargs=[{"axis": 1}, {"axis": 3}]),
    OpCase("concatenate", lambda x, y: mg.concatenate([x, y], axis=0),
           lambda x, y: np.concatenate([x, y], axis=0), arity=2, shapes="same"),
    OpCase("stack", lambda x, y: mg.stack([x, y], axis=1),
           lambda x, y: np.stack([x, y], axis=1), arity=2, shapes="same"),
    # indexing (input shape (4, 3))
    OpCase("getitem", *_index_fn((slice(1, None), 0)), shapes="fixed43"),
    OpCase("getitem_repeated", *_index_fn(np.array([0, 2, 0, 0])), shapes="fixed43"),
    OpCase("getitem_bool", *_index_fn(np.array([True, False, True, True])), shapes="fixed43"),
    OpCase("getitem_mixed", *_index_fn((None, Ellipsis, np.array([2, 2]))), shapes="fixed43"),
    OpCase("getitem_tuple_sequence", *_index_fn((slice(None), (1, 1, 0))), shapes="fixed43"),
    # matrix
    OpCase("matmul", mg.matmul, _batch_matmul, arity=2, shapes="matmul"),
    OpCase("dot", mg.dot, np.dot, arity=2, shapes="dot"),
    OpCase("outer", mg.outer, np.outer, arity=2, shapes="vectors"),
    OpCase("trace", mg.trace, np.trace, shapes="matrix"),
    OpCase("diag", mg.diag, np.diag, shapes="diag"),
]

# Every op the engine-core issue lists must have a row (test_ops checks this).
REQUIRED_OPS = """add subtract multiply divide negative power abs exp log sqrt sin cos tanh
sigmoid relu maximum minimum where clip sum mean var std max min prod logsumexp softmax
log_softmax reshape transpose swapaxes squeeze expand_dims broadcast_to flatten concatenate
stack getitem matmul dot outer trace diag""".split()


_side = st.integers(1, 3)


@st.composite
def draw_shapes(draw: Any, case: OpCase) -> list[tuple[int, ...]]:
    """Input shapes for ``case``: broadcastable ones (0-d and size-1 axes included)."""
    kind = case.shapes
    if kind == "broadcast":
        if case.arity == 1:
            return [draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))]
        shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=case.arity, min_dims=0,
                                                        max_dims=3, min_side=1, max_side=3))
        return list(shapes.input_shapes)
    if kind == "reduce":  # at least 2 axes, so axis=1 and axis=(0, 1) exist
        return [draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3))]
    if kind == "reduce2":  # every axis of size >= 2: var with ddof=1 and std are defined
        return [draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=3))]
    if kind == "same":
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
        return [shape] * case.arity
    if kind == "fixed43":
        return [(4, 3)]
    if kind == "rank3":  # exactly 3 axes, so that axes like (2, 0, 1) exist
        return [draw(hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=3))] * case.arity
    if kind == "matmul":
        m, k, n = draw(_side), draw(_side), draw(_side)
        batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                       max_side=2))
        left, right = batch.input_shapes
        variant = draw(st.sampled_from(["mm", "vm", "mv", "vv"]))
        a = (k,) if variant in ("vm", "vv") else left + (m, k)
        b = (k,) if variant in ("mv", "vv") else right + (k, n)
        return [a, b]
    if kind == "dot":
        m, k, n = draw(_side), draw(_side), draw(_side)
        return draw(st.sampled_from([[(k,), (k,)], [(m, k), (k, n)], [(m, k), (k,)],
                                     [(k,), (k, n)], [(), (m, k)]]))
    if kind == "vectors":
        return [(draw(_side),), (draw(_side),)]
    if kind == "matrix":
        return [draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3))]
    if kind == "diag":
        return [draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))]
    raise ValueError(f"unknown shape kind {kind!r}")


def fixed_shapes(case: OpCase) -> list[tuple[int, ...]]:
    """One small set of input shapes per shape kind, for the checks that run once."""
    return {"broadcast": [(2, 3)] * case.arity, "reduce": [(2, 3)], "reduce2": [(2, 3)],
            "same": [(2, 3)] * case.arity, "fixed43": [(4, 3)], "matmul": [(2, 3), (3, 2)],
            "dot": [(2, 3), (3,)], "vectors": [(2,), (3,)], "matrix": [(3, 3)], "diag": [(3,)],
            "rank3": [(2, 3, 2)] * case.arity}[case.shapes]


AXIS_KEYS = ("axis", "axes", "axis1", "axis2")


def respell_axes(kwargs: dict, ndim: int, how: str) -> dict:
    """``kwargs`` with every axis spelled from the start (``ndim - 1``), from the end
    (``-1``), or "mixed": alternately from the end and from the start (``(-1, 0, -2)``),
    which is where a backward that inverts raw axes goes wrong."""
    position = iter(range(100))

    def one(a: Any) -> Any:
        if isinstance(a, (tuple, list)):
            return type(a)(one(b) for b in a)
        from_end = how == "end" or (how == "mixed" and next(position) % 2 == 0)
        return a % ndim - ndim if from_end else a % ndim

    return {k: one(v) if k in AXIS_KEYS and v is not None else v for k, v in kwargs.items()}


def draw_inputs(rng: np.random.Generator, case: OpCase,
                shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    domains = case.domain if isinstance(case.domain, list) else [case.domain] * case.arity
    return [np.asarray(draw_values(rng, shape, domain), dtype=np.float64)
            for shape, domain in zip(shapes, domains)]


# -- issue 15's ops: einsum, pad, tile, repeat, split, tril/triu, cumsum, take_along_axis,
# log1p, expm1, erf (the shape kinds above; per-call arguments as kwargs of both functions)
_TAKE_ROWS = np.array([[2, 0], [1, 1], [0, 2], [2, 2]])  # for a (4, 3) input, axis=1
_TAKE_COLS = np.array([[3, 0, 1], [0, 0, 2]])  # for a (4, 3) input, axis=0
_math_erf = np.vectorize(__import__("math").erf, otypes=[np.float64])

OP_CASES += [
    OpCase("log1p", mg.log1p, np.log1p, domain=(-0.5, 2.0)),
    OpCase("expm1", mg.expm1, np.expm1),
    OpCase("erf", mg.erf, _math_erf, domain=(-3.0, 3.0)),
    OpCase("einsum", lambda *xs, subscripts: mg.einsum(subscripts, *xs),
           lambda *xs, subscripts: np.einsum(subscripts, *xs), arity=2, shapes="same",
           kwargs=[{"subscripts": "...j,...j->..."}, {"subscripts": "...j,...k->...jk"},
                   {"subscripts": "...j,...j"}]),
    OpCase("einsum_unary", lambda x, subscripts: mg.einsum(subscripts, x),
           lambda x, subscripts: np.einsum(subscripts, x), shapes="fixed43",
           kwargs=[{"subscripts": "ij->ji"}, {"subscripts": "ij->j"}, {"subscripts": "ij"}]),
    OpCase("einsum_outer", lambda a, b: mg.einsum("i,j->ij", a, b),
           lambda a, b: np.einsum("i,j->ij", a, b), arity=2, shapes="vectors"),
    OpCase("pad", lambda x, pad_width: mg.pad(x, pad_width, constant_values=0.5),
           lambda x, pad_width: np.pad(x, pad_width, constant_values=0.5), shapes="reduce",
           kwargs=[{"pad_width": 1}, {"pad_width": (0, 2)}]),
    OpCase("tile", mg.tile, np.tile, shapes="reduce", kwargs=[{"reps": 2}, {"reps": (2, 1, 3)}]),
    OpCase("repeat", mg.repeat, np.repeat, shapes="reduce",
           kwargs=[{"repeats": 2}, {"repeats": 3, "axis": 1}]),
    OpCase("repeat_counts", mg.repeat, np.repeat, shapes="fixed43",
           kwargs=[{"repeats": [1, 0, 3], "axis": 1}]),
    OpCase("split", lambda x, at, axis: mg.concatenate(mg.split(x, at, axis=axis)[::-1], axis),
           lambda x, at, axis: np.concatenate(np.split(x, at, axis=axis)[::-1], axis),
           shapes="fixed43", kwargs=[{"at": [1, 3], "axis": 0}, {"at": 3, "axis": 1}]),
    OpCase("tril", mg.tril, np.tril, shapes="matrix", kwargs=[{}, {"k": 1}, {"k": -1}]),
    OpCase("triu", mg.triu, np.triu, shapes="matrix", kwargs=[{}, {"k": 1}, {"k": -1}]),
    OpCase("cumsum", mg.cumsum, np.cumsum, shapes="reduce",
           kwargs=[{}, {"axis": 0}, {"axis": -1}]),
    OpCase("take_along_axis", mg.take_along_axis, np.take_along_axis, shapes="fixed43",
           kwargs=[{"indices": _TAKE_ROWS, "axis": 1}, {"indices": _TAKE_COLS, "axis": 0}]),
]

REQUIRED_OPS += """einsum pad tile repeat split tril triu cumsum take_along_axis log1p expm1
erf""".split()
