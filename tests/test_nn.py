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


# -- Module base: buffers, modes, containers, repr, dtype ------------------------------


class WithBuffers(nn.Module):
    def __init__(self):
        self.weight = mg.tensor([1.0, 2.0], requires_grad=True)
        self.register_buffer("running_mean", mg.zeros(2))
        self.register_buffer("count", mg.tensor(np.array(0, dtype=np.int64)))
        self.register_buffer("scratch", mg.ones(2), persistent=False)
        self.register_buffer("absent", None)
        self.register_buffer("tracked", mg.ones(1, requires_grad=True))  # still not a parameter


def test_buffers_are_saved_loaded_and_never_trained():
    model = nn.Sequential(WithBuffers(), nn.Linear(2, 2, rng=0))
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.1.weight", "layers.1.bias"]
    assert [n for n, _ in model.named_buffers()] == [
        "layers.0.running_mean", "layers.0.count", "layers.0.scratch", "layers.0.tracked"]
    assert len(model.buffers()) == 4
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.running_mean", "layers.0.count",
                           "layers.0.tracked", "layers.1.weight", "layers.1.bias"]
    block = model[0]
    old = block.running_mean
    block.running_mean = mg.tensor([5.0, 6.0])  # re-assigning keeps it a buffer
    assert "layers.0.running_mean" in model.state_dict()
    block.running_mean = old
    other = nn.Sequential(WithBuffers(), nn.Linear(2, 2, rng=1))
    state["layers.0.running_mean"][:] = [3.0, 4.0]
    state["layers.0.count"][...] = 7
    buffer_before = other[0].running_mean
    other.load_state_dict(state)
    assert other[0].running_mean is buffer_before  # loaded in place
    np.testing.assert_array_equal(other[0].running_mean.data, [3.0, 4.0])
    assert other[0].count.data == 7 and other[0].count.dtype == np.int64
    assert not any(p is old or p is block.tracked for p in model.parameters())


def test_register_buffer_errors():
    block = WithBuffers()
    with pytest.raises(KeyError, match="'weight' already exists"):
        block.register_buffer("weight", mg.zeros(2))
    with pytest.raises(KeyError, match="without '.'"):
        block.register_buffer("a.b", mg.zeros(2))
    with pytest.raises(TypeError, match=r"must be a Tensor or None.*mg.tensor"):
        block.register_buffer("raw", np.zeros(2))


def test_load_state_dict_not_strict_returns_the_differences():
    model = nn.MLP([2, 3, 1], rng=0)
    state = model.state_dict()
    del state["layers.2.bias"]
    state["extra"] = np.zeros(1)
    state["layers.0.bias"] = np.full(3, 9.0)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["layers.2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model.layers[0].bias.data, np.full(3, 9.0))


def test_load_state_dict_makes_old_graphs_stale():
    model = nn.MLP([2, 3, 1], activation="tanh", rng=0)
    out = model(mg.ones((1, 2))).sum()
    model.load_state_dict(nn.MLP([2, 3, 1], activation="tanh", rng=1).state_dict())
    with pytest.raises(RuntimeError, match="load_state_dict"):
        out.backward()


def test_train_eval_reach_every_container():
    model = nn.Sequential(nn.ModuleList([nn.ReLU()]), nn.ModuleDict({"a": nn.Tanh()}))
    model.eval()
    assert [m.training for m in model.modules()] == [False] * 5
    model.train()
    assert all(m.training for m in model.modules())
    assert model[0][0].training and model[1]["a"].training


def test_named_modules_children_and_apply_order_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleList([nn.Linear(2, 2), nn.ModuleDict({"h": nn.Linear(2, 1), "r": nn.ReLU()})])
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.ModuleDict(
        {"h": torch.nn.Linear(2, 1), "r": torch.nn.ReLU()})])
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    visited_ours, visited_theirs = [], []
    ours.apply(lambda m: visited_ours.append(type(m).__name__))
    theirs.apply(lambda m: visited_theirs.append(type(m).__name__))
    assert visited_ours == visited_theirs
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters()) == 9


def test_repr_prints_the_layer_tree_like_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(),
                         nn.ModuleList([nn.Linear(3, 3, bias=False), nn.Tanh()]),
                         nn.ModuleDict({"out": nn.Linear(3, 1), "act": nn.Sigmoid()}))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
                                 torch.nn.ModuleList([torch.nn.Linear(3, 3, bias=False),
                                                      torch.nn.Tanh()]),
                                 torch.nn.ModuleDict({"out": torch.nn.Linear(3, 1),
                                                      "act": torch.nn.Sigmoid()}))
    assert repr(ours) == repr(theirs)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"


