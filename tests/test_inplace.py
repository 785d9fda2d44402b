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


# -- issue 16 item 1: views and detached tensors share their base's version -----------


def _line_after(func, offset):
    return func.__code__.co_firstlineno + offset


@pytest.mark.parametrize("alias", [lambda t: t[0:2], lambda t: t.T, lambda t: t.transpose(),
                                   lambda t: t.reshape(-1), lambda t: t.detach(),
                                   lambda t: t.detach()[1:], lambda t: t[None]],
                         ids=["slice", "T", "transpose", "reshape", "detach", "detach-slice",
                              "newaxis"])
def test_a_change_through_an_alias_of_a_saved_tensor_raises(alias):
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    loss = (w * w).sum()  # multiply saves w
    with mg.no_grad():
        a = alias(w)
        a += 1.0  # reaches w's memory
    with pytest.raises(RuntimeError, match=r"'multiply' needs input 0 .*modified in place"):
        loss.backward()


@pytest.mark.parametrize("alias", [lambda t: t[0:1], lambda t: t.T, lambda t: t.reshape(-1)])
def test_a_change_to_the_base_of_a_saved_view_raises(alias):
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    v = alias(w)
    loss = (v * v).sum()  # multiply saves the view
    with mg.no_grad():
        w -= 0.5
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_matmul_with_a_transposed_weight_then_an_optimizer_step_raises_naming_the_step():
    x = mg.tensor(np.ones((3, 2)))
    W = leaf([[1.0, 2.0], [3.0, 4.0]])
    loss = (x @ W.T).sum()
    W.grad = mg.ones_like(W)
    opt = mg.optim.SGD([W], lr=0.1)
    opt.step()  # the line the error must name
    line = _line_after(test_matmul_with_a_transposed_weight_then_an_optimizer_step_raises_naming_the_step, 6)
    with pytest.raises(RuntimeError, match=rf"'matmul' needs input 1.*'SGD.step' at .*{HERE}:{line}"):
        loss.backward()


def test_linear_on_a_3d_input_then_an_optimizer_step_raises():
    layer = mg.nn.Linear(2, 3, rng=0) if "rng" in mg.nn.Linear.__init__.__code__.co_varnames \
        else mg.nn.Linear(2, 3)
    x = mg.tensor(np.ones((4, 5, 2)))
    loss = layer(x).sum()
    for p in layer.parameters():
        p.grad = mg.ones_like(p)
    mg.optim.SGD(layer.parameters(), lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_load_state_dict_between_forward_and_backward_raises_naming_it():
    layer = mg.nn.Linear(2, 2)
    x = mg.tensor(np.ones((4, 5, 2)))
    loss = (layer(x) * layer(x)).sum()
    layer.load_state_dict({k: np.asarray(v) * 2 for k, v in layer.state_dict().items()})
    with pytest.raises(RuntimeError, match="load_state_dict"):
        loss.backward()


def test_a_view_used_after_a_recorded_change_of_its_base_raises():
    """v = y[0:2]; y *= y: v's values are now y_old^2, which v's node (getitem of
    y_old) does not describe; PyTorch replays the view, minigrad refuses."""
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1.0
    v = y[0:2]
    y *= y
    with pytest.raises(RuntimeError, match="through a view or alias"):
        (v * 3.0).sum().backward()


def test_a_view_used_before_the_change_of_its_base_keeps_its_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1.0
    s = y[0:2].sum()  # used before the change: reads nothing in backward
    y *= 2.0
    (s + y.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0, 2.0])


def test_views_and_detach_share_one_version_counter():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    views = [x[0], x.T, x.reshape(4), x.detach(), x.detach()[1:], mg.transpose(x, (1, 0))]
    with mg.no_grad():
        x += 1.0
    assert x._version == 1 and all(v._version == 1 for v in views)
    with mg.no_grad():
        views[3][0, 0] = 7.0
    assert x._version == 2 and views[0]._version == 2
    fresh = x * 2.0  # a new array: its own counter
    assert fresh._version == 0


def test_mark_modified_is_the_one_protocol_and_names_the_line():
    from minigrad.versions import mark_modified

    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data[0] = 5.0
    mark_modified(w, where="a custom update")  # the line the error must name
    line = _line_after(test_mark_modified_is_the_one_protocol_and_names_the_line, 6)
    with pytest.raises(RuntimeError, match=rf"'a custom update' at .*{HERE}:{line}"):
        loss.backward()


def test_alias_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    for make in (lambda t: t[0:1], lambda t: t.T, lambda t: t.reshape(-1), lambda t: t.detach()):
        w = leaf([[1.0, 2.0], [3.0, 4.0]])
        loss = (w * w).sum()
        with mg.no_grad():
            a = make(w)
            a += 1.0
        tw = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
        tloss = (tw * tw).sum()
        with torch.no_grad():
            ta = make(tw)
            ta += 1.0
        with pytest.raises(RuntimeError):
            tloss.backward()
        with pytest.raises(RuntimeError):
            loss.backward()


def test_setitem_of_a_grad_value_into_an_integer_tensor_is_a_dtype_error():
    t = mg.tensor([1, 2, 3])
    v = mg.tensor(1.5, requires_grad=True)
    with pytest.raises(TypeError, match=r"setitem: cannot write a value that requires grad "
                                        r"into a tensor of dtype int64.*astype"):
        t[0] = v
    np.testing.assert_array_equal(t.data, [1, 2, 3])
    t[0] = v.detach()  # no gradient wanted: NumPy's cast, as before
    assert t.data[0] == 1
