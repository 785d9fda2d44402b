"""The ``minigrad`` command: ``minigrad demo`` and ``minigrad explain``.

``minigrad demo [--out DIR]`` trains linear regression on the seed example with
gradient descent and with SGD, checks the gradient three ways, compares with the
closed form, and writes the graph of one training step, its step-by-step
explanation and (with matplotlib) the fit and the loss curves into ``DIR``.

``minigrad explain "tanh(x*w + b)" --set x=2 w=-3 b=6.88`` prints the backward
pass of a small expression step by step and writes its graph. The expression is
parsed with :mod:`ast` and only numbers, the ``--set`` names, ``+ - * / ** @``
and a fixed list of functions are accepted: nothing is ``eval``-ed.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import operator
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import viz

FUNCTIONS = {name: getattr(mg, name) for name in (
    "tanh", "exp", "log", "sqrt", "sin", "cos", "sigmoid", "relu", "abs", "sum", "mean",
    "maximum", "minimum")}
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
NAME_LENGTH = 24  # a sub-expression is named by its source text up to this many characters


# ---------------------------------------------------------------------------
# minigrad explain
# ---------------------------------------------------------------------------


def parse_assignments(items: Sequence[str]) -> dict[str, np.ndarray]:
    """``["x=2", "v=[1, 2]"]`` -> ``{"x": array(2.), "v": array([1., 2.])}``."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ValueError(f"explain: --set takes NAME=VALUE (e.g. x=2 or v=[1,2]), "
                             f"got {item!r}.")
        try:
            value = np.asarray(ast.literal_eval(text.strip()), dtype=np.float64)
        except (ValueError, SyntaxError, TypeError):
            raise ValueError(f"explain: the value of {name} must be a number or a list of "
                             f"numbers, got {text!r}.") from None
        values[name] = value
    return values


def evaluate(expr: str, values: dict[str, Any]) -> mg.Tensor:
    """Build ``expr`` as a minigrad graph; each named value becomes a leaf that
    requires grad and each short sub-expression a Tensor named by its source text.

    >>> evaluate("tanh(x*w + b)", {"x": 2.0, "w": -3.0, "b": 6.88}).name
    'tanh(x * w + b)'
    """
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"explain: cannot parse {expr!r}: {exc.msg}.") from None
    leaves = {name: mg.tensor(v, requires_grad=True, name=name) for name, v in values.items()}
    results: dict[int, Any] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:  # post-order, iteratively: children first, then the node
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_children(node, expr)))
            continue
        if isinstance(node, ast.Constant):
            results[id(node)] = float(node.value)
            continue
        if isinstance(node, ast.Name):
            if node.id not in leaves:
                raise ValueError(f"explain: {expr!r} uses {node.id!r} but no value was given. "
                                 f"Add --set {node.id}=VALUE.")
            results[id(node)] = leaves[node.id]
            continue
        if isinstance(node, ast.BinOp):
            out = BINARY[type(node.op)](results[id(node.left)], results[id(node.right)])
        elif isinstance(node, ast.UnaryOp):
            out = UNARY[type(node.op)](results[id(node.operand)])
        else:  # a Call, checked by _children
            out = FUNCTIONS[node.func.id](*[results[id(a)] for a in node.args])
        text = ast.unparse(node)
        if isinstance(out, mg.Tensor) and out.name is None and len(text) <= NAME_LENGTH:
            out.name = text  # longer ones keep numbered names (add_7): short, and unambiguous
        results[id(node)] = out
    root = results[id(tree.body)]
    if not isinstance(root, mg.Tensor) or not root.requires_grad:
        raise ValueError(f"explain: {expr!r} does not depend on any --set name, so it has no "
                         "gradient to explain. Use a name, e.g. 'tanh(x)' --set x=0.5.")
    return root


