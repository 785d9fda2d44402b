"""The engine's fast paths give what the plain paths give.

First-order backward takes shortcuts: gradients are added in place into arrays
the engine allocated itself, broadcasting is undone on arrays directly, Python
numbers are wrapped once per (value, dtype), nodes are visited latest recorded
first (no counting pass), and the in-place version check runs only for nodes
recorded before the last in-place change. With ``create_graph=True`` none of these shortcuts is
taken (every step is a recorded op), so comparing the two is comparing the fast
path with the plain one.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import engine
from minigrad.tensor import _NUMBERS


def _random_graph(rng: np.random.Generator, leaves: list[mg.Tensor], n_ops: int) -> mg.Tensor:
    """A random DAG over ``leaves``: every node may be reused many times, so
    gradients fan in, and Add hands one gradient Tensor to both its inputs."""
    nodes = list(leaves)
    for _ in range(n_ops):
        a = nodes[rng.integers(len(nodes))]
        b = nodes[rng.integers(len(nodes))]
        kind = rng.integers(6)
        if kind == 0:
            out = a + b
        elif kind == 1:
            out = a * b
        elif kind == 2:
            out = a - b
        elif kind == 3:
            out = (a * 0.5).tanh()
        elif kind == 4:
            out = a + a  # one gradient Tensor sent twice to the same input
        else:
            out = a * 1.5 + b.sum(axis=0, keepdims=True)  # broadcasting both ways
        nodes.append(out)
    return sum(n.sum() for n in nodes[len(leaves):])


@pytest.mark.parametrize("seed", range(8))
def test_in_place_accumulation_matches_the_plain_path(seed: int) -> None:
    rng = np.random.default_rng(seed)
    leaves = [mg.tensor(rng.uniform(-1, 1, (3, 4)), requires_grad=True) for _ in range(3)]
    plain = mg.autograd.grad(_random_graph(np.random.default_rng(seed + 100), leaves, 25),
                             leaves, create_graph=True)
    for leaf in leaves:
        leaf.grad = None
    loss = _random_graph(np.random.default_rng(seed + 100), leaves, 25)
    loss.backward()
    for leaf, expected in zip(leaves, plain, strict=True):
        np.testing.assert_allclose(leaf.grad.data, expected.data, rtol=1e-12, atol=1e-12)


def test_random_graph_against_finite_differences() -> None:
    rng = np.random.default_rng(7)
    leaves = [mg.tensor(rng.uniform(-1, 1, (2, 3)), requires_grad=True) for _ in range(2)]

    def f(*xs: mg.Tensor) -> mg.Tensor:
        return _random_graph(np.random.default_rng(3), list(xs), 15)

    f(*leaves).backward()
    numerical = mg.numerical_grad(f, leaves)
    for leaf, expected in zip(leaves, numerical, strict=True):
        np.testing.assert_allclose(leaf.grad.data, expected, rtol=1e-6, atol=1e-6)


def test_shared_gradient_tensor_is_never_written_into() -> None:
    # u's gradient flows through Add to both inputs (the same Tensor twice), is
    # kept by retain_grad, and x receives three contributions: u.grad must stay 3.
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    u = x * 1.0
    u.retain_grad()
    s = u + u + u
    s.sum().backward()
    np.testing.assert_array_equal(u.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    assert not np.shares_memory(u.grad.data, x.grad.data)


def test_leaf_grads_do_not_alias_each_other_or_the_upstream_gradient() -> None:
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    upstream = mg.tensor([1.0, 1.0])
    (a + b).backward(upstream)
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0 and upstream.data[0] == 1.0


def test_second_backward_accumulates_into_grad() -> None:
    x = mg.tensor([1.0, -1.0], requires_grad=True)
    for _ in range(3):
        (x * x + x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 3 * 4 * x.data)


@pytest.mark.parametrize("in_shape, out_shape", [
    ((3, 1), (2, 3, 4)), ((4,), (2, 3, 4)), ((), (2, 3)), ((1, 1), (5, 2)), ((2, 1, 4), (2, 3, 4)),
])
def test_unbroadcast_fast_path_matches_the_op_path(in_shape: tuple, out_shape: tuple) -> None:
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal(in_shape), requires_grad=True)
    w = mg.tensor(rng.standard_normal(out_shape))
    (plain,) = mg.autograd.grad((x * w).sum(), [x], create_graph=True)
    (x * w).sum().backward()
    assert x.grad.shape == in_shape == plain.shape
    expected = np.broadcast_to(w.data, out_shape)
    lead = len(out_shape) - len(in_shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(in_shape) if s == 1)
    expected = expected.sum(axis=axes, keepdims=True).reshape(in_shape)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)
    np.testing.assert_allclose(plain.data, expected, rtol=1e-12)


def test_unbroadcast_still_rejects_a_wrong_gradient_shape() -> None:
    with pytest.raises(ValueError, match="unbroadcast-test: backward returned a gradient"):
        engine.unbroadcast(mg.ones((3, 2)), (3,), "unbroadcast-test", 0)


def test_number_constants_keep_dtype_sign_and_are_read_only() -> None:
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x * 0.5
    assert y.dtype == np.float32
    assert not y.parents[1].data.flags.writeable  # a shared constant cannot be changed
    z = mg.tensor([1.0]) * -0.0
    assert np.signbit(z.data[0])  # -0.0 is not mistaken for the cached 0.0
    z = mg.tensor([1.0]) * 0.0
    assert not np.signbit(z.data[0])


def test_nan_constants_are_not_cached() -> None:
    before = len(_NUMBERS)
    for _ in range(50):
        assert np.isnan((mg.tensor([1.0]) * float("nan")).item())
    assert len(_NUMBERS) <= before + 1


def test_one_root_feeding_another() -> None:
    # y2 depends on y1; both are roots. y1 must wait for y2's contribution.
    x = mg.tensor(2.0, requires_grad=True)
    y1 = x * x
    y2 = y1 * 3.0
    engine.backward([y2, y1], [mg.tensor(1.0), mg.tensor(1.0)])
    assert x.grad.item() == pytest.approx(3 * 4.0 + 4.0)


def test_deep_chain_has_no_recursion_and_the_right_gradient() -> None:
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.sum().backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 20_000, rel=1e-9)
    with pytest.raises(RuntimeError, match="already freed"):
        y.sum().backward()


def test_freed_nodes_keep_their_inputs() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    assert y.parents[0].parents[1] is x


def test_grad_mode_defaults_per_thread() -> None:
    seen = []
    with mg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not mg.is_grad_enabled()
    assert seen == [True] and mg.is_grad_enabled()


def test_no_grad_records_nothing() -> None:
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2.0 + 1.0
    assert not y.requires_grad and y._ctx is None


def test_backward_pauses_the_garbage_collector_and_restores_it() -> None:
    import gc

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert gc.isenabled()
    (x * x).sum().backward()
    assert gc.isenabled()
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        y.backward()  # an error inside the walk still re-enables the collector
    assert gc.isenabled()
    gc.disable()
    try:
        (x * x).sum().backward()
        assert not gc.isenabled()  # the user's choice is kept
    finally:
        gc.enable()


# -- the order of the walk: sequence numbers -----------------------------------


class _Logged(mg.Function):
    """Identity that logs when its backward rule runs."""

    log: list[str] = []

    def forward(self, x, tag):
        self.tag = tag
        return x.copy()

    def backward(self, grad, out, x):
        _Logged.log.append(self.tag)
        return grad


def test_each_node_runs_once_after_all_its_consumers() -> None:
    _Logged.log = []
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    a = _Logged.apply(x, tag="a")
    b = _Logged.apply(a * 2.0, tag="b")
    c = _Logged.apply(a + b, tag="c")      # a is used by b's branch and by c
    d = _Logged.apply(b * c, tag="d")
    e = _Logged.apply(a.exp(), tag="e")    # recorded last, reaches only a
    (d.sum() + e.sum()).backward(retain_graph=True)
    assert sorted(_Logged.log) == ["a", "b", "c", "d", "e"]  # each rule ran once
    order = {tag: i for i, tag in enumerate(_Logged.log)}
    assert order["d"] < order["c"] < order["b"] < order["a"] and order["e"] < order["a"]
    # d = b * (a + b) with b = 2a: d = 6 a^2, plus e = exp(a)
    np.testing.assert_allclose(x.grad.data, 12 * x.data + np.exp(x.data), rtol=1e-12)
    # toposort lists nodes in the order the engine ran them (then the leaves)
    _Logged.log = []
    x.grad = None
    root = d.sum() + e.sum()
    tags = [t._ctx.tag for t in engine.toposort([root]) if isinstance(t._ctx, _Logged)]
    root.backward()
    assert tags == _Logged.log


def test_nodes_recorded_in_other_threads_keep_a_valid_order() -> None:
    x = mg.tensor([0.5, -1.5], requires_grad=True)
    parts: list[mg.Tensor] = []

    def worker() -> None:
        h = x
        for _ in range(200):
            h = (h * 1.001).tanh()
        parts.append(h.sum())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = parts[0] + parts[1] + parts[2]
    (expected,) = mg.autograd.grad(total, [x], retain_graph=True, create_graph=True)
    total.backward()
    np.testing.assert_allclose(x.grad.data, expected.data, rtol=1e-12)


# -- in-place changes: checked only when one happened after the node ---------------


def test_an_optimizer_step_between_forward_and_backward_is_caught() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()  # multiply reads w in backward
    w.grad = mg.tensor([1.0, 1.0])
    mg.optim.SGD([w], lr=0.1).step()  # changes w in place
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_a_node_recorded_after_an_in_place_change_is_not_checked_against_it() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        w *= 2.0  # version 1, before anything used w
    loss = (w * 3.0).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [3.0, 3.0])


def test_backward_twice_raises_even_without_saved_state() -> None:
    x = mg.tensor([1.0], requires_grad=True)
    y = (x + 1.0).sum()  # add keeps nothing on self; freeing is the flag
    y.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        y.backward()


# -- small fast paths in the ops -------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda x: 2 * x, lambda x: x / 4, lambda x: 1 - x, lambda x: x * 3, lambda x: 0.5 + x])
def test_python_numbers_on_either_side_keep_dtype_and_are_shared(make) -> None:
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y, z = make(x), make(x)
    assert y.dtype == np.float32
    constant_y = next(p for p in y.parents if p is not x)
    constant_z = next(p for p in z.parents if p is not x)
    assert constant_y is constant_z and not constant_y.data.flags.writeable


def test_broadcasting_a_number_is_a_read_only_stride_zero_view() -> None:
    g = mg.tensor(2.5)
    out = mg.broadcast_to(g, (3, 4))
    np.testing.assert_array_equal(out.data, np.broadcast_to(2.5, (3, 4)))
    assert out.data.strides == (0, 0) and not out.data.flags.writeable
    with pytest.raises(ValueError, match="broadcast_to"):
        mg.broadcast_to(g, (3, -1))


@pytest.mark.parametrize("shape, name", [
    (shape, name) for shape in [(), (4,), (2, 3), (2, 1, 3)]
    for name in ["sum", "mean", "max", "var", "std", "logsumexp"]
    if (shape, name) != ((), "std")])  # the std of one number has no gradient (0 / 0)
def test_reducing_everything_matches_naming_every_axis(shape, name) -> None:
    rng = np.random.default_rng(4)
    data = rng.standard_normal(shape) + 3.0
    x = mg.tensor(data, requires_grad=True)
    y = mg.tensor(data, requires_grad=True)
    op = getattr(mg, name)
    a = op(x)
    b = op(y, axis=tuple(range(len(shape))))
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
    a.backward()
    b.backward()
    np.testing.assert_allclose(x.grad.data, y.grad.data, rtol=1e-12)


# -- the two implementations: plain engine.py and _fastpath.py ---------------------
# (imports here: this section is about the pairing; see the module docstring)

import contextlib  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402

from minigrad import _fastpath  # noqa: E402
from tests.op_table import OP_CASES, draw_inputs, fixed_shapes  # noqa: E402
from tests.strategies import build, examples, programs  # noqa: E402


@contextlib.contextmanager
def plain_engine():
    """engine.py's own apply, unbroadcast, _send and backward (what MINIGRAD_PLAIN=1 gives)."""
    _fastpath.uninstall()
    try:
        assert not _fastpath.installed()
        yield
    finally:
        _fastpath.install()


