"""mg.compile: compiled against eager execution -- values and gradients -- over the op
table, random DAGs and models; retracing, captured tensors, trace-unsafe code, check=True,
and the generated code itself (a golden test)."""

from __future__ import annotations

import linecache
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.op_table import OP_CASES, OpCase, draw_inputs, draw_shapes
from tests.strategies import Program, build, programs

# the class mg.compile raises (pytest's importlib mode may import compiler.py a second time)
TraceError = mg.compile.__globals__["TraceError"]
ROWS = [pytest.param(case, kwargs, id=f"{case.name}-{i}")
        for case in OP_CASES for i, kwargs in enumerate(case.kwargs)]
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def _run(fn, arrays, dtype, seed, requires_grad=True):
    """fn on fresh tensors: output array and the gradients of sum(out * weights)."""
    tensors = [mg.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays]
    out = fn(*tensors)
    weights = np.random.default_rng(seed).normal(size=out.shape).astype(dtype)
    if out.requires_grad:
        out.backward(mg.tensor(weights, dtype=dtype))
    return out, [t.grad for t in tensors]


def assert_same(compiled_fn, fn, arrays, dtype=np.float64, seed=0):
    tol = TOL[dtype]
    got, got_grads = _run(compiled_fn, arrays, dtype, seed)
    want, want_grads = _run(fn, arrays, dtype, seed)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.data, want.data, rtol=tol, atol=tol)
    for g, w in zip(got_grads, want_grads):
        if w is None:
            assert g is None or not np.any(g.data)
        else:
            assert g is not None and g.dtype == w.dtype
            np.testing.assert_allclose(g.data, w.data, rtol=tol, atol=tol)
    return got


# ---------------------------------------------------------------------------
# The op table, float64 and float32, two calls (the second runs the generated code
# on new values: nothing from the first call's data may be baked in)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_op_table_compiled_matches_eager(case: OpCase, kwargs: dict, dtype, data):
    shapes = data.draw(draw_shapes(case), label="shapes")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")

    def fn(*xs):
        return case.fn(*xs, **kwargs)

    compiled = mg.compile(fn)
    for call in range(2):
        arrays = draw_inputs(np.random.default_rng([seed, call]), case, shapes)
        out = assert_same(compiled, fn, arrays, dtype, seed + call)
        assert out.op == ("compiled" if out.requires_grad else "")
    assert compiled.traces == 1  # the second call ran the code traced on the first call's data


# ---------------------------------------------------------------------------
# Random DAGs (tests/strategies.py): shared subexpressions, repeated indices, reductions
# ---------------------------------------------------------------------------

_INPLACE_STEPS = {"iadd", "isub", "imul", "idiv", "setitem"}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program=programs())
def test_random_dags_compiled_match_eager(program: Program):
    arrays = [*program.leaves, program.matrix]

    def fn(*tensors):
        return build(program, list(tensors[:-1]), tensors[-1])

    compiled = mg.compile(fn)
    if any(step.op in _INPLACE_STEPS for step in program.steps):
        with pytest.raises(TraceError, match="in-place"):
            compiled(*[mg.tensor(a, requires_grad=True) for a in arrays])
        return
    with warnings.catch_warnings():
        # the fuzzer's `where` takes a fixed random bool array (the same in both
        # calls), which the baked-mask warning cannot tell from x.data > 0
        warnings.filterwarnings("ignore", "compile: .* bakes in the boolean", RuntimeWarning)
        for call in range(2):
            shifted = [a + 0.1 * call for a in arrays]
            assert_same(compiled, fn, shifted, seed=call)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def _seed_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * rng.normal(size=50)
    return X, y