def _children(node: ast.AST, expr: str) -> list[ast.AST]:
    """The operands of an allowed node; anything else is refused with the allowed list."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return []
    if isinstance(node, ast.Name):
        return []
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return [node.operand]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS and not node.keywords):
        return list(node.args)
    raise ValueError(
        f"explain: {ast.unparse(node)!r} in {expr!r} is not allowed. Use numbers, names given "
        f"with --set, + - * / ** @, and the functions {', '.join(sorted(FUNCTIONS))}.")


def explain_command(args: argparse.Namespace) -> int:
    if args.code:  # the NumPy code mg.compile generates for it (see compiler.py)
        values = parse_assignments(args.set or [])

        def expression() -> mg.Tensor:
            return evaluate(args.expr, values)

        compiled = mg.compile(expression)
        compiled()
        print(compiled.code, end="")
        return 0
    root = evaluate(args.expr, parse_assignments(args.set or []))
    print(viz.explain(root, format=args.format), flush=True)  # the text first, before any layout
    viz.trace(root)  # keeps every gradient, so the picture shows them all
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"\ngraph: {_write_graph(root, out / 'explain_graph')}", flush=True)
    if args.stepthrough:
        try:
            print(f"step-through: {viz.write_stepthrough(root, out / 'stepthrough.html')}")
        except viz.DrawingTimeout as exc:
            print(f"step-through: skipped. {exc}")
    return 0


def _write_graph(root: mg.Tensor, stem: Path, **kwargs: Any) -> str:
    """SVG when Graphviz can lay it out in time, else the DOT source and why."""
    kwargs.setdefault("rankdir", "auto")
    if viz.can_render():
        try:
            return str(viz.render(root, stem.with_suffix(".svg"), "svg", **kwargs))
        except viz.DrawingTimeout as exc:
            why = str(exc)
    else:
        why = f"no Graphviz found, so this is DOT source. {viz.INSTALL_HINT}"
    path = viz.render(root, stem.with_suffix(".dot"), "dot", **kwargs)
    return f"{path}  ({why})"


# ---------------------------------------------------------------------------
# minigrad demo
# ---------------------------------------------------------------------------


def seed_data() -> tuple[np.ndarray, np.ndarray]:
    """The seed example: np.random.seed(42); X = rand(100, 1); y = 2X + 1 + 0.1 randn(100, 1).
    A RandomState(42) draws the same numbers without touching NumPy's global state."""
    rng = np.random.RandomState(42)
    X = rng.rand(100, 1)
    y = 2 * X + 1 + 0.1 * rng.randn(100, 1)
    return X, y


def demo(out: Path) -> int:
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    X, y = seed_data()
    has_tqdm = importlib.util.find_spec("tqdm") is not None
    print("minigrad demo: linear regression y = w x + b on the seed data")
    print("  np.random.seed(42); X = rand(100, 1); y = 2 X + 1 + 0.1 randn(100, 1)\n")

    print("1. The MSE gradient at w = 0, b = 0, three ways")
    print(_indent(str(mg.models.check_gradients(X, y))), "\n")

    print("2. Training (1000 GD steps on the full batch; 100 passes of SGD, batches of 10)")
    if not has_tqdm:
        print("   (pip install tqdm for progress bars)")
    fits = {}
    for label, model in (
        ("GD", mg.models.LinearRegression(learning_rate=0.1, n_iterations=1000,
                                          optimizer="gd", progress=has_tqdm)),
        ("SGD", mg.models.LinearRegression(learning_rate=0.1, n_iterations=100, optimizer="sgd",
                                           batch_size=10, random_state=42, progress=has_tqdm)),
    ):
        t0 = time.perf_counter()
        model.fit(X, y)
        fits[label] = (model, time.perf_counter() - t0)
    w_cf, b_cf = mg.models.linear_regression_closed_form(X, y)

    print("\n3. Against the closed form (least squares)")
    print(f"   {'method':<12}{'weight':>10}{'bias':>10}{'final MSE':>12}{'steps':>8}"
          f"{'time':>9}")
    for label, (model, seconds) in fits.items():
        mse = float(np.mean((model.predict(X) - y) ** 2))
        print(f"   {label:<12}{model.weights[0]:>10.5f}{model.bias:>10.5f}{mse:>12.6f}"
              f"{len(model.history_):>8}{seconds:>8.2f}s")
    mse_cf = float(np.mean((X @ w_cf + b_cf - y.ravel()) ** 2))
    print(f"   {'closed form':<12}{w_cf[0]:>10.5f}{b_cf:>10.5f}{mse_cf:>12.6f}")
    gd = fits["GD"][0]
    print(f"   GD vs closed form: |dw| = {abs(gd.weights[0] - w_cf[0]):.1e}, "
          f"|db| = {abs(gd.bias - b_cf):.1e}\n")

    print(f"4. One training step as a graph (step {GRAPH_STEP + 1} of gradient descent from "
          "w = 0, b = 0)")
    loss, params = _training_step_graph(X, y)
    (out / "explain.txt").write_text(f"{viz.explain(loss, params=params)}\n", encoding="utf-8")
    viz.trace(loss)
    written = [_write_graph(loss, out / "graph", params=params), str(out / "explain.txt")]
    if viz.can_render():
        written.append(str(viz.write_stepthrough(loss, out / "stepthrough.html", params=params)))
    else:
        print(f"   (no step-through page: {viz.INSTALL_HINT})")
    if importlib.util.find_spec("matplotlib") is not None:
        written += _plots(out, X, y, fits, (w_cf, b_cf))
    else:
        print("   (pip install matplotlib for fit.png and loss_curves.png)")
    print("\nWrote:\n" + "\n".join(f"   {w}" for w in written))
    print(f"\nDone in {time.perf_counter() - start:.1f} s.")
    return 0


