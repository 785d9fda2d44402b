"""Shared Hypothesis strategies: random expression DAGs over minigrad's ops.

A :class:`Program` is a list of steps ``n5 = multiply(n2, n4)``; each step
reads earlier nodes (leaves or results), so subexpressions are shared and
reused. Every node's shape broadcasts against ``BASE``, so any two nodes can
meet in a binary op. Ops are composed so that their inputs stay inside their
domain (``log(x*x + 1)``, ``a / (b*b + 1)``) and away from kinks, which makes
central finite differences a fair witness. ``build`` turns a program and leaf
arrays into a scalar loss, with fixed random weights on a few nodes so that
every node receives a non-trivial upstream gradient.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

# The long run (README, "Trusting a gradient"): MINIGRAD_EXAMPLES_SCALE=10 multiplies
# every property test's number of Hypothesis examples, and draws them at random
# instead of from the fixed seed CI uses.
SCALE = int(os.environ.get("MINIGRAD_EXAMPLES_SCALE", "1"))
LONG_RUN = SCALE > 1 or "MINIGRAD_FUZZ_EXAMPLES" in os.environ


def examples(n: int) -> int:
    """How many Hypothesis examples a property test runs: n, times the long run's scale."""
    return n * SCALE


BASE = (2, 3)
LEAF_SHAPES = [(2, 3), (3,), (1, 3), (2, 1), ()]
MATRIX = (3, 3)  # one extra leaf, the right operand of every matmul

UNARY = ["exp_tanh", "sin", "cos", "tanh", "sigmoid", "negative", "square", "log_1p_sq",
         "sqrt_1p_sq", "softmax", "log_softmax", "logsumexp", "sum_axis", "mean_axis", "var_axis",
         "sum_all", "gather_last", "reverse_flat", "transpose", "matmul", "clip_wide"]
BINARY = ["add", "subtract", "multiply", "divide", "power", "where", "concatenate", "stack",
          "iadd", "isub", "imul", "idiv", "setitem"]


@dataclass
class Step:
    op: str
    args: tuple[int, ...]
    param: Any = None

    def __repr__(self) -> str:
        args = ", ".join(f"n{i}" for i in self.args)
        return f"{self.op}({args}{'' if self.param is None else f', {self.param!r}'})"


@dataclass
class Program:
    leaves: list[np.ndarray]  # node k < len(leaves) is leaf k
    matrix: np.ndarray
    steps: list[Step] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    seed: int = 0

    def __repr__(self) -> str:
        lines = [f"n{k} = leaf{a.shape}" for k, a in enumerate(self.leaves)]
        first = len(self.leaves)
        lines += [f"n{first + k} = {s!r}" for k, s in enumerate(self.steps)]
        lines.append(f"loss = weighted sum of {', '.join(f'n{i}' for i in self.outputs)}")
        return "Program:\n  " + "\n  ".join(lines)


def _shape(step: Step, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    a = shapes[step.args[0]]
    if step.op in ("sum_axis", "mean_axis", "var_axis", "logsumexp"):
        return tuple(1 if i == step.param else n for i, n in enumerate(a)) if a else ()
    if step.op == "sum_all":
        return ()
    if step.op == "gather_last":
        return a[:-1] + (len(step.param),)
    if step.op == "matmul":
        return np.broadcast_shapes(a, (3,)) if a else (3,)
    if step.op in ("where", "concatenate", "stack", "setitem"):
        return BASE
    if len(step.args) == 2:
        return np.broadcast_shapes(a, shapes[step.args[1]])
    return a


@st.composite
def programs(draw: Any, max_steps: int = 8) -> Program:
    """A random expression DAG over 1-3 leaves of broadcast-compatible shapes."""
    values = st.floats(-1.5, 1.5, allow_nan=False, width=64)
    n_leaves = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(LEAF_SHAPES)) for _ in range(n_leaves)]
    leaves = [draw(hnp.arrays(np.float64, s, elements=values)) for s in shapes]
    matrix = draw(hnp.arrays(np.float64, MATRIX, elements=values))
    program = Program(leaves, matrix, seed=draw(st.integers(0, 2**16)))
    # Ops and operands come from a drawn seed: Hypothesis would favour the first
    # op of a list, and every op should be drawn about as often.
    n_steps = draw(st.integers(1, max_steps))
    salt = [n_steps, *(LEAF_SHAPES.index(s) for s in shapes)]  # Hypothesis often draws seed 0
    choose = np.random.default_rng([draw(st.integers(0, 2**32 - 1)), *salt])
    for _ in range(n_steps):
        def pick() -> int:  # mostly recent nodes (depth), sometimes any earlier one (sharing)
            near = choose.random() < 0.7
            back = choose.integers(0, (min(len(shapes), 3) if near else len(shapes)))
            return len(shapes) - 1 - int(back)

        op = str(choose.choice(UNARY + BINARY))
        args = (pick(),) if op in UNARY else (pick(), pick())
        a = shapes[args[0]]
        param = None
        if op in ("sum_axis", "mean_axis", "var_axis", "logsumexp", "softmax", "log_softmax"):
            param = int(choose.integers(0, len(a))) if a else None
        elif op == "gather_last":
            if not a:
                op = "tanh"
            else:  # repeated indices: their gradients must accumulate
                param = [int(i) for i in choose.integers(0, a[-1], size=3)]
        elif op == "setitem":
            param = int(choose.integers(0, 2))
        program.steps.append(Step(op, args, param))
        shapes.append(_shape(program.steps[-1], shapes))
    last = len(shapes) - 1
    extra = [int(i) for i in choose.integers(0, last + 1, size=choose.integers(0, 3))]
    program.outputs = sorted({last, *extra})
    return program


