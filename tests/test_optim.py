"""mg.optim: every optimizer step for step against torch.optim; groups, resuming; minimize."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim


def _run_both(ours, theirs, kwargs, steps=20, skip_second_at=None, groups=None):
    """Feed identical gradients to both optimizers; return the largest difference.
    ``groups``: per-group options for the two parameters (then two groups)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    starts = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    ps = [mg.tensor(s, requires_grad=True) for s in starts]
    ts = [torch.tensor(s, requires_grad=True) for s in starts]
    if groups is None:
        opt, topt = ours(ps, **kwargs), theirs(ts, **kwargs)
    else:
        opt = ours([{"params": [p], **g} for p, g in zip(ps, groups, strict=True)], **kwargs)
        topt = theirs([{"params": [t], **g} for t, g in zip(ts, groups, strict=True)], **kwargs)
    for step in range(steps):
        for i, (p, t) in enumerate(zip(ps, ts, strict=True)):
            if i == 1 and skip_second_at is not None and step in skip_second_at:
                p.grad, t.grad = None, None  # no gradient: both must leave it alone
                continue
            g = rng.normal(size=p.shape)
            p.grad, t.grad = mg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    return max(np.abs(p.data - t.detach().numpy()).max() for p, t in zip(ps, ts, strict=True))


@pytest.mark.parametrize("kwargs", [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.5, "nesterov": True},
    {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    {"lr": 0.1, "weight_decay": 0.3},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.3},
    {"lr": 0.1, "momentum": 0.8, "maximize": True},
])
def test_sgd_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    assert _run_both(optim.SGD, torch.optim.SGD, kwargs) < 1e-12


def test_gd_is_torch_sgd_without_momentum():
    torch = pytest.importorskip("torch")
    assert _run_both(optim.GD, torch.optim.SGD, {"lr": 0.3}) < 1e-12


@pytest.mark.parametrize("kwargs", [
    {},
    {"lr": 0.01, "betas": (0.8, 0.99)},
    {"lr": 0.05, "eps": 1e-3},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.02, "amsgrad": True},
    {"lr": 0.02, "amsgrad": True, "weight_decay": 0.05, "maximize": True},
])
def test_adam_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    assert _run_both(optim.Adam, torch.optim.Adam, kwargs) < 1e-12


@pytest.mark.parametrize("kwargs", [
    {},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.02, "betas": (0.85, 0.95), "eps": 1e-4, "weight_decay": 0.0},
    {"lr": 0.02, "amsgrad": True},
    {"lr": 0.02, "amsgrad": True, "weight_decay": 0.3, "maximize": True},
])
def test_adamw_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    assert _run_both(optim.AdamW, torch.optim.AdamW, kwargs) < 1e-12


@pytest.mark.parametrize("kwargs", [
    {},
    {"lr": 0.01, "alpha": 0.9},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True},
    {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1, "eps": 1e-3},
    {"lr": 0.01, "weight_decay": 0.2, "maximize": True},
])
def test_rmsprop_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    assert _run_both(optim.RMSprop, torch.optim.RMSprop, kwargs) < 1e-12


@pytest.mark.parametrize("kwargs", [
    {},
    {"lr": 0.1, "lr_decay": 0.05},
    {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3},
    {"lr": 0.1, "weight_decay": 0.2, "lr_decay": 0.01, "maximize": True},
])
def test_adagrad_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    assert _run_both(optim.Adagrad, torch.optim.Adagrad, kwargs) < 1e-12