def test_repr_and_apply_do_not_recurse():
    model = nn.Linear(1, 1, rng=0)
    for _ in range(3000):
        model = nn.Sequential(model)
    assert repr(model).count("Linear(") == 1
    assert len(model.apply(lambda m: None).modules()) == 3001


def test_zero_grad_set_to_none_false_zeros_in_place():
    model = nn.Linear(2, 1, rng=0)
    model(mg.ones((3, 2))).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_module_list_and_dict_behave_like_containers():
    blocks = nn.ModuleList([nn.Linear(2, 2, rng=0)])
    blocks.append(nn.ReLU())
    blocks += [nn.Tanh()]
    blocks.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in blocks] == ["Sigmoid", "Linear", "ReLU", "Tanh"]
    assert len(blocks[1:3]) == 2 and isinstance(blocks[1:3], nn.ModuleList)
    del blocks[0]
    assert [n for n, _ in blocks.named_parameters()] == ["0.weight", "0.bias"]
    with pytest.raises(TypeError, match="ModuleList: item 3 is a function, not a Module"):
        blocks.append(lambda x: x)
    heads = nn.ModuleDict({"a": nn.Linear(2, 1, rng=0)})
    heads["b"] = nn.Linear(2, 3, rng=1)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()][-1] == "b.bias"
    assert heads.pop("a") is not None and list(heads.keys()) == ["b"]
    with pytest.raises(TypeError, match="ModuleDict: 'c' is a int, not a Module"):
        heads["c"] = 3
    with pytest.raises(KeyError, match="keys must be non-empty strings"):
        heads["x.y"] = nn.ReLU()


def test_to_dtype_converts_in_place_so_optimizers_keep_their_tensors():
    model = nn.Sequential(WithBuffers(), nn.MLP([2, 3, 1], rng=0))
    params = model.parameters()
    opt = mg.optim.Adam(params, lr=0.1)
    model[1](mg.ones((4, 2))).sum().backward()
    assert model.to(np.float32) is model
    assert [p is q for p, q in zip(model.parameters(), params, strict=True)] == [True] * 5
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32
               for p in params if p.grad is not None)
    assert model[0].running_mean.dtype == np.float32 and model[0].count.dtype == np.int64
    opt.step()
    assert all(p.dtype == np.float32 for p in params)
    assert model[1](np.ones((4, 2), dtype=np.float32)).dtype == np.float32
    assert model.double()[1].layers[0].weight.dtype == np.float64
    assert model.to("cpu") is model
    with pytest.raises(TypeError, match="only floating dtypes.*int32"):
        model.to(np.int32)


def test_dtype_argument_and_mismatched_input_is_a_clear_error():
    layer = nn.Linear(3, 2, rng=0, dtype=np.float32)
    assert layer.weight.dtype == layer.bias.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, nn.Linear(3, 2, rng=0).weight.data
                                  .astype(np.float32))
    assert layer(mg.ones((2, 3), dtype=np.float32)).dtype == np.float32
    assert layer([[1, 2, 3]]).dtype == np.float32  # lists and ints take the layer's dtype
    model = nn.MLP([3, 4, 1], rng=0)
    with pytest.raises(TypeError, match=r"Linear: the input has dtype float32 but the layer's "
                       r"parameters are float64.*x\.astype\(np\.float64\).*model\.to"):
        model(mg.ones((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="dtype float32"):
        model(np.ones((2, 3), dtype=np.float32))
    assert nn.MLP([3, 1], dtype="float32").layers[0].weight.dtype == np.float32
    with pytest.raises(TypeError, match="Linear: dtype must be a floating dtype"):
        nn.Linear(2, 2, dtype=np.int64)


def test_to_dtype_makes_old_graphs_stale_and_apply_initialises():
    model = nn.MLP([2, 3, 1], activation="tanh", rng=0)
    out = model(mg.ones((1, 2))).sum()
    model.to(np.float32)
    with pytest.raises(RuntimeError, match=r"to\(float32\)"):
        out.backward()

    def init(m):
        if isinstance(m, nn.Linear):
            m.weight.data[...] = 0.5

    assert model.apply(init) is model
    assert all((layer.weight.data == 0.5).all() for layer in model.layers[::2])


def test_to_dtype_reaches_layers_without_parameters():
    model = nn.Sequential(nn.LayerNorm(4, elementwise_affine=False),
                          nn.BatchNorm1d(4, affine=False, track_running_stats=False))
    model.to(np.float32)
    assert model(np.ones((3, 4), dtype=np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match="LayerNorm: the input has dtype float64"):
        model(np.ones((3, 4)))