def test_linear_regression_training_matches_eager():
    X, y = mg.tensor(_seed_data()[0]), mg.tensor(_seed_data()[1])

    def loss_fn(w, b):
        r = X @ w + b - y
        return (r * r).mean()

    step = mg.compile(loss_fn)
    params = {}
    for name, f in (("eager", loss_fn), ("compiled", step)):
        w, b = mg.zeros(3, requires_grad=True), mg.zeros((), requires_grad=True)
        opt = mg.optim.SGD([w, b], lr=0.1)
        for _ in range(50):
            opt.zero_grad()
            f(w, b).backward()
            opt.step()
        params[name] = (w.data.copy(), b.data.copy())
    for got, want in zip(params["compiled"], params["eager"]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert step.traces == 1


def _mlp_params(rng, sizes, dtype=np.float64):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(mg.tensor(rng.normal(size=(fan_in, fan_out)) / math.sqrt(fan_in),
                                dtype=dtype, requires_grad=True))
        params.append(mg.zeros(fan_out, dtype=dtype, requires_grad=True))
    return params


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mlp_cross_entropy_50_steps_matches_eager(dtype):
    rng = np.random.default_rng(1)
    xs = [mg.tensor(rng.normal(size=(16, 4)), dtype=dtype) for _ in range(3)]
    labels = [rng.integers(0, 3, 16) for _ in range(3)]

    def loss_fn(params, x, t):
        W1, b1, W2, b2 = params
        h = (x @ W1 + b1).tanh()
        return mg.losses.cross_entropy(h @ W2 + b2, t)

    step = mg.compile(loss_fn)
    final = {}
    for name, f in (("eager", loss_fn), ("compiled", step)):
        params = _mlp_params(np.random.default_rng(2), (4, 8, 3), dtype)
        opt = mg.optim.SGD(params, lr=0.1)
        for i in range(50):
            opt.zero_grad()
            f(params, xs[i % 3], mg.tensor(labels[i % 3])).backward()
            opt.step()
        final[name] = [p.data.copy() for p in params]
    tol = TOL[dtype] * (1 if dtype == np.float64 else 10)
    for got, want in zip(final["compiled"], final["eager"]):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert step.traces == 1


def test_moons_mlp_relu_hinge_matches_eager_as_parameters_change():
    from benchmarks.workloads import moons_data, moons_loss_minigrad

    data = moons_data(40, 8)
    X, y = mg.tensor(data["X"]), mg.tensor(data["y"])

    def loss_fn(*params):
        return moons_loss_minigrad(list(params), X, y, data["alpha"])

    step = mg.compile(loss_fn)
    results = {}
    for name, f in (("eager", loss_fn), ("compiled", step)):
        params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
        opt = mg.optim.SGD(params, lr=0.05)
        for _ in range(20):  # relu masks and hinge margins change as the parameters move
            opt.zero_grad()
            f(*params).backward()
            opt.step()
        results[name] = [p.data.copy() for p in params]
    for got, want in zip(results["compiled"], results["eager"]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _layers():
    """(layer, input shape or an integer input) for every nn layer there is."""
    rng = np.random.default_rng(3)
    nn = mg.nn
    cases = [(lambda: nn.Linear(4, 3, rng=rng), (6, 4)),
             (lambda: nn.MLP([4, 5, 3], rng=rng), (6, 4)),
             (lambda: nn.Sequential(nn.Linear(4, 5, rng=rng), nn.Tanh(),
                                    nn.Linear(5, 3, rng=rng), nn.Sigmoid()), (6, 4)),
             (lambda: nn.Sequential(nn.Linear(4, 3, rng=rng), nn.ReLU()), (6, 4)),
             (lambda: nn.Sequential(nn.Linear(4, 4, rng=rng), nn.LayerNorm(4)), (6, 4)),
             (lambda: nn.Sequential(nn.Linear(4, 4, rng=rng), nn.BatchNorm1d(4).eval()), (6, 4)),
             (lambda: nn.Sequential(nn.Linear(4, 4, rng=rng), nn.Dropout(0.5).eval()), (6, 4)),
             pytest.param(lambda: nn.Sequential(nn.Linear(4, 4, rng=rng), nn.GELU()), (6, 4),
                          marks=_DISCLOSES),
             (lambda: nn.Sequential(nn.Linear(4, 4, rng=rng), nn.LeakyReLU()), (6, 4)),
             (lambda: nn.Sequential(nn.Linear(4, 4, rng=rng), nn.SiLU()), (6, 4)),
             pytest.param(lambda: nn.Sequential(nn.Linear(4, 4, rng=rng), nn.Softplus()),
                          (6, 4), marks=_DISCLOSES),
             (lambda: nn.Conv1d(2, 3, 3), (2, 2, 8)),
             (lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.Flatten()),
              (2, 2, 6, 6)),
             (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2)),
              (2, 2, 6, 6)),
             (lambda: nn.Embedding(10, 4), "indices"),
             pytest.param(lambda: nn.TransformerBlock(8, 2), (2, 5, 8), marks=_DISCLOSES)]
    params = []
    for case in cases:
        marks = ()
        if isinstance(case, type(pytest.param())):
            case, marks = case.values, case.marks
        make, shape = case
        try:
            layer = make()
        except (AttributeError, TypeError):  # a layer this version does not have
            continue
        name = "-".join(type(m).__name__ for m in getattr(layer, "layers", [layer]))
        params.append(pytest.param(layer, shape, id=name, marks=marks))
    return params