@pytest.mark.parametrize("ours, theirs, kwargs, groups", [
    ("SGD", "SGD", {"lr": 0.1, "momentum": 0.9}, [{}, {"lr": 0.01, "nesterov": True}]),
    ("Adam", "Adam", {"lr": 0.01}, [{"betas": (0.8, 0.9)}, {"weight_decay": 0.1}]),
    ("AdamW", "AdamW", {}, [{"lr": 0.05}, {"amsgrad": True, "weight_decay": 0.0}]),
    ("RMSprop", "RMSprop", {"lr": 0.01}, [{"centered": True}, {"momentum": 0.9}]),
    ("Adagrad", "Adagrad", {"lr": 0.1}, [{"lr_decay": 0.1}, {}]),
])
def test_parameter_groups_match_torch(ours, theirs, kwargs, groups):
    torch = pytest.importorskip("torch")
    assert _run_both(getattr(optim, ours), getattr(torch.optim, theirs), kwargs,
                     groups=groups) < 1e-12


@pytest.mark.parametrize("ours, theirs, kwargs", [
    ("SGD", "SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adam", "Adam", {"lr": 0.01}),
    ("AdamW", "AdamW", {"lr": 0.01}),
    ("RMSprop", "RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", "Adagrad", {"lr": 0.1}),
])
def test_params_without_grad_are_skipped_like_torch(ours, theirs, kwargs):
    torch = pytest.importorskip("torch")
    diff = _run_both(getattr(optim, ours), getattr(torch.optim, theirs), kwargs,
                     skip_second_at={0, 3, 4, 10})
    assert diff < 1e-12


def test_step_is_in_place_and_records_no_graph():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    data = p.data
    (p * p).sum().backward()
    optim.SGD([p], lr=0.1, momentum=0.9).step()
    assert p.data is data and p.is_leaf and p.requires_grad
    np.testing.assert_allclose(p.data, [0.8, 1.6])


def test_zero_grad_sets_none():
    p = mg.tensor([1.0], requires_grad=True)
    (p * 3).sum().backward()
    opt = optim.Adam([p])
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.GD(p, lr=-1), "lr must be >= 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=1.0), r"momentum must lie in \[0, 1\)"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.1), r"momentum must lie in \[0, 1\)"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, dampening=0.1),
     "nesterov=True needs momentum > 0 and dampening=0"),
    (lambda p: optim.AdamW(p, betas=(1.0, 0.9)), r"AdamW: betas\[0\] must lie in \[0, 1\)"),
    (lambda p: optim.RMSprop(p, alpha=1.5), r"RMSprop: alpha must lie in \[0, 1\]"),
    (lambda p: optim.RMSprop(p, momentum=-1), r"RMSprop: momentum must lie in \[0, 1\)"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: lr_decay must be >= 0"),
    (lambda p: optim.SGD([{"params": p, "momentum": 2.0}], lr=0.1),
     r"SGD: momentum must lie in \[0, 1\)"),
    (lambda p: optim.SGD([{"params": p}, {"params": p}], lr=0.1),
     "appears more than once across the parameter groups"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay must be >= 0"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"betas\[1\] must lie in \[0, 1\)"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps must be >= 0"),
    (lambda p: optim.Adam(p, lr=float("nan")), "lr must be >= 0"),
    (lambda p: optim.GD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.GD([mg.tensor([1.0])], lr=0.1), "does not require grad"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([mg.tensor([1.0], requires_grad=True)])


# -- parameter groups, state_dict, resuming -----------------------------------------

_EVERY_OPTIMIZER = [
    (optim.GD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
]


def _train(model, opt, X, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        mg.losses.mse(model(X), y).backward()
        opt.step()


@pytest.mark.parametrize("make, kwargs", _EVERY_OPTIMIZER)
def test_state_dict_resumes_training_exactly(make, kwargs):
    rng = np.random.default_rng(0)
    X, y = mg.tensor(rng.normal(size=(16, 3))), mg.tensor(rng.normal(size=(16, 1)))
    straight = mg.nn.MLP([3, 8, 1], rng=1)
    opt = make([{"params": straight.layers[0].parameters()},
                {"params": straight.layers[2].parameters(), "lr": kwargs["lr"] / 2}], **kwargs)
    _train(straight, opt, X, y, 20)

    first = mg.nn.MLP([3, 8, 1], rng=1)
    opt = make([{"params": first.layers[0].parameters()},
                {"params": first.layers[2].parameters(), "lr": kwargs["lr"] / 2}], **kwargs)
    _train(first, opt, X, y, 10)
    model_state, opt_state = first.state_dict(), opt.state_dict()
    _train(first, opt, X, y, 3)  # later steps must not leak into the saved state
    resumed = mg.nn.MLP([3, 8, 1], rng=7)
    opt = make([{"params": resumed.layers[0].parameters()},
                {"params": resumed.layers[2].parameters()}], **kwargs)
    resumed.load_state_dict(model_state)
    opt.load_state_dict(opt_state)
    assert opt.param_groups[1]["lr"] == kwargs["lr"] / 2  # options come back too
    _train(resumed, opt, X, y, 10)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)  # bitwise


def test_state_dict_layout_is_torchs():
    a, b = mg.tensor([1.0, 2.0], requires_grad=True), mg.tensor([3.0], requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01)
    (a.sum() + b.sum()).backward()
    opt.step()
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in state["param_groups"]] == [0.01, 0.1]
    assert sorted(state["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert state["state"][1]["step"] == 1
    state["state"][0]["exp_avg"][:] = 99.0  # a copy
    assert not np.any(opt.state[a]["exp_avg"] == 99.0)
    assert opt.params == [a, b] and opt.lr == 0.01


def test_load_state_dict_errors():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([a])
    (a * a).sum().backward()
    opt.step()
    state = opt.state_dict()
    with pytest.raises(ValueError, match=r"groups of \[1\] parameters, this one \[2\]"):
        optim.Adam([a, mg.tensor([1.0], requires_grad=True)]).load_state_dict(state)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(2,\).*\(3,\)"):
        optim.Adam([mg.tensor([1.0, 2.0, 3.0], requires_grad=True)]).load_state_dict(state)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"exp_avg": 1})


def test_group_options_errors():
    p = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"SGD: group 0 has unknown options \['momentun'\]"):
        optim.SGD([{"params": [p], "momentun": 0.9}], lr=0.1)
    with pytest.raises(TypeError, match="group 0 must be a dict with a 'params' entry"):
        optim.SGD([{"lr": 0.1}], lr=0.1)
    with pytest.raises(ValueError, match="group 1 has an empty parameter list"):
        optim.SGD([{"params": [p]}, {"params": []}], lr=0.1)


def test_step_marks_parameters_modified_so_stale_graphs_name_it():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="SGD.step"):
        loss.backward()


