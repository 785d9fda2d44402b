"""Calculus with minigrad: derivative, gradient, Jacobian, Hessian, fourth derivative.

Each quantity is computed three ways and printed side by side:

* engine     -- minigrad's reverse mode (``mg.autograd``), exact up to rounding;
* analytic   -- the closed form, derived by hand;
* numerical  -- central finite differences, which know no calculus at all
  (``mg.numerical_grad``, the replacement for the removed ``scipy.misc.derivative``).

Run: ``python examples/calculus.py``
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.autograd import grad, hessian, jacobian


def show(title: str, engine: object, analytic: object, numerical: object) -> None:
    print(f"\n{title}")
    for label, value in (("engine", engine), ("analytic", analytic), ("numerical", numerical)):
        text = np.array2string(np.asarray(value), prefix=" " * 14)
        print(f"  {label:<10}  {text}")
    e, a, n = (np.asarray(value, dtype=float) for value in (engine, analytic, numerical))
    print(f"  max |engine - analytic| = {np.abs(e - a).max():.1e}, "
          f"max |engine - numerical| = {np.abs(e - n).max():.1e}")


def derivative() -> None:
    # f(x) = x^2 + 2x + 1,  f'(x) = 2x + 2,  f'(2) = 6
    f = lambda x: x**2 + 2 * x + 1  # noqa: E731
    x = mg.tensor(2.0, requires_grad=True)
    (dx,) = grad(f(x), x)
    show("d/dx (x^2 + 2x + 1) at x = 2", dx.item(), 2 * 2.0 + 2,
         mg.numerical_grad(f, [x])[0])


def gradient() -> None:
    # f(x, y) = x^2 + y^2,  grad f = (2x, 2y) = (2, 2) at (1, 1)
    f = lambda x, y: x**2 + y**2  # noqa: E731
    x, y = mg.tensor(1.0, requires_grad=True), mg.tensor(1.0, requires_grad=True)
    engine = [g.item() for g in grad(f(x, y), [x, y])]
    numerical = [g.item() for g in mg.numerical_grad(f, [x, y])]
    show("gradient of x^2 + y^2 at (1, 1)", engine, [2.0, 2.0], numerical)


def softmax_jacobian() -> None:
    # s = softmax(z),  ds_i/dz_j = s_i (delta_ij - s_j),  J = diag(s) - s s^T
    z = np.array([0.5, -1.0, 2.0])
    s = np.exp(z) / np.exp(z).sum()
    numerical = np.stack([mg.numerical_grad(lambda v, i=i: mg.softmax(v)[i], [mg.tensor(z)])[0]
                          for i in range(3)])
    show("Jacobian of softmax at z = (0.5, -1, 2)", jacobian(mg.softmax, mg.tensor(z)).data,
         np.diag(s) - np.outer(s, s), numerical)


def hessians() -> None:
    # f(x, y) = x^2 + y^2: Hessian 2I.   g(x, y) = x^2 y + sin y:
    # H = [[2y, 2x], [2x, -sin y]]
    f = lambda v: (v**2).sum()  # noqa: E731
    v = mg.tensor([1.0, 1.0])
    show("Hessian of x^2 + y^2 at (1, 1)", hessian(f, v).data, 2 * np.eye(2),
         _numerical_hessian(f, v))
    g = lambda v: v[0] ** 2 * v[1] + mg.sin(v[1])  # noqa: E731
    p = mg.tensor([0.7, -1.3])
    x, y = p.data
    show("Hessian of x^2 y + sin y at (0.7, -1.3)", hessian(g, p).data,
         [[2 * y, 2 * x], [2 * x, -np.sin(y)]], _numerical_hessian(g, p))


def _numerical_hessian(f, v: mg.Tensor) -> np.ndarray:
    """Finite differences of the engine's gradient, one row per gradient element."""
    leaf = mg.tensor(v.data, requires_grad=True)
    return np.stack([mg.numerical_grad(lambda x, i=i: grad(f(x), x, create_graph=True)[0][i],
                                       [leaf])[0] for i in range(v.size)])


def fourth_derivative_of_tanh() -> None:
    # t = tanh x:  t' = 1 - t^2,  t'' = -2 t t',  t''' = (6 t^2 - 2) t',
    # t'''' = (16 t - 24 t^3) t'      (differentiate t''' = 8 t^2 - 6 t^4 - 2)
    points = np.array([-1.5, -0.5, 0.0, 0.4, 1.2])
    x = mg.tensor(points, requires_grad=True)
    d = mg.tanh(x)
    for _ in range(4):  # reverse over reverse over reverse over reverse
        (d,) = grad(d.sum(), x, create_graph=True)
    t = np.tanh(points)
    analytic = (16 * t - 24 * t**3) * (1 - t**2)
    # five-point fourth difference: error O(h^2) ~ 1e-5 here; rounding ~ 1e-16 / h^4
    h = 1e-2
    numerical = (np.tanh(points + 2 * h) - 4 * np.tanh(points + h) + 6 * t
                 - 4 * np.tanh(points - h) + np.tanh(points - 2 * h)) / h**4
    show(f"d^4/dx^4 tanh(x) at x = {points.tolist()}", d.data, analytic, numerical)


def main() -> None:
    derivative()
    gradient()
    softmax_jacobian()
    hessians()
    fourth_derivative_of_tanh()


if __name__ == "__main__":
    with np.printoptions(precision=6, suppress=True):
        main()