def _apply(step: Step, x: list[mg.Tensor], matrix: mg.Tensor, rng: np.random.Generator):
    op, p = step.op, step.param
    a = x[step.args[0]]
    b = x[step.args[1]] if len(step.args) > 1 else None
    unary = {
        "exp_tanh": lambda: mg.exp(mg.tanh(a)), "sin": lambda: mg.sin(a),
        "cos": lambda: mg.cos(a), "tanh": lambda: mg.tanh(a), "sigmoid": lambda: mg.sigmoid(a),
        "negative": lambda: -a, "square": lambda: a * a,
        "log_1p_sq": lambda: mg.log(a * a + 1.0), "sqrt_1p_sq": lambda: mg.sqrt(a * a + 1.0),
        "softmax": lambda: mg.softmax(a, axis=p) if a.ndim else a * 0.5,
        "log_softmax": lambda: mg.log_softmax(a, axis=p) if a.ndim else a * 0.5,
        "logsumexp": lambda: mg.logsumexp(a, axis=p, keepdims=True),
        "sum_axis": lambda: mg.sum(a, axis=p, keepdims=True),
        "mean_axis": lambda: mg.mean(a, axis=p, keepdims=True),
        "var_axis": lambda: mg.var(a, axis=p, keepdims=True),
        "sum_all": lambda: a.sum(),
        "gather_last": lambda: a[..., np.asarray(p)],
        "reverse_flat": lambda: a.reshape(-1)[::-1].reshape(a.shape),
        "transpose": lambda: (a.T * mg.tensor(np.arange(1.0, a.shape[0] + 1))).T
        if a.ndim == 2 else a * 1.5,
        "matmul": lambda: (a if a.ndim and a.shape[-1] == 3 else
                           mg.broadcast_to(a, np.broadcast_shapes(a.shape, (3,)))) @ matrix,
        "clip_wide": lambda: mg.clip(a, -1e3, 1e3),  # never active: gradient passes
    }
    if op in unary:
        return unary[op]()
    if op == "add":
        return a + b
    if op == "subtract":
        return a - b
    if op == "multiply":
        return a * b
    if op == "divide":
        return a / (b * b + 1.0)
    if op == "power":
        return (a * a + 0.5) ** mg.tanh(b)
    wide_a, wide_b = mg.broadcast_to(a, BASE), mg.broadcast_to(b, BASE)
    if op == "where":
        return mg.where(rng.random(BASE) < 0.5, a, b)
    if op == "concatenate":
        c = mg.concatenate([wide_a, wide_b], axis=1)
        return c[:, :3] * c[:, 3:]
    if op == "stack":
        s = mg.stack([wide_a, wide_b], axis=0)
        return s[0] + 2.0 * s[1]
    if op == "setitem":
        c = wide_a * 1.0
        c[p] = wide_b[1 - p] * 2.0
        return c
    # in place: a copy of a (at the broadcast shape) changed by b
    c = mg.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)) * 1.0
    if op == "iadd":
        c += b
    elif op == "isub":
        c -= b
    elif op == "imul":
        c *= b
    else:
        c /= b * b + 1.0
    return c


def build(program: Program, leaves: list[mg.Tensor], matrix: mg.Tensor) -> mg.Tensor:
    """The program's scalar loss from these leaf Tensors."""
    rng = np.random.default_rng(program.seed)
    nodes = list(leaves)
    for step in program.steps:
        nodes.append(_apply(step, nodes, matrix, rng))
    loss = mg.tensor(0.0)
    for k in program.outputs:
        loss = loss + (nodes[k] * rng.normal(size=nodes[k].shape)).sum()
    return loss