def test_closure_and_zero_grad_without_none():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad(set_to_none=False)
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure).item()) == 5.0
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.data.any()


# -- minimize ----------------------------------------------------------------------


def _quadratic(x):
    return x * x + 2 * x + 1  # minimum at x = -1


@pytest.mark.parametrize("method, lr", [("gd", 0.1), ("sgd", 0.1), ("adam", 0.1)])
def test_minimize_engine_methods(method, lr):
    res = optim.minimize(_quadratic, 5.0, method=method, lr=lr, steps=3000, tol=1e-9)
    assert float(res.x) == pytest.approx(-1.0, abs=1e-8)
    assert res.nit < 3000 and res.success
    assert len(res.history) == res.nit + 1 and res.history[0] == 36.0
    assert all(isinstance(v, float) for v in res.history)
    assert res.fun == pytest.approx(0.0, abs=1e-15)


def test_minimize_gd_history_is_the_gd_sequence():
    res = optim.minimize(lambda x: x * x, 5.0, method="gd", lr=0.1, steps=3)
    # x_{k+1} = x_k - 0.1 * 2 x_k = 0.8 x_k
    np.testing.assert_allclose(res.history, [25.0, 16.0, 10.24, 6.5536])
    assert res.nit == 3 and float(res.x) == pytest.approx(2.56)


def test_minimize_vector_and_options():
    target = np.array([[1.0, -2.0], [3.0, 0.5]])
    res = optim.minimize(lambda x: ((x - target) ** 2).sum(), np.zeros((2, 2)), method="sgd",
                         lr=0.05, steps=2000, tol=1e-10, options={"momentum": 0.9})
    assert res.x.shape == (2, 2)
    np.testing.assert_allclose(res.x, target, atol=1e-9)


