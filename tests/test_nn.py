"""mg.nn: parameter discovery, state dicts, Linear against PyTorch, MLP."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from tests._examples import load_example


class Block(nn.Module):
    def __init__(self):
        self.scale = mg.tensor(1.0, requires_grad=True)
        self.frozen = mg.tensor(2.0)  # does not require grad: not a parameter
        self.pair = (nn.Linear(2, 3, rng=0), nn.Linear(3, 2, rng=1))
        self.heads = {"a": nn.Linear(2, 1, rng=2), "b": [mg.tensor([0.5], requires_grad=True)]}
        self.note = "not a tensor"


def test_named_parameters_in_attributes_lists_tuples_dicts():
    names = [name for name, _ in Block().named_parameters()]
    assert names == ["scale", "pair.0.weight", "pair.0.bias", "pair.1.weight", "pair.1.bias",
                     "heads.a.weight", "heads.a.bias", "heads.b.0"]


def test_shared_parameter_listed_once():
    layer = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert [n for n, _ in model.named_parameters()] == ["layers.0.weight", "layers.0.bias"]


def test_deep_nesting_does_not_recurse():
    model = nn.Linear(1, 1, rng=0)
    for _ in range(5000):
        model = nn.Sequential(model)
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == 2 and names[0].endswith("layers.0.weight")
    assert names[0].count("layers.0") == 5000


def test_parameters_zero_grad_train_eval():
    model = nn.MLP([2, 4, 1], rng=0)
    out = model(mg.ones((3, 2))).sum()
    out.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_is_a_copy_and_round_trips():
    a, b = nn.MLP([3, 5, 2], rng=0), nn.MLP([3, 5, 2], rng=1)
    state = a.state_dict()
    state["layers.0.weight"][:] = 7.0
    assert not np.all(a.layers[0].weight.data == 7.0)
    b.load_state_dict(a.state_dict())
    x = mg.tensor(np.random.default_rng(0).normal(size=(4, 3)))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_errors_name_keys_and_shapes():
    model = nn.MLP([3, 5, 2], rng=0)
    state = model.state_dict()
    missing = dict(state)
    del missing["layers.2.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['layers.2.bias'\]"):
        model.load_state_dict(missing)
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        model.load_state_dict({**state, "extra": np.zeros(1)})
    wrong = {**state, "layers.0.weight": np.zeros((5, 4))}
    before = model.layers[0].bias.data.copy()
    with pytest.raises(ValueError, match=r"'layers.0.weight' has shape \(5, 4\).*\(5, 3\)"):
        model.load_state_dict(wrong)
    np.testing.assert_array_equal(model.layers[0].bias.data, before)  # nothing changed


def test_linear_init_bounds_and_reproducible():
    layer = nn.Linear(16, 300, rng=0)
    bound = 1 / np.sqrt(16)
    assert layer.weight.shape == (300, 16) and layer.bias.shape == (300,)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # really uniform over the range
    np.testing.assert_array_equal(layer.weight.data, nn.Linear(16, 300, rng=0).weight.data)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    layer = nn.Linear(4, 3, rng=0)
    x = np.random.default_rng(1).normal(size=(5, 4))
    xt = mg.tensor(x, requires_grad=True)
    (layer(xt) ** 2).sum().backward()
    tl = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(layer.weight.data))
        tl.bias.copy_(torch.tensor(layer.bias.data))
    tx = torch.tensor(x, requires_grad=True)
    (tl(tx) ** 2).sum().backward()
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.data, tl.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, tl.bias.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradchecks(bias):
    layer = nn.Linear(3, 2, bias=bias, rng=0)
    x = mg.tensor(np.random.default_rng(2).normal(size=(4, 3)), requires_grad=True)
    params = [x] + layer.parameters()

    def f(x, w, *b):
        layer.weight = w
        if b:
            layer.bias = b[0]
        return layer(x)

    assert mg.gradcheck(f, params)
    assert mg.gradgradcheck(lambda *a: (f(*a) ** 2).sum(), params)


def test_linear_on_3d_input_and_shape_error():
    layer = nn.Linear(3, 2, rng=0)
    assert layer(mg.ones((2, 5, 3))).shape == (2, 5, 2)
    with pytest.raises(ValueError, match=r"Linear: input has shape \(4, 2\).*\(\.\.\., 3\)"):
        layer(mg.ones((4, 2)))


@pytest.mark.parametrize("activation, fn", [("relu", np.maximum.outer), ("tanh", None),
                                            ("sigmoid", None)])
def test_mlp_structure_and_forward(activation, fn):
    model = nn.MLP([2, 4, 3, 1], activation=activation, rng=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[activation],
                     "Linear", kinds[1], "Linear"]  # no activation after the last layer
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[activation]
    x = np.random.default_rng(3).normal(size=(6, 2))
    h = x
    for i, layer in enumerate(model.layers[::2]):
        h = h @ layer.weight.data.T + layer.bias.data
        if i < 2:
            h = act(h)
    np.testing.assert_allclose(model(mg.tensor(x)).data, h, rtol=1e-12)


def test_mlp_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.MLP([2, 3], activation="gelu")
    with pytest.raises(ValueError, match="at least an input and an output size"):
        nn.MLP([2])
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        nn.Linear(0, 3)


def test_moons_example_reaches_97_percent_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    moons = load_example("moons_mlp")
    out = tmp_path / "moons.png"
    accuracy = moons.main(["--out", str(out)])
    assert accuracy >= 0.97
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "training accuracy" in capsys.readouterr().out


def test_moons_training_uses_cross_entropy_gradient():
    moons = load_example("moons_mlp")
    X, y = moons.make_moons(n=40, seed=3)
    assert X.shape == (40, 2) and set(y.tolist()) == {0, 1}
    model = nn.MLP([2, 4, 2], rng=0)
    params = model.parameters()

    def f(*ps):
        for (name, _), p in zip(model.named_parameters(), ps, strict=True):
            layer, attr = name.split(".")[1:]
            setattr(model.layers[int(layer)], attr, p)
        return mg.losses.cross_entropy(model(mg.tensor(X)), y)

    assert mg.gradcheck(f, params)