GRAPH_STEP = 5  # the picture shows the step after this many: values are no longer all 0


def _training_step_graph(X: np.ndarray, y: np.ndarray) -> tuple[mg.Tensor, dict]:
    """The loss of one gradient-descent step on the seed data, after GRAPH_STEP steps
    from w = 0, b = 0; and the parameters {"w": w, "b": b} (drawn as parameters)."""
    w = mg.tensor(np.zeros(1), requires_grad=True, name="w")
    b = mg.tensor(0.0, requires_grad=True, name="b")
    optimizer = mg.optim.GD([w, b], lr=0.1)
    Xt, yt = mg.tensor(X, name="X"), mg.tensor(y.ravel(), name="y")
    for step in range(GRAPH_STEP + 1):
        optimizer.zero_grad()
        pred = Xt @ w + b
        pred.name = "pred = X @ w + b"
        loss = mg.losses.mse(pred, yt)
        loss.name = "loss"
        if step < GRAPH_STEP:
            loss.backward()
            optimizer.step()
    return loss, {"w": w, "b": b}


def _plots(out: Path, X: np.ndarray, y: np.ndarray, fits: dict, closed: tuple) -> list[str]:
    # Figure + Agg canvas, not pyplot: no global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=240)  # 1920 x 1080: a 16:9 slide
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter(X[:, 0], y[:, 0], s=14, color="#888888", label="data")
    grid = np.linspace(0, 1, 50)
    for (label, (model, _)), style in zip(fits.items(), ("-", "--"), strict=True):
        ax.plot(grid, model.weights[0] * grid + model.bias, style, lw=2,
                label=f"{label}: y = {model.weights[0]:.3f} x + {model.bias:.3f}")
    ax.plot(grid, closed[0][0] * grid + closed[1], ":", color="black", lw=1.5,
            label="closed form")
    ax.set(xlabel="x", ylabel="y", title="Linear regression on the seed data")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fit.png")

    fig = Figure(figsize=(8, 4.5), dpi=240)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for (label, (model, _)), color in zip(fits.items(), ("C0", "C1"), strict=True):
        history = np.asarray(model.history_)
        steps = np.arange(1, len(history) + 1)
        per_pass = len(history) // model.n_iterations  # optimizer steps per pass
        if per_pass > 1:  # minibatch losses are noisy: draw them faint, and each pass's mean
            ax.plot(steps, history, lw=0.6, alpha=0.35, color=color)
            means = history[: per_pass * model.n_iterations].reshape(-1, per_pass).mean(axis=1)
            ax.plot(steps[per_pass - 1::per_pass], means, lw=1.8, color=color,
                    label=f"{label}, batches of {model.batch_size} (mean per pass)")
        else:
            ax.plot(steps, history, lw=1.8, color=color, label=f"{label}, full batch")
    mse_cf = float(np.mean((X @ closed[0] + closed[1] - y.ravel()) ** 2))
    ax.axhline(mse_cf, color="black", ls=":", lw=1.2, label=f"closed form ({mse_cf:.5f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="optimizer steps (log scale)", ylabel="MSE (log scale)",
           title="Loss: gradient descent vs SGD, 1000 steps each")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss_curves.png")
    return [str(out / "fit.png"), str(out / "loss_curves.png")]


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())


# ---------------------------------------------------------------------------
# The command line.
# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigrad", description="minigrad: see the chain rule.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="train linear regression on the seed data; write pictures")
    d.add_argument("--out", default="minigrad_demo", help="output folder (default: %(default)s)")
    e = sub.add_parser("explain", help="explain the backward pass of a small expression")
    e.add_argument("expr", help='e.g. "tanh(x*w + b)"')
    e.add_argument("--set", nargs="+", action="extend", metavar="NAME=VALUE",
                   help="values of the names, e.g. --set x=2 w=-3 b=6.88")
    e.add_argument("--out", default=".", help="folder for the graph (default: %(default)s)")
    e.add_argument("--format", choices=("text", "markdown"), default="text")
    e.add_argument("--stepthrough", action="store_true",
                   help="also write stepthrough.html (one frame per step)")
    e.add_argument("--code", action="store_true",
                   help="print the NumPy code mg.compile generates (forward and backward)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``minigrad`` console script (and ``python -m minigrad``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return demo(Path(args.out))
        return explain_command(args)
    except (ValueError, RuntimeError) as exc:
        print(f"minigrad {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
