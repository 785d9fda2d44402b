"""One tanh neuron, the classic backpropagation lecture example, drawn and explained.

    o = tanh(x1*w1 + x2*w2 + b)   with x1=2, x2=0, w1=-3, w2=1, b=6.8813735870195432

Run ``python examples/neuron.py [OUT_DIR]``: it prints the backward pass step by
step and writes neuron.png / neuron.svg (or neuron.dot without Graphviz) and
neuron_stepthrough.html into OUT_DIR (default: the current folder).
"""

import sys
from pathlib import Path

import minigrad as mg
from minigrad import viz


def neuron() -> tuple[mg.Tensor, dict[str, mg.Tensor]]:
    """The neuron's output ``o`` and its leaves, every Tensor named for the picture."""
    x1 = mg.tensor(2.0, requires_grad=True, name="x1")
    x2 = mg.tensor(0.0, requires_grad=True, name="x2")
    w1 = mg.tensor(-3.0, requires_grad=True, name="w1")
    w2 = mg.tensor(1.0, requires_grad=True, name="w2")
    b = mg.tensor(6.8813735870195432, requires_grad=True, name="b")
    x1w1 = x1 * w1
    x1w1.name = "x1*w1"
    x2w2 = x2 * w2
    x2w2.name = "x2*w2"
    s = x1w1 + x2w2
    s.name = "x1*w1 + x2*w2"
    n = s + b
    n.name = "n"
    o = mg.tanh(n)
    o.name = "o"
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    o, leaves = neuron()
    params = {"w1": leaves["w1"], "w2": leaves["w2"], "b": leaves["b"]}  # drawn as parameters
    print(viz.explain(o, params=params))
    viz.trace(o)  # backward, keeping every intermediate gradient for the picture
    print("\ngradients:", {k: round(t.grad.item(), 4) for k, t in leaves.items()})
    if viz.can_render():
        for fmt in ("png", "svg"):
            print("wrote", viz.render(o, out / f"neuron.{fmt}", fmt, params=params))
        print("wrote", viz.write_stepthrough(o, out / "neuron_stepthrough.html", params=params))
    else:
        print("wrote", viz.render(o, out / "neuron.dot", "dot", params=params), viz.INSTALL_HINT)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
