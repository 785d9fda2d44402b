"""mg.autograd: grad (PyTorch semantics), jacobian, hessian, higher derivatives, detect_anomaly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import detect_anomaly, grad, hessian, is_anomaly_enabled, jacobian

# ---------------------------------------------------------------------------
# The seed notes' calculus, through the engine
# ---------------------------------------------------------------------------


def test_derivative_of_seed_polynomial_engine_analytic_numerical_agree():
    f = lambda x: x**2 + 2 * x + 1  # noqa: E731
    x = mg.tensor(2.0, requires_grad=True)
    f(x).backward()
    (dx,) = grad(f(x), x)
    (numerical,) = mg.numerical_grad(f, [mg.tensor(2.0)])
    analytic = 2 * 2.0 + 2
    assert x.grad.item() == analytic == 6.0
    assert dx.item() == 6.0
    assert abs(numerical - 6.0) < 1e-8


def test_gradient_and_hessian_of_sum_of_squares():
    x = mg.tensor(1.0, requires_grad=True)
    y = mg.tensor(1.0, requires_grad=True)
    gx, gy = grad(x**2 + y**2, [x, y])
    assert (gx.item(), gy.item()) == (2.0, 2.0)
    f = lambda v: (v**2).sum()  # noqa: E731
    v = mg.tensor([1.0, 1.0])
    np.testing.assert_array_equal(jacobian(f, v).data, [2.0, 2.0])
    np.testing.assert_array_equal(hessian(f, v).data, 2 * np.eye(2))
    numerical = mg.numerical_grad(f, [v])[0]
    np.testing.assert_allclose(numerical, [2.0, 2.0], atol=1e-8)


def tanh_derivatives(x: np.ndarray) -> list[np.ndarray]:
    """Closed forms, with t = tanh x:  d1 = 1 - t^2,  d2 = -2 t d1,  d3 = (6 t^2 - 2) d1,
    d4 = (16 t - 24 t^3) d1  (differentiate d3 = 8 t^2 - 6 t^4 - 2 and use dt/dx = d1)."""
    t = np.tanh(x)
    d1 = 1 - t**2
    return [t, d1, -2 * t * d1, (6 * t**2 - 2) * d1, (16 * t - 24 * t**3) * d1]


def test_tanh_closed_forms_are_consistent_by_finite_differences():
    x, h = np.linspace(-2, 2, 9), 1e-5
    for k in range(4):
        estimate = (tanh_derivatives(x + h)[k] - tanh_derivatives(x - h)[k]) / (2 * h)
        np.testing.assert_allclose(estimate, tanh_derivatives(x)[k + 1], atol=1e-8)


@pytest.mark.parametrize("point", [-1.7, -0.4, 0.0, 0.3, 1.2, 2.5])
def test_fourth_derivative_of_tanh(point):
    x = mg.tensor(point, requires_grad=True)
    d = mg.tanh(x)
    derivatives = []
    for _ in range(4):
        (d,) = grad(d, x, create_graph=True)
        derivatives.append(d.item())
    closed_form = [c.item() for c in tanh_derivatives(np.array(point))[1:]]
    np.testing.assert_allclose(derivatives, closed_form, rtol=1e-12, atol=1e-12)


def test_fourth_derivative_of_tanh_elementwise_on_a_vector():
    points = np.array([-1.0, 0.5, 2.0])
    x = mg.tensor(points, requires_grad=True)
    d = mg.tanh(x)
    for _ in range(4):
        (d,) = grad(d.sum(), x, create_graph=True)
    np.testing.assert_allclose(d.data, tanh_derivatives(points)[4], rtol=1e-12)


def test_jacobian_of_softmax_is_diag_s_minus_s_st():
    z = np.array([0.5, -1.0, 2.0, 0.1])
    J = jacobian(mg.softmax, mg.tensor(z))
    s = np.exp(z) / np.exp(z).sum()
    assert J.shape == (4, 4)
    np.testing.assert_allclose(J.data, np.diag(s) - np.outer(s, s), atol=1e-15)


def test_jacobian_shape_is_out_shape_plus_x_shape():
    rng = np.random.default_rng(0)
    a, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    J = jacobian(lambda x: mg.tanh(x @ mg.tensor(w)), mg.tensor(a))
    assert J.shape == (2, 4, 2, 3)
    # d tanh(a w)[i, k] / d a[j, l] = delta_ij (1 - tanh^2)[i, k] w[l, k]
    d1 = 1 - np.tanh(a @ w) ** 2
    expected = np.einsum("ij,ik,lk->ikjl", np.eye(2), d1, w)
    np.testing.assert_allclose(J.data, expected, atol=1e-14)


def test_hessian_of_matrix_input_against_finite_differences():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 2))
    f = lambda x: (mg.sin(x) * x.T).sum() + (x**3).prod()  # noqa: E731
    H = hessian(f, mg.tensor(a))
    assert H.shape == (2, 2, 2, 2)
    def gradient_element(k):
        return lambda x: grad(f(x), x, create_graph=True)[0].reshape(-1)[k]

    leaf = mg.tensor(a, requires_grad=True)
    numerical = np.stack([mg.numerical_grad(gradient_element(k), [leaf])[0]
                          for k in range(4)]).reshape(2, 2, 2, 2)
    np.testing.assert_allclose(H.data, numerical, atol=1e-6)
    np.testing.assert_allclose(H.data.reshape(4, 4), H.data.reshape(4, 4).T, atol=1e-12)


def test_hessian_vector_product_equals_hessian_times_v():
    rng = np.random.default_rng(2)
    A = mg.tensor(rng.normal(size=(3, 3)))
    f = lambda x: mg.logsumexp(mg.tanh(A @ x)) + (x**4).sum() / 4  # noqa: E731
    x0, v = rng.normal(size=3), rng.normal(size=3)
    x = mg.tensor(x0, requires_grad=True)
    (g,) = grad(f(x), x, create_graph=True)
    (hvp,) = grad((g * mg.tensor(v)).sum(), x)
    # the same through grad_outputs=v
    (g2,) = grad(f(x), x, create_graph=True)
    (hvp2,) = grad(g2, x, grad_outputs=mg.tensor(v))
    H = hessian(f, mg.tensor(x0)).data
    np.testing.assert_allclose(hvp.data, H @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hvp2.data, H @ v, rtol=1e-12, atol=1e-12)
    assert not np.allclose(H, np.diag(np.diag(H)))  # a real coupling, not a diagonal case


def test_jacobian_and_hessian_leave_x_alone_and_handle_constants():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert jacobian(lambda v: v * 3, x).data.tolist() == [[3.0, 0.0], [0.0, 3.0]]
    assert x.grad is None and x.is_leaf
    np.testing.assert_array_equal(jacobian(lambda v: mg.ones(3), x).data, np.zeros((3, 2)))
    np.testing.assert_array_equal(hessian(lambda v: (2 * v).sum(), x).data, np.zeros((2, 2)))
    np.testing.assert_array_equal(hessian(lambda v: mg.tensor(1.0), x).data, np.zeros((2, 2)))
    assert jacobian(lambda v: v * v, [1, 2]).data.tolist() == [[2.0, 0.0], [0.0, 4.0]]


def test_hessian_and_jacobian_errors():
    with pytest.raises(ValueError, match=r"hessian: f must return a one-element Tensor.*\(2,\)"):
        hessian(lambda v: v * v, mg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="jacobian: f must return a Tensor"):
        jacobian(lambda v: 3.0, mg.tensor([1.0]))
    with pytest.raises(TypeError, match="hessian: x must be a Tensor or numbers"):
        hessian(lambda v: v, "abc")


# ---------------------------------------------------------------------------
# grad: PyTorch semantics
# ---------------------------------------------------------------------------


def test_grad_returns_a_tuple_and_never_touches_dot_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor(3.0, requires_grad=True)
    y.grad = mg.tensor(10.0)
    result = grad((x * y).sum(), [x, y])
    assert isinstance(result, tuple) and len(result) == 2
    np.testing.assert_array_equal(result[0].data, [3.0, 3.0])
    assert result[1].item() == 3.0
    assert x.grad is None and y.grad.item() == 10.0
    assert isinstance(grad((x * x).sum(), x), tuple)


def test_unused_input_raises_unless_allow_unused():
    x = mg.tensor(1.0, requires_grad=True)
    z = mg.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad: input 1 .* was not used.*allow_unused=True"):
        grad(x * 2, [x, z])
    gx, gz = grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None


def test_grad_outputs_default_and_errors():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad: grad_outputs\[0\] can be omitted only.*\(2,\)"):
        grad(x * x, x)
    (g,) = grad(x * x, x, grad_outputs=[1.0, 10.0])
    np.testing.assert_array_equal(g.data, [2.0, 40.0])
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(3,\)"):
        grad(x * x, x, grad_outputs=mg.ones(3))
    with pytest.raises(ValueError, match="one gradient per output"):
        grad([x.sum(), x.sum()], x, grad_outputs=[None])


def test_several_outputs_sum_their_contributions():
    x = mg.tensor(2.0, requires_grad=True)
    (g,) = grad([x**2, x**3], x, grad_outputs=[1.0, 2.0])
    assert g.item() == 4.0 + 2 * 12.0


def test_retain_graph_defaults_to_create_graph():
    x = mg.tensor(2.0, requires_grad=True)
    y = x**3
    grad(y, x)
    with pytest.raises(RuntimeError, match="already freed"):
        grad(y, x)
    y = x**3
    grad(y, x, retain_graph=True)
    assert grad(y, x)[0].item() == 12.0
    y = x**3
    (g,) = grad(y, x, create_graph=True)
    assert g.requires_grad
    assert grad(y, x)[0].item() == 12.0  # create_graph kept the graph


def test_gradient_without_create_graph_is_not_differentiable():
    x = mg.tensor(2.0, requires_grad=True)
    (g,) = grad(x**3, x)
    assert not g.requires_grad
    with pytest.raises(RuntimeError, match="output 0 .* does not require grad"):
        grad(g, x)


def test_inputs_that_do_not_require_grad_and_non_leaf_inputs():
    x = mg.tensor(2.0, requires_grad=True)
    c = mg.tensor(2.0)
    with pytest.raises(RuntimeError, match="grad: input 0 .* does not require grad"):
        grad(x * c, c)
    h = x * 3  # non-leaf
    (gh,) = grad(h**2, h)
    assert gh.item() == 12.0
    with pytest.raises(TypeError, match="grad: inputs must be a Tensor"):
        grad(x * 2, [])


# ---------------------------------------------------------------------------
# detect_anomaly
# ---------------------------------------------------------------------------


def test_detect_anomaly_names_log_in_forward_and_the_user_line():
    x = mg.tensor([1.0, 0.0], requires_grad=True)
    with detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError) as info:
            mg.log(x)  # the line we expect to be named
    message = str(info.value)
    assert "log (forward) produced inf" in message
    assert "test_autograd.py" in message and "mg.log(x)  # the line we expect" in message


def test_detect_anomaly_names_sqrt_in_backward_and_where_it_was_created():
    x = mg.tensor([4.0, 0.0], requires_grad=True)
    with detect_anomaly(), np.errstate(divide="ignore"):
        y = mg.sqrt(x).sum()  # created here
        with pytest.raises(FloatingPointError) as info:
            y.backward()
    message = str(info.value)
    assert "sqrt (backward" in message and "produced inf" in message
    assert "y = mg.sqrt(x).sum()  # created here" in message


def test_detect_anomaly_names_a_user_function_with_nan_gradient():
    class Leaky(mg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, grad, out, x):
            return grad * float("nan")

    x = mg.tensor(1.0, requires_grad=True)
    with detect_anomaly():
        y = Leaky.apply(x)
        with pytest.raises(FloatingPointError, match="leaky \\(backward.*produced NaN"):
            y.backward()


def test_without_detect_anomaly_nan_passes_silently():
    x = mg.tensor(0.0, requires_grad=True)
    with np.errstate(divide="ignore"):
        y = mg.log(x)
    assert np.isinf(y.data)


def test_detect_anomaly_restores_the_previous_state_per_thread():
    assert not is_anomaly_enabled()
    with detect_anomaly():
        assert is_anomaly_enabled()
        seen = []
        thread = threading.Thread(target=lambda: seen.append(is_anomaly_enabled()))
        thread.start()
        thread.join()
        assert seen == [False]
        with detect_anomaly():
            pass
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
    with pytest.raises(KeyError), detect_anomaly():
        raise KeyError("exits cleanly")
    assert not is_anomaly_enabled()

    @detect_anomaly()
    def decorated():
        return is_anomaly_enabled()

    assert decorated() and not is_anomaly_enabled()


def test_calculus_example_runs_and_agrees(capsys):
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "calculus.py"
    runpy.run_path(str(path), run_name="__main__")
    lines = [line for line in capsys.readouterr().out.splitlines() if "max |engine" in line]
    assert len(lines) == 6
    for line in lines:
        analytic = float(line.split("analytic| = ")[1].split(",")[0])
        numerical = float(line.split("numerical| = ")[1])
        assert analytic < 1e-12 and numerical < 1e-3


# -- issue 16 item 5: every .grad is an array of its own -------------------------------


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_grads_never_alias_each_other_or_the_callers_gradient(create_graph):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    z = mg.tensor([3.0, 4.0], requires_grad=True)
    g = mg.tensor([1.0, 1.0])
    (x + z).backward(g, create_graph=create_graph)  # add hands one gradient to both
    assert x.grad is not z.grad and x.grad is not g
    assert not np.shares_memory(x.grad.data, z.grad.data)
    assert not np.shares_memory(x.grad.data, g.data)
    with mg.no_grad():
        x.grad *= 3.0  # writable, and changes only x.grad
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(z.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(g.data, [1.0, 1.0])


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_broadcast_gradient_becomes_a_writable_grad(create_graph):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.sum().backward(create_graph=create_graph)  # sum's rule broadcasts: a read-only view
    assert x.grad.data.flags.writeable and x.grad.data.strides != (0,)
    with mg.no_grad():
        x.grad *= 2.0
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_create_graph_grads_stay_differentiable():
    x = mg.tensor(3.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    (gg,) = grad(x.grad, x)
    assert gg.item() == 18.0


# -- issue 16 item 6: 0-d gradients stay ndarrays ------------------------------------------


def test_zero_d_gradients_are_arrays_after_accumulation():
    x = mg.tensor(2.0, requires_grad=True)
    for _ in range(3):
        (x * x + x).backward()  # x reaches the sum twice: a sum in the walk too
        assert type(x.grad.data) is np.ndarray and x.grad.data.shape == ()
    assert x.grad.item() == 15.0


def test_sgd_momentum_with_weight_decay_keeps_updating_a_0d_parameter():
    p = mg.tensor(1.0, requires_grad=True)
    opt = mg.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    values = []
    for _ in range(4):
        opt.zero_grad()
        (p * p).backward()
        (p * 1.0).backward()  # accumulate a second gradient
        opt.step()
        values.append(p.item())
    assert type(p.data) is np.ndarray and len(set(values)) == 4


# -- issue 16 item 8: grad w.r.t. an intermediate runs only the part it needs --------------


def test_grad_with_respect_to_an_intermediate_leaves_the_rest_of_the_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()
    (gh,) = grad(y, h)
    np.testing.assert_array_equal(gh.data, 2 * h.data)
    assert x.grad is None
    h.backward(gh)  # the part between h and x was neither run nor freed
    np.testing.assert_array_equal(x.grad.data, 3.0 * 2 * h.data)
    with pytest.raises(RuntimeError, match="already freed"):
        grad(y, h)  # the part grad ran is freed (retain_graph defaults to False)


def test_grad_with_respect_to_an_intermediate_and_a_leaf_below_it():
    x = mg.tensor(2.0, requires_grad=True)
    h = x * x
    y = h * x
    gh, gx = grad(y, [h, x])
    assert gh.item() == 2.0 and gx.item() == 12.0


def test_grad_of_an_intermediate_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = mg.tensor([0.5, -1.0], requires_grad=True)
    tx = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    h, th = x.tanh(), tx.tanh()
    y, ty = (h * h * x).sum(), (th * th * tx).sum()
    (g,) = grad(y, h)
    (tg,) = torch.autograd.grad(ty, th)
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-14)
    h.backward(g)
    th.backward(tg)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-14)


# -- issue 16 item 9 (part) ---------------------------------------------------------------


def test_no_grad_decorates_a_generator_function():
    x = mg.tensor(1.0, requires_grad=True)

    @mg.no_grad()
    def doubled(n):
        for _ in range(n):
            received = yield x * 2.0
            assert received in (None, "ping")

    gen = doubled(3)
    first = next(gen)
    assert not first.requires_grad
    assert mg.is_grad_enabled()  # outside the generator's own code: the caller's mode
    assert not gen.send("ping").requires_grad
    assert [t.requires_grad for t in gen] == [False]
    assert mg.is_grad_enabled()

    @mg.enable_grad()
    def recorded():
        yield x * 2.0

    with mg.no_grad():
        assert next(recorded()).requires_grad


def test_no_grad_generator_returns_its_value_and_closes():
    @mg.no_grad()
    def gen():
        yield 1
        return "done"

    g = gen()
    assert next(g) == 1
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == "done"
    g2 = gen()
    next(g2)
    g2.close()
    assert mg.is_grad_enabled()


def test_requires_grad_false_after_use_leaves_grad_untouched():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    x.grad = mg.tensor([7.0, 7.0])
    y = (x * w).sum()
    x.requires_grad_(False)  # as PyTorch: the next backward leaves x.grad alone
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [7.0, 7.0])
    np.testing.assert_array_equal(w.grad.data, [1.0, 2.0])
