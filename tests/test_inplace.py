"""In-place operations (t += x, t -= x, t *= x, t /= x, t[idx] = v): values, versions,
gradients through the history, and PyTorch's errors for saved tensors that changed."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

HERE = __file__.rsplit("/", 1)[-1]


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# -- values and versions -------------------------------------------------------


@pytest.mark.parametrize("symbol, ufunc", [("+=", np.add), ("-=", np.subtract),
                                           ("*=", np.multiply), ("/=", np.true_divide)])
def test_inplace_writes_into_the_same_array_and_bumps_the_version(symbol, ufunc):
    array = np.array([1.0, 2.0, 4.0])
    t = mg.from_numpy(array)  # shares memory with `array`
    before = t
    other = np.array([2.0, 4.0, 8.0])
    namespace = {"t": t, "o": mg.tensor(other)}
    exec(f"t {symbol} o", namespace)
    assert namespace["t"] is before
    assert t.data is array  # same array object: aliases see the change
    np.testing.assert_array_equal(array, ufunc([1.0, 2.0, 4.0], other))
    assert t._version == 1


def test_setitem_writes_and_bumps_the_version():
    t = mg.zeros((2, 3))
    t[0] = mg.tensor([1.0, 2.0, 3.0])
    t[1, 1:] = 7.0
    t[np.array([True, False]), 0] = -1.0
    np.testing.assert_array_equal(t.data, [[-1.0, 2.0, 3.0], [0.0, 7.0, 7.0]])
    assert t._version == 3


def test_float32_stays_float32():
    t = mg.tensor([1.0, 2.0], dtype=np.float32)
    t += mg.tensor([0.5, 0.5])  # float64 operand, stored into float32 as NumPy does
    t *= 2.0
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.array([3.0, 5.0], np.float32))


# -- gradients through the history ------------------------------------------------


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/="])
def test_gradients_through_inplace_ops_match_finite_differences(symbol):
    def f(x, z):
        y = x * x  # a non-leaf: in-place is allowed
        namespace = {"y": y, "z": z}
        exec(f"y {symbol} z", namespace)
        return namespace["y"].sin()

    rng = np.random.default_rng(0)
    x = leaf(rng.uniform(0.5, 2.0, (3, 2)))
    z = leaf(rng.uniform(0.5, 2.0, (2,)))  # broadcasts into y
    assert mg.gradcheck(f, [x, z])
    assert mg.gradgradcheck(f, [x, z])


def test_self_inplace_uses_the_old_value():
    x = leaf([1.5, -2.0])
    y = x * 1.0
    y *= y  # y = x^2
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, -4.0])
    x.grad = None
    y = x * 1.0
    y /= y  # 1: no dependence on x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0])


def test_setitem_gradient_reaches_history_and_value():
    def f(x, v):
        y = x.sin()  # sin reads its input, not its output: y may change
        y[1:, ::2] = v * v  # v broadcasts over the selected rows
        return y * x

    rng = np.random.default_rng(1)
    x = leaf(rng.normal(size=(3, 4)))
    v = leaf(rng.normal(size=(2,)))
    assert mg.gradcheck(f, [x, v])
    assert mg.gradgradcheck(f, [x, v])


def test_setitem_closed_form():
    x = leaf([1.0, 2.0, 3.0])
    v = mg.tensor(5.0, requires_grad=True)
    y = x * 2
    y[1:] = v * v
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 0.0])  # overwritten: no gradient
    assert v.grad.item() == 20.0  # d/dv of 2 * v^2


def test_consumers_before_the_change_see_the_old_version():
    """b used `a` before `a *= 3; a += z`: its gradient must go to the old a,
    not through the multiply by 3, and never reach z."""
    x = leaf([1.0, 2.0])
    z = leaf([3.0, 4.0])
    a = x * 2
    b = a.sum()
    a *= 3
    a += z
    (b + a.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [2.0 + 6.0, 2.0 + 6.0])
    np.testing.assert_array_equal(z.grad.data, [1.0, 1.0])


def test_versions_skip_changes_made_under_no_grad():
    x = leaf([1.0, 2.0])
    z = leaf([1.0, 1.0])
    a = x * 2
    s = a.sum()  # used version 0
    a += 1  # version 1, recorded
    with mg.no_grad():
        a += 1  # version 2, not recorded
    a *= z  # version 3, recorded
    (s + a.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [2.0 + 2.0, 2.0 + 2.0])
    np.testing.assert_array_equal(z.grad.data, [4.0, 6.0])  # a's values before a *= z


def test_constant_absorbs_a_tensor_that_requires_grad():
    w = leaf([1.0, 2.0])
    c = mg.zeros(2)
    c += w * w
    assert c.requires_grad and not c.is_leaf and c.op == "add"
    c.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])


def test_ops_that_read_no_values_allow_later_changes():
    x = leaf([-1.0, 2.0])
    y = x * 1.0
    total = y.sum() + y.relu().sum() + y.reshape(2, 1).sum() + y[0] + (-y).sum()
    y *= 10.0  # sum, relu, reshape, getitem and negative keep no values of y
    total.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0 + 0.0 + 1.0 + 1.0 - 1.0, 1.0 + 1.0 + 1.0 - 1.0])


# -- PyTorch's errors --------------------------------------------------------------


def test_saved_input_modified_names_the_op_and_the_line():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    product = y * y
    y += 1  # the line the error must name
    line = test_saved_input_modified_names_the_op_and_the_line.__code__.co_firstlineno + 4
    with pytest.raises(RuntimeError, match=rf"'multiply' needs input 0.*'\+=' at .*{HERE}:{line}"):
        product.sum().backward()


def test_saved_output_modified_names_the_op():
    x = leaf([1.0, 2.0])
    y = x.exp()  # exp's backward reads its output
    y += 1
    with pytest.raises(RuntimeError, match="'exp' needs its output"):
        y.sum().backward()


def test_input_of_op_that_saves_only_its_output_may_change():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    e = y.exp()
    y += 1
    e.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]))


def test_parameter_updated_under_no_grad_before_backward_is_an_error():
    w = leaf([1.0, 2.0])
    loss = (w * mg.tensor([3.0, 4.0])).sum()
    with mg.no_grad():
        w -= 0.1  # an optimizer step before backward: the graph is stale
    with pytest.raises(RuntimeError, match=r"'multiply' needs input 0.*'-='"):
        loss.backward()


def test_leaf_that_requires_grad_cannot_change_in_place_under_grad_mode():
    w = leaf([1.0, 2.0])
    for statement in ["w += 1", "w -= 1", "w *= 2", "w /= 2", "w[0] = 5.0"]:
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
            exec(statement, {"w": w})
    assert w._version == 0
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_leaf_changes_in_place_under_no_grad():
    w = leaf([1.0, 2.0])
    array = w.data
    with mg.no_grad():
        w -= mg.tensor([0.5, 0.5])
        w[1] = 9.0
    assert w.data is array and w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.data, [0.5, 9.0])
    assert w._version == 2


@pytest.mark.parametrize("make_view", [lambda y: y[0:2], lambda y: y.reshape(3, 1),
                                       lambda y: y.T])
def test_view_of_a_graph_tensor_cannot_change_in_place(make_view):
    x = leaf([1.0, 2.0, 3.0])
    view = make_view(x * 2)
    with pytest.raises(RuntimeError, match="view of the input of"):
        view += 1


def test_integer_tensor_cannot_hold_a_float_result():
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\+=: the result cannot be stored .*int64"):
        t += 0.5
    np.testing.assert_array_equal(t.data, [1, 2])


def test_inplace_never_changes_the_shape():
    t = mg.zeros(3)
    with pytest.raises(ValueError, match=r"\+=: a value of shape \(2, 3\) cannot be written"):
        t += mg.ones((2, 3))
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1.0
    with pytest.raises(ValueError, match=r"\*=: .*shape"):
        y *= mg.ones((2, 3))
    assert y._version == 0 and y.op == "multiply"  # nothing changed


def test_setitem_wrong_shape_is_a_clear_error():
    t = mg.zeros((2, 3))
    with pytest.raises(ValueError, match="setitem"):
        t[0] = mg.ones(4)
    with pytest.raises(IndexError):
        t[5] = 1.0


def test_optimizer_step_after_backward_works():
    optim = pytest.importorskip("minigrad.optim")
    w = leaf([1.0, -1.0])
    try:
        opt = optim.SGD([w], lr=0.1)
    except (NotImplementedError, AttributeError):
        pytest.skip("mg.optim not written yet")
    for _ in range(3):
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, np.array([1.0, -1.0]) * 0.8 ** 3)