def _values_and_grads(make, arrays, create_graph=False):
    """out, and the gradient of a weighted sum of out w.r.t. each input (or the error)."""
    inputs = [mg.tensor(a.copy(), requires_grad=True) for a in arrays]
    try:
        out = make(*inputs)
        weights = np.linspace(0.5, 1.5, out.size).reshape(out.shape) if out.size else 1.0
        loss = (out * weights).sum()
        if not loss.requires_grad:
            return [out.data], []
        grads = mg.autograd.grad(loss, inputs, allow_unused=True, create_graph=create_graph)
    except Exception as exc:  # noqa: BLE001  (both paths must fail alike)
        return type(exc), str(exc)
    return [out.data], [None if g is None else g.data for g in grads]


def _assert_same(fast, plain, what):
    if isinstance(fast[0], type):
        assert fast == plain, what
        return
    for a, b in zip(fast[0] + fast[1], plain[0] + plain[1], strict=True):
        if a is None or b is None:
            assert a is None and b is None, what
            continue
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_array_equal(a, b, err_msg=what)  # exactly: the same arithmetic


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.name)
def test_the_fast_and_plain_engines_agree_on_every_op(case) -> None:
    rng = np.random.default_rng(0)
    arrays = draw_inputs(rng, case, fixed_shapes(case))
    for kwargs in case.kwargs:
        def make(*xs, kwargs=kwargs):
            return case.fn(*xs, **kwargs)
        for create_graph in (False, True):
            fast = _values_and_grads(make, arrays, create_graph)
            with plain_engine():
                plain = _values_and_grads(make, arrays, create_graph)
            _assert_same(fast, plain, f"{case.name} {kwargs} create_graph={create_graph}")


@settings(max_examples=examples(60), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs())
def test_the_fast_and_plain_engines_agree_on_random_graphs(program) -> None:
    arrays = [*program.leaves, program.matrix]

    def make(*xs):
        return build(program, list(xs[:-1]), xs[-1])

    fast = _values_and_grads(make, arrays)
    with plain_engine():
        plain = _values_and_grads(make, arrays)
    _assert_same(fast, plain, repr(program))


def test_minigrad_plain_environment_variable_keeps_the_plain_engine() -> None:
    import subprocess
    import sys

    code = ("import minigrad as mg, minigrad._fastpath as f; "
            "assert not f.installed(); assert mg.Function.apply.__func__.__module__ == "
            "'minigrad.engine'; x = mg.tensor(2.0, requires_grad=True); (x * x).backward(); "
            "assert x.grad.item() == 4.0")
    subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ,
                                                     "MINIGRAD_PLAIN": "1"}, check=True)
    assert _fastpath.installed()