@pytest.mark.parametrize("method", ["L-BFGS-B", "BFGS", "CG", "Nelder-Mead"])
def test_minimize_scipy_methods(method):
    pytest.importorskip("scipy")
    res = optim.minimize(_quadratic, 0.0, method=method, steps=200)
    assert float(res.x) == pytest.approx(-1.0, abs=1e-3 if method == "Nelder-Mead" else 1e-6)
    assert res.history[0] == 1.0 and res.history[-1] == pytest.approx(res.fun, abs=1e-12)


def test_minimize_scipy_gets_the_exact_gradient():
    pytest.importorskip("scipy")
    a = np.array([3.0, -1.0, 0.5])
    calls = []

    def f(x):
        calls.append(1)
        return ((x - a) ** 4).sum() + (x * x).sum()

    res = optim.minimize(f, np.zeros(3), method="L-BFGS-B", steps=500, tol=1e-12)
    # at the optimum 4 (x - a)^3 + 2 x = 0 componentwise
    np.testing.assert_allclose(4 * (res.x - a) ** 3 + 2 * res.x, 0, atol=1e-6)


def test_minimize_errors():
    with pytest.raises(ValueError, match="unknown method 'newton'"):
        pytest.importorskip("scipy")
        optim.minimize(_quadratic, 0.0, method="newton")
    with pytest.raises(ValueError, match="must return a scalar"):
        optim.minimize(lambda x: x * 2, np.zeros(3))
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        optim.minimize(_quadratic, 0.0, steps=-1)
    with pytest.raises(ValueError, match="needs a Hessian"):
        optim.minimize(_quadratic, 0.0, method="trust-ncg")


def test_minimize_without_scipy_says_so(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name == "scipy" or name.startswith("scipy."):
            raise ImportError("No module named 'scipy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(ImportError, match="comes from SciPy, which is not installed"):
        optim.minimize(_quadratic, 0.0, method="L-BFGS-B")
    assert optim.minimize(_quadratic, 0.0, method="gd", steps=10).nit == 10


@pytest.mark.parametrize("options", [
    {"momentum": 0.9, "weight_decay": 0.1},
    {"momentum": 0.9, "maximize": True},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1},
])
def test_sgd_momentum_on_a_0d_parameter_matches_torch(options):
    # a 0-d g + wd * p is a NumPy scalar; a momentum buffer copied from it stopped updating
    torch = pytest.importorskip("torch")
    x = mg.tensor(2.0, requires_grad=True)
    opt = mg.optim.SGD([x], lr=0.1, **options)
    xt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    opt_t = torch.optim.SGD([xt], lr=0.1, **options)
    for _ in range(5):
        (x * x).backward()
        opt.step()
        opt.zero_grad()
        (xt * xt).backward()
        opt_t.step()
        opt_t.zero_grad()
    assert abs(x.item() - xt.item()) < 1e-12


def test_sgd_momentum_on_a_0d_parameter_keeps_an_array_buffer():
    x = mg.tensor(2.0, requires_grad=True)
    opt = mg.optim.SGD([x], lr=0.1, momentum=0.9, weight_decay=0.1)
    values = []
    for _ in range(3):
        (x * x).backward()
        opt.step()
        opt.zero_grad()
        values.append(x.item())
    # by hand: g = 2x + 0.1x, b = 0.9 b + g, x -= 0.1 b
    x_, b = 2.0, None
    for expected in values:
        g = 2.1 * x_
        b = g if b is None else 0.9 * b + g
        x_ -= 0.1 * b
        assert expected == pytest.approx(x_, abs=1e-12)


def test_zero_grad_without_set_to_none_zeroes_in_place():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    g = p.grad
    mg.optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad is g and g.tolist() == [0.0, 0.0]