# GELU's backward (|x| > 1e-100) and softplus (beta x > threshold) compute a mask with
# NumPy on x.data: right for these inputs, but baked in; the trace warns about it.
_DISCLOSES = pytest.mark.filterwarnings("ignore:compile.*bakes in:RuntimeWarning")


def test_nn_activation_masks_are_ops_not_baked():
    # softplus / leaky_relu / elu compute their masks with comparison ops (the nn owner's
    # fix), so the trace bakes no boolean array and warns about none (filterwarnings=error)
    layer = mg.nn.Sequential(mg.nn.Linear(4, 4, rng=0), mg.nn.Softplus(), mg.nn.LeakyReLU())
    compiled = mg.compile(layer)
    compiled(mg.tensor(np.ones((6, 4))))
    x = mg.tensor(-np.ones((6, 4)))
    np.testing.assert_allclose(compiled(x).data, layer(x).data)


@pytest.mark.parametrize(("layer", "shape"), _layers())
def test_nn_layers_compiled_match_eager(layer, shape):
    compiled = mg.compile(layer)
    rng = np.random.default_rng(4)
    for _ in range(2):
        x = rng.integers(0, 10, 6) if shape == "indices" else rng.normal(size=shape)
        got = compiled(mg.tensor(x))
        got_grads = _grads(layer, got)
        want = layer(mg.tensor(x))
        want_grads = _grads(layer, want)
        np.testing.assert_allclose(got.data, want.data, rtol=1e-12, atol=1e-12)
        for g, w in zip(got_grads, want_grads):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    assert compiled.traces == 1


def _grads(module, out):
    for p in module.parameters():
        p.grad = None
    (out * out).sum().backward()
    return [p.grad.data.copy() for p in module.parameters()]


# ---------------------------------------------------------------------------
# Calls: retracing, captured tensors, results, grad modes
# ---------------------------------------------------------------------------


def test_retraces_on_shape_dtype_requires_grad_and_python_value():
    f = mg.compile(lambda x, k: (x * k).sum())
    f(mg.ones(3), 2.0)
    f(mg.ones(3), 2.0)
    assert f.traces == 1
    f(mg.ones(4), 2.0)  # shape
    f(mg.ones(4, dtype=np.float32), 2.0)  # dtype
    f(mg.ones(4, requires_grad=True), 2.0)  # requires_grad
    out = f(mg.ones(4, requires_grad=True), 3.0)  # a Python number is baked in
    assert f.traces == 5
    assert out.item() == 12.0


def test_warns_after_eight_traces_naming_the_change():
    f = mg.compile(lambda x: x.sum())
    for n in range(1, 9):  # eight traces: no warning (pytest makes warnings errors)
        f(mg.ones(n))
    with pytest.warns(RuntimeWarning, match=r"traced 9 times.*x: shape \(8,\) float64 -> "
                                            r"shape \(9,\) float64"):
        f(mg.ones(9))


