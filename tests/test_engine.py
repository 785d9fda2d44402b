"""The engine: accumulation, the DAG walk, freeing, grad mode, detach, stability."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import minigrad as mg


def test_reuse_accumulates():
    a = mg.tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond():
    a = mg.tensor(2.0, requires_grad=True)
    b = mg.tensor(3.0, requires_grad=True)
    c = a + b
    d = a * b
    y = (c + d) + (c * d)
    y.backward()
    assert y.item() == 41.0
    assert a.grad.item() == 25.0
    assert b.grad.item() == 19.0


def test_long_chain_has_no_recursion_and_is_freed():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_two_backward_calls_accumulate():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])


def test_retain_graph_allows_second_backward():
    x = mg.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0


def test_no_grad_records_nothing():
    x = mg.tensor(1.0, requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf and y.op == ""

    @mg.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert (x * 2).requires_grad  # mode restored


def test_enable_grad_inside_no_grad():
    x = mg.tensor(1.0, requires_grad=True)
    with mg.no_grad(), mg.enable_grad():
        y = x * 2
    assert y.requires_grad


def test_grad_mode_is_per_thread():
    x = mg.tensor(1.0, requires_grad=True)
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def worker():
        with mg.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    seen["main"] = (x * 2).requires_grad
    release.set()
    thread.join()
    assert seen["main"] is True


def test_detach_cuts_the_graph():
    x = mg.tensor(3.0, requires_grad=True)
    y = (x * x).detach() * x
    y.backward()
    assert x.grad.item() == 9.0  # d/dx (c * x) with c = x^2 held constant


def test_graph_records_op_and_parents():
    a = mg.tensor([1.0, 2.0], requires_grad=True, name="a")
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    c = a * b
    assert c.op == "multiply" and c.parents == (a, b) and not c.is_leaf
    assert a.is_leaf and a.op == "" and a.parents == ()


def test_unbroadcast_sums_broadcast_axes():
    x = mg.tensor(np.ones((3, 1)), requires_grad=True)
    y = mg.tensor(np.ones((2, 1, 4)), requires_grad=True)
    (x * y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((3, 1), 8.0))
    np.testing.assert_array_equal(y.grad.data, np.full((2, 1, 4), 3.0))


def test_wrong_gradient_shape_from_a_function_names_the_op():
    class Bad(mg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, grad, out, x):
            return grad[:1]

    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"bad: backward returned a gradient of shape \(1,\)"):
        Bad.apply(x).sum().backward()


def test_user_function_and_op_name():
    class Cube(mg.Function):
        def forward(self, x):
            return x**3

        def backward(self, grad, out, x):
            return grad * 3 * x * x

    x = mg.tensor(2.0, requires_grad=True)
    y = Cube.apply(x)
    assert y.op == "cube"
    y.backward()
    assert x.grad.item() == 12.0


def test_create_graph_gives_differentiable_gradients():
    x = mg.tensor(3.0, requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    first = x.grad
    assert first.item() == 27.0 and first.requires_grad
    x.grad = None
    first.backward()
    assert x.grad.item() == 18.0


def test_backward_rules_record_nothing_without_create_graph():
    x = mg.tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert not x.grad.requires_grad


def test_backward_errors():
    x = mg.tensor(np.ones((3, 2)), requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match=r"gradient can be omitted only for a one-element.*\(3, 2\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(2,\) but the tensor has shape \(3, 2\)"):
        y.backward(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor(1.0).backward()


def test_softmax_is_stable_with_floating_point_errors_raised():
    with np.errstate(all="raise"):
        out = mg.softmax(mg.tensor([1e4, 0.0, -1e4]))
        logp = mg.log_softmax(mg.tensor([1e4, 0.0, -1e4]))
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(logp.data, [0.0, -1e4, -2e4])


def test_logsumexp_value():
    assert mg.logsumexp(mg.tensor([1000.0, 1000.0])).item() == 1000.6931471805599


@pytest.mark.parametrize("value", [1e4, -1e4])
def test_sigmoid_and_tanh_are_finite_far_out(value):
    x = mg.tensor(value, requires_grad=True)
    y = mg.sigmoid(x) + mg.tanh(x)
    y.backward()
    assert np.isfinite(y.item()) and np.isfinite(x.grad.item())


def test_ties_and_kinks():
    x = mg.tensor([0.0, 1.0, -1.0], requires_grad=True)
    mg.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0])
    x.grad = None
    mg.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, -1.0])
    a = mg.tensor(2.0, requires_grad=True)
    b = mg.tensor(2.0, requires_grad=True)
    mg.maximum(a, b).backward()
    assert a.grad.item() == 0.5 and b.grad.item() == 0.5
    a.grad = b.grad = None
    mg.minimum(a, b).backward()
    assert a.grad.item() == 0.5 and b.grad.item() == 0.5
    m = mg.tensor([3.0, 1.0, 3.0, 3.0], requires_grad=True)
    m.max().backward()
    np.testing.assert_allclose(m.grad.data, [1 / 3, 0, 1 / 3, 1 / 3])
    c = mg.tensor([-1.0, 0.0, 1.0, 2.0], requires_grad=True)
    mg.clip(c, 0.0, 1.0).sum().backward()
    np.testing.assert_array_equal(c.grad.data, [0.0, 1.0, 1.0, 0.0])


def test_repeated_indices_accumulate():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_prod_with_zeros():
    x = mg.tensor([2.0, 0.0, 3.0], requires_grad=True)
    x.prod().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 6.0, 0.0])


def test_argmax_argmin_are_plain():
    x = mg.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    assert mg.argmax(x) == 2 and x.argmin() == 0
    np.testing.assert_array_equal(mg.argmax(x, axis=1), [1, 0])
    assert isinstance(mg.argmax(x), np.integer)


# -- one walk: explain runs the engine's backward (issue 13 item 3) -------------------


def test_explain_and_backward_give_the_same_in_place_error():
    from minigrad import viz

    def forward():
        x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
        y = x * 1.0
        out = (y * y).sum()
        y += 1.0  # between forward and explain
        return out

    with pytest.raises(RuntimeError) as by_explain:
        viz.backward_steps(forward())
    with pytest.raises(RuntimeError) as by_backward:
        forward().backward()
    assert "'multiply' needs input 0" in str(by_explain.value)
    assert str(by_explain.value) == str(by_backward.value)


def test_explain_after_backward_walks_the_freed_graph_without_running_backward_again():
    from minigrad import viz

    x = mg.tensor([1.0, -2.0], requires_grad=True, name="x")
    out = (x * x + x.tanh()).sum()
    expected = [s.op for s in viz.backward_steps(out)]
    out.backward()  # frees the graph
    steps = viz.backward_steps(out)  # the values are still there: explained, not freed again
    assert [s.op for s in steps] == expected
    leaf = [s for s in steps if s.is_leaf][0]
    np.testing.assert_allclose(leaf.upstream, x.grad.data)
    with pytest.raises(RuntimeError, match="already freed"):
        out.backward()


def test_explain_checks_the_seed_as_backward_does():
    from minigrad import viz

    y = mg.tensor([1.0, 2.0], requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"backward_steps: gradient has shape \(3,\)"):
        viz.backward_steps(y, gradient=np.ones(3))
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(3,\)"):
        y.backward(np.ones(3))


def test_explain_shows_the_broadcast_sums_the_engine_does():
    from minigrad import viz

    b = mg.tensor([[1.0], [2.0]], requires_grad=True, name="b")
    x = mg.tensor(np.ones((3, 2, 4)), name="x")
    out = (x * b).sum()
    steps = viz.backward_steps(out)
    (c,) = [c for s in steps for c in s.contributions if c.input is b]
    assert c.from_shape == (3, 2, 4) and c.summed_axes == (0, 2)
    out.backward()
    np.testing.assert_array_equal(c.grad, b.grad.data)