def test_captured_parameters_are_read_at_call_time_and_receive_gradients():
    model = mg.nn.Linear(3, 1, rng=0)
    step = mg.compile(lambda x: (model(x) ** 2).mean())
    opt = mg.optim.SGD(model.parameters(), lr=0.1)
    x = mg.tensor(np.random.default_rng(5).normal(size=(8, 3)))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = step(x)
        loss.backward()
        opt.step()  # in place: the next call must see the new weights
        losses.append(loss.item())
        want = (model(x) ** 2).mean().item()
    assert losses[-1] < losses[0]
    assert step.traces == 1
    assert all(p.grad is not None for p in model.parameters())
    assert set(loss._ctx.inputs[1:]) >= set()  # inputs: the argument, then the parameters
    assert len(loss._ctx.inputs) == 1 + len(model.parameters())
    assert want == pytest.approx((model(x) ** 2).mean().item())


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_float_constants_are_spelled_so_they_evaluate(value):
    f = mg.compile(lambda x: mg.pad(x, 1, constant_values=value) * (x.sum() * value))
    x = mg.tensor([1.0, 2.0])
    np.testing.assert_array_equal(f(x).data, (mg.pad(x, 1, constant_values=value) *
                                              (x.sum() * value)).data)


def test_float32_constants_round_trip_exactly():
    c = np.float32(0.1)  # not a float64 value's spelling: repr(float(c)) is exact
    f = mg.compile(lambda x: (x * c).sum() + mg.pad(x, 1, constant_values=c))
    for dtype in (np.float64, np.float32):
        x = mg.tensor(np.full(3, 3.0, dtype=dtype))
        got, want = f(x).data, ((x * c).sum() + mg.pad(x, 1, constant_values=c)).data
        assert got.dtype == want.dtype
        assert got.tobytes() == want.tobytes()
    assert repr(float(c)) in f.code


def test_train_and_eval_modes_are_part_of_the_cache_key():
    bn, ref = mg.nn.BatchNorm1d(2), mg.nn.BatchNorm1d(2)
    cb = mg.compile(bn)
    x = mg.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    for mode in ("train", "eval", "eval", "train", "eval"):
        getattr(bn, mode)(), getattr(ref, mode)()
        np.testing.assert_allclose(cb(x).data, ref(x).data, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.data, ref.running_var.data, rtol=1e-12)
    assert cb.traces == 2  # one per mode: train() and eval() again reuse them


def test_dropout_in_eval_mode_is_the_identity_compiled():
    d = mg.nn.Dropout(0.5, rng=0)
    cd = mg.compile(d)
    assert set(cd(mg.ones(1000)).data) == {0.0, 2.0}
    d.eval()
    np.testing.assert_array_equal(cd(mg.ones(1000)).data, np.ones(1000))
    d.train()
    assert set(cd(mg.ones(1000)).data) == {0.0, 2.0}
    model = mg.nn.Sequential(mg.nn.Linear(3, 3, rng=0), mg.nn.Dropout(0.9, rng=0))
    f = mg.compile(lambda x: model(x))  # a sub-module of a captured Module counts too
    x = mg.ones((50, 3))
    f(x)
    model.layers[1].eval()
    np.testing.assert_array_equal(f(x).data, model(x).data)
    assert f.traces == 2


def test_the_retrace_warning_names_a_mode_change():
    bn = mg.nn.BatchNorm1d(2)
    f = mg.compile(bn)
    for n in range(2, 10):
        f(mg.ones((n, 2)))
    bn.eval()
    with pytest.warns(RuntimeWarning, match=r"traced 9 times.*BatchNorm1d mode: train -> eval"):
        f(mg.ones((9, 2)))


_W = mg.tensor([[1.0, 2.0]], requires_grad=True)


def test_rebound_captured_names_are_read_at_call_time():
    global _W
    x = mg.tensor([[1.0, 1.0]])
    g = mg.compile(lambda x: x @ _W.T)  # a global
    assert g(x).item() == 3.0
    _W = mg.tensor([[10.0, 20.0]], requires_grad=True)
    out = g(x)
    assert out.item() == 30.0 and g.traces == 1
    out.backward()
    np.testing.assert_array_equal(_W.grad.data, [[1.0, 1.0]])  # the new W gets the gradient
    _W = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)  # another shape: a retrace
    np.testing.assert_array_equal(g(x).data, [[3.0, 7.0]])
    assert g.traces == 2

    w = mg.tensor([1.0, 2.0])
    h = mg.compile(lambda x: (x * w).sum())  # a closure variable
    h(x)
    w = mg.tensor([5.0, 6.0])
    assert h(x).item() == 11.0

    layer = mg.nn.Linear(2, 1, rng=0)
    k = mg.compile(layer)  # a Module attribute
    k(x)
    layer.weight = mg.tensor([[1.0, -1.0]], requires_grad=True)
    np.testing.assert_allclose(k(x).data, layer(x).data)
    assert k.traces == 1


def test_non_leaf_arguments_pass_gradients_back_to_the_eager_graph():
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    f = mg.compile(lambda h: (h.tanh() * h).sum())
    f(a * 2.0).backward()
    got = a.grad.data.copy()
    a.grad = None
    h = a * 2.0
    (h.tanh() * h).sum().backward()
    np.testing.assert_allclose(got, a.grad.data, rtol=1e-12)


def test_several_outputs_dicts_and_python_numbers():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    f = mg.compile(lambda x: {"a": (x * w).sum(), "b": [w * w, 7], "x": x})
    x = mg.tensor([3.0, 4.0])
    out = f(x)
    assert out["b"][1] == 7 and out["x"] is x
    (out["a"] + out["b"][0].sum()).backward()
    np.testing.assert_allclose(w.grad.data, [3.0 + 2.0, 4.0 + 4.0])


def test_no_grad_calls_record_nothing_and_grads_accumulate():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    f = mg.compile(lambda x: (x * w).sum())
    with mg.no_grad():
        out = f(mg.tensor([1.0, 1.0]))
    assert not out.requires_grad and out.item() == 3.0
    f(mg.tensor([1.0, 1.0])).backward()
    f(mg.tensor([2.0, 2.0])).backward()
    np.testing.assert_allclose(w.grad.data, [3.0, 3.0])


def test_numpy_array_arguments_and_keyword_arguments():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    f = mg.compile(lambda x, scale=1.0: (x * w).sum() * scale)
    assert f(np.array([1.0, 1.0]), scale=2.0).item() == 6.0
    assert f(np.array([2.0, 1.0]), scale=2.0).item() == 8.0
    assert f.traces == 1


def test_create_graph_through_a_compiled_node_raises():
    x = mg.tensor(1.5, requires_grad=True)
    y = mg.compile(lambda x: x ** 3)(x)
    with pytest.raises(RuntimeError, match="create_graph=True.*without mg.compile"):
        y.backward(create_graph=True)


def test_dask_arrays_run_eagerly():
    da = pytest.importorskip("dask.array")
    f = mg.compile(lambda x: (x * 2.0).sum())
    out = f(mg.tensor(da.ones(4, chunks=2)))
    assert f.traces == 0 and float(out.data.compute()) == 8.0


def test_a_compiled_function_called_inside_a_trace_is_inlined():
    inner = mg.compile(lambda x: x.tanh())
    outer = mg.compile(lambda x: inner(x).sum())
    x = mg.tensor([0.5, -1.0], requires_grad=True)
    outer(x).backward()
    np.testing.assert_allclose(x.grad.data, 1 - np.tanh([0.5, -1.0]) ** 2)
    assert "np.tanh" in outer.code


# ---------------------------------------------------------------------------
# What cannot be traced, and check=True
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("convert", [
    lambda t: t.sum().item(), lambda t: float(t.sum()), lambda t: int(t.sum()),
    lambda t: bool(t.sum() > 0), lambda t: t.tolist(), lambda t: t.numpy(),
    lambda t: list(t), lambda t: np.asarray(t)],
    ids=["item", "float", "int", "bool", "tolist", "numpy", "iter", "asarray"])
def test_trace_unsafe_conversions_raise_naming_the_line(convert):
    def fn(x):
        y = x * 2.0
        convert(y)
        return y.sum()

    with pytest.raises(TraceError, match=r"of a traced Tensor at .*test_compile\.py:\d+ .*argument"):
        mg.compile(fn)(mg.tensor([1.0, 2.0], requires_grad=True))
    assert mg.tensor([1.0]).item() == 1.0  # outside the trace all is as before


def test_check_catches_a_baked_in_constant():
    def fn(x):
        mask = mg.tensor(x.data > 0)  # NumPy on .data: the trace keeps this call's mask
        return (x * mask).sum()

    compiled = mg.compile(fn, check=True)
    with pytest.warns(RuntimeWarning, match="bakes in the boolean array.*const.*x > 0"):
        compiled(mg.tensor([1.0, -1.0, 2.0], requires_grad=True))
    assert list(compiled.constants) == ["const"]
    with pytest.raises(TraceError, match="output 0 differs.*const"):
        compiled(mg.tensor([-1.0, 1.0, 2.0], requires_grad=True))


def test_check_compares_gradients_too():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    f = mg.compile(lambda x: (x * w).tanh().sum(), check=True)
    for _ in range(2):
        f(mg.tensor([0.5, 0.25])).backward()
    np.testing.assert_allclose(w.grad.data, 2 * 0.5 * (1 - np.tanh([0.5, 0.5]) ** 2) *
                               np.array([1.0, 0.5]))


# ---------------------------------------------------------------------------
# The generated code
# ---------------------------------------------------------------------------

GOLDEN = '''
def forward(x, w, b):
    matmul = x @ w
    add = matmul + b
    tanh = np.tanh(add)
    return (tanh,), (tanh, x)


def backward(saved, d_tanh):
    tanh, x = saved
    # tanh = np.tanh(add):  d out/dx = 1 - tanh(x)^2 = 1 - out^2
    t1 = tanh * tanh
    t2 = 1.0 - t1
    d_add = d_tanh * t2
    # add = matmul + b:  d out/dx = 1, d out/dy = 1
    # unbroadcast: b (4,) was broadcast to (3, 4): sum over axes (0,)
    d_b = d_add.sum(axis=0)
    # matmul = x @ w:  d out/da = grad @ b^T, d out/db = a^T @ grad
    t3 = x.T
    d_w = t3 @ d_add
    return (None, d_w, d_b)
'''


def test_golden_code_of_tanh_x_at_w_plus_b():
    f = mg.compile(lambda x, w, b: mg.tanh(x @ w + b))
    rng = np.random.default_rng(0)
    f(mg.tensor(rng.normal(size=(3, 2))), mg.tensor(rng.normal(size=(2, 4)), requires_grad=True),
      mg.tensor(rng.normal(size=4), requires_grad=True))
    code = f.code
    assert code.startswith("# mg.compile: <lambda>, trace 1")
    assert "# inputs: x (3, 2) float64, w (2, 4) float64, b (4,) float64" in code
    assert code.split("\n\n\n", 1)[1] == GOLDEN.lstrip("\n")


def test_code_uses_tensor_and_module_names_and_no_minigrad_calls():
    model = mg.nn.Linear(2, 1, rng=0)
    x = mg.tensor([[1.0, 2.0]], name="inputs")
    f = mg.compile(lambda inputs: model(inputs).sum())
    f(x)
    assert "def forward(inputs, model_weight, model_bias):" in f.code  # closure name + path
    assert "d_model_weight" in f.code and "d_model_bias" in f.code
    body = f.code.split("\n", 1)[1]
    assert "mg." not in body and "minigrad" not in body


def test_generated_lines_show_in_tracebacks():
    f = mg.compile(lambda x: mg.log(x).sum())
    f(mg.tensor([1.0, 2.0], requires_grad=True))
    program = f.program
    lines = linecache.getlines(program.filename)
    assert "".join(lines) == f.code
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError) as info:
            f(mg.tensor([0.0, 2.0], requires_grad=True))
    assert "np.log(x)" in "".join(info.value.__traceback__.tb_next and
                                  __import__("traceback").format_tb(info.value.__traceback__))


def test_trace_returns_the_program_without_running():
    f = mg.compile(lambda x: (x * x).sum())
    program = f.trace(mg.ones(3, requires_grad=True))
    assert "def backward" in program.code and f.traces == 1


def test_code_before_any_call_says_what_to_do():
    with pytest.raises(RuntimeError, match="not been called"):
        _ = mg.compile(lambda x: x).code


# ---------------------------------------------------------------------------
# The passes, one by one (optimize=False shows the raw trace)
# ---------------------------------------------------------------------------


def _code(fn, *args, optimize=True):
    """The generated code without its comments."""
    f = mg.compile(fn, optimize=optimize)
    f(*args)
    return "\n".join(line for line in f.code.splitlines() if not line.lstrip().startswith("#"))


def test_simplify_removes_multiply_by_one_add_zero_and_double_negation():
    x = mg.tensor([1.0, 2.0], requires_grad=True)

    def fn(x):
        return (-(-(x * 1.0 + 0.0))).sum()  # noqa: B002  (double negation, on purpose)

    raw, short = _code(fn, x, optimize=False), _code(fn, x)
    assert "* 1.0" in raw and "+ 0.0" in raw and raw.count("-") > short.count("-")
    assert "* 1.0" not in short and "+ 0.0" not in short and "= -" not in short
    assert_same(mg.compile(fn), fn, [np.array([1.0, 2.0])])


def test_common_subexpressions_are_merged():
    def fn(x):
        return (x.tanh() * x.tanh()).sum()

    x = mg.tensor([0.5, 1.0], requires_grad=True)
    raw, short = _code(fn, x, optimize=False), _code(fn, x)
    assert raw.count("np.tanh(x)") == 2 and short.count("np.tanh(x)") == 1
    assert_same(mg.compile(fn), fn, [np.array([0.5, 1.0])])


def test_dead_code_and_gradients_not_needed_are_dropped():
    def fn(x, w):
        unused = (x * 3.0).exp()  # noqa: F841
        return (x @ w).sum()

    x, w = mg.ones((2, 3)), mg.ones(3, requires_grad=True)
    code = _code(fn, x, w)
    assert "np.exp" not in code and "d_x" not in code and "d_w" in code


def test_buffers_reused_only_when_dead_and_not_saved():
    def fn(x):
        return ((x * 2.0 + 1.0).tanh() * 3.0).sum()

    x = mg.tensor(np.linspace(-1, 1, 600), requires_grad=True)  # small arrays: no out=
    raw, short = _code(fn, x, optimize=False), _code(fn, x)
    assert "out=" not in raw
    assert "add = np.add(multiply, 1.0, out=multiply)" in short
    assert "np.tanh(add, out=add)" in short  # tanh is saved for backward, add is not
    assert "out=tanh" not in short
    assert_same(mg.compile(fn), fn, [np.linspace(-1, 1, 600)])
    assert "out=" not in _code(fn, mg.tensor(np.linspace(-1, 1, 6), requires_grad=True))


def test_unbroadcast_is_resolved_to_explicit_sums_and_dropped_when_shapes_match():
    def fn(x, b):
        return (x + b).sum()

    code = _code(fn, mg.ones((4, 3)), mg.ones((1, 3), requires_grad=True))
    assert "d_add.sum(axis=0, keepdims=True)" in code
    code = _code(fn, mg.ones((4, 3)), mg.ones((4, 3), requires_grad=True))
    assert "unbroadcast" not in code


def test_unknown_ops_call_their_own_forward():
    class Cube(mg.Function):
        """out = x^3;   d out/dx = 3 x^2"""

        def forward(self, x):
            return x ** 3

        def backward(self, grad, out, x):
            return grad * 3.0 * x * x

    f = mg.compile(lambda x: Cube.apply(x).sum())
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    f(x).backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 12.0])
    assert "cube_op.forward(x)" in f.code and f.fallbacks[0].endswith("Cube")


def test_explain_code_prints_the_generated_code(capsys):
    from minigrad.__main__ import main

    assert main(["explain", "--code", "tanh(x*w + b)", "--set", "x=2", "w=-3", "b=6.88"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# mg.compile: expression")
    assert "def forward(x, w, b):" in out and "tanh = np.tanh(add)" in out
    assert "d_w = d_add * x" in out and "return (d_x, d_w, d_add)" in out


def test_explain_and_draw_graph_show_the_compiled_node():
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = mg.compile(lambda x: (x * w).tanh().sum())(mg.tensor([0.5, 0.25]))
    text = str(mg.viz.explain(loss))
    assert "compiled(" in text and "generated NumPy code" in text
    assert "compiled" in mg.viz.draw_graph(loss).source
