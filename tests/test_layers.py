"""mg.nn layers (layers.py): PyTorch's initialization, values and gradients against
torch.nn with the same weights (float64), finite differences through every layer,
train/eval behaviour, buffers, and clear errors naming the layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

RNG = np.random.default_rng(1515)


def _x(*shape):
    return mg.tensor(RNG.standard_normal(shape), requires_grad=True)


def _check_layer_gradients(layer, x, second_order=True):
    """gradcheck (and gradgradcheck) with respect to the input and every parameter:
    the checker's copies of the parameters are swapped into the layer for each call."""
    params = layer.parameters()

    def f(x, *values):
        for p, v in zip(params, values):
            layer_swap(layer, p, v)
        try:
            return layer(x)
        finally:
            for p, v in zip(params, values):
                layer_swap(layer, v, p)

    values = [mg.tensor(p.data.copy(), requires_grad=True) for p in params]
    assert mg.gradcheck(f, [x, *values])
    if second_order:
        assert mg.gradgradcheck(f, [x, *values])


def layer_swap(module, old, new):
    """Replace the Tensor ``old`` by ``new`` wherever a (sub)module holds it."""
    for m in module.modules():
        for key, value in vars(m).items():
            if value is old:
                setattr(m, key, new)


# -- finite differences through layers (input and parameters) ------------------------------


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1, rng=0),
    lambda: nn.Conv2d(4, 4, (2, 3), groups=2, dilation=(1, 2), rng=0),
    lambda: nn.Conv1d(2, 3, 3, padding=1, rng=0),
], ids=["conv2d", "conv2d_groups", "conv1d"])
def test_conv_layer_gradients(make):
    layer = make()
    x = _x(2, layer.in_channels, 5, 6) if isinstance(layer, nn.Conv2d) else _x(2, 2, 6)
    _check_layer_gradients(layer, x)


def test_norm_and_embedding_layer_gradients():
    bn = nn.BatchNorm2d(3)
    bn.weight.data[:] = RNG.uniform(0.5, 1.5, 3)
    _check_layer_gradients(bn, _x(4, 3, 2, 2))
    bn.eval()
    _check_layer_gradients(bn, _x(4, 3, 2, 2))
    ln = nn.LayerNorm((2, 3))
    ln.bias.data[:] = RNG.standard_normal((2, 3))
    _check_layer_gradients(ln, _x(4, 2, 3))
    _check_layer_gradients(nn.BatchNorm1d(3), _x(5, 3))


def test_attention_and_transformer_gradients():
    mha = nn.MultiheadAttention(4, 2, rng=0)
    _check_layer_gradients(_SelfAttention(mha), _x(2, 3, 4))
    block = nn.TransformerBlock(4, 2, mlp_ratio=2, rng=0)
    _check_layer_gradients(block, _x(1, 3, 4), second_order=False)


class _SelfAttention(nn.Module):
    def __init__(self, mha):
        self.mha = mha

    def forward(self, x):
        return self.mha(x, x, x, is_causal=True)[0]


# -- initialization as PyTorch ---------------------------------------------------------------


def test_default_initialization_ranges():
    conv = nn.Conv2d(6, 8, 3, groups=2, rng=0)
    bound = 1 / math.sqrt(3 * 9)  # fan_in = in_channels / groups * kh * kw
    assert conv.weight.shape == (8, 3, 3, 3) and conv.bias.shape == (8,)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.8 * bound  # uses the range, not a smaller one
    emb = nn.Embedding(1000, 20, padding_idx=3, rng=0)
    assert abs(emb.weight.data.std() - 1.0) < 0.05 and np.all(emb.weight.data[3] == 0)
    mha = nn.MultiheadAttention(16, 4, rng=0)
    assert np.abs(mha.in_proj_weight.data).max() <= math.sqrt(6 / (16 + 48))
    assert np.all(mha.in_proj_bias.data == 0) and np.all(mha.out_proj.bias.data == 0)
    bn = nn.BatchNorm2d(5)
    assert np.all(bn.weight.data == 1) and np.all(bn.bias.data == 0)
    assert np.all(bn.running_var.data == 1) and bn.num_batches_tracked.data == 0
    # the same seed, the same weights
    assert np.array_equal(nn.Conv1d(2, 3, 4, rng=7).weight.data,
                          nn.Conv1d(2, 3, 4, rng=7).weight.data)


def test_parameter_names_and_buffers_as_pytorch():
    torch = pytest.importorskip("torch")
    pairs = [
        (nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3)),
        (nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)),
        (nn.LayerNorm(4), torch.nn.LayerNorm(4)),
        (nn.Embedding(5, 2), torch.nn.Embedding(5, 2)),
        (nn.MultiheadAttention(4, 2), torch.nn.MultiheadAttention(4, 2, batch_first=True)),
    ]
    for ours, theirs in pairs:
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in
                                                           theirs.named_parameters()]
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert p.shape == tuple(q.shape), name


# -- against torch.nn with the same weights ---------------------------------------------------


def _copy_into_torch(ours, theirs, torch):
    theirs = theirs.double()  # first: loading into float32 parameters would round
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return theirs


def _compare(ours, theirs, inputs, torch, tol=1e-12, call=None):
    """Same forward values, input gradients and parameter gradients."""
    xs = [mg.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
          for a in inputs]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
          for a in inputs]
    out = (call or (lambda m, *a: m(*a)))(ours, *xs)
    expected = (call or (lambda m, *a: m(*a)))(theirs, *ts)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    upstream = RNG.standard_normal(expected.shape)
    out.backward(mg.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        if isinstance(x, mg.Tensor) and x.requires_grad:
            assert (x.grad is None) == (t.grad is None)  # an unused input: no gradient
            if t.grad is not None:
                np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=tol, atol=tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), rtol=tol,
                                   atol=tol, err_msg=name)


def _distinct(*shape):
    values = 0.1 * RNG.permutation(math.prod(shape)) + RNG.uniform(0, 0.01, math.prod(shape))
    return values.reshape(shape)


LAYER_CASES = {
    "Conv2d": (lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                                 groups=2, rng=0),
               lambda t: t.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                                     groups=2), lambda: [RNG.standard_normal((2, 4, 7, 6))]),
    "Conv2d_same_nobias": (lambda: nn.Conv2d(3, 2, 3, padding="same", bias=False, rng=0),
                           lambda t: t.nn.Conv2d(3, 2, 3, padding="same", bias=False),
                           lambda: [RNG.standard_normal((2, 3, 5, 5))]),
    "Conv1d": (lambda: nn.Conv1d(3, 5, 3, stride=2, padding=2, rng=0),
               lambda t: t.nn.Conv1d(3, 5, 3, stride=2, padding=2),
               lambda: [RNG.standard_normal((2, 3, 9))]),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, 2, 1), lambda t: t.nn.MaxPool2d(3, 2, 1),
                  lambda: [_distinct(2, 3, 7, 6)]),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), lambda t: t.nn.AvgPool2d(2),
                  lambda: [RNG.standard_normal((2, 3, 7, 6))]),
    "Flatten": (lambda: nn.Flatten(), lambda t: t.nn.Flatten(),
                lambda: [RNG.standard_normal((2, 3, 4, 5))]),
    "Flatten_middle": (lambda: nn.Flatten(1, 2), lambda t: t.nn.Flatten(1, 2),
                       lambda: [RNG.standard_normal((2, 3, 4, 5))]),
    "GELU": (lambda: nn.GELU(), lambda t: t.nn.GELU(), lambda: [3 * RNG.standard_normal((4, 5))]),
    "GELU_tanh": (lambda: nn.GELU("tanh"), lambda t: t.nn.GELU("tanh"),
                  lambda: [3 * RNG.standard_normal((4, 5))]),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2),
                  lambda: [RNG.standard_normal((4, 5))]),
    "SiLU": (lambda: nn.SiLU(), lambda t: t.nn.SiLU(), lambda: [3 * RNG.standard_normal((4, 5))]),
    "Softplus": (lambda: nn.Softplus(2.0, 4.0), lambda t: t.nn.Softplus(2.0, 4.0),
                 lambda: [3 * RNG.standard_normal((4, 5))]),
    "LayerNorm": (lambda: nn.LayerNorm((4, 5), eps=1e-3), lambda t: t.nn.LayerNorm((4, 5), eps=1e-3),
                  lambda: [RNG.standard_normal((3, 4, 5))]),
    "LayerNorm_nobias": (lambda: nn.LayerNorm(5, bias=False), lambda t: t.nn.LayerNorm(5, bias=False),
                         lambda: [RNG.standard_normal((3, 5))]),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), lambda t: t.nn.BatchNorm1d(3),
                    lambda: [RNG.standard_normal((5, 3, 4))]),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), lambda t: t.nn.BatchNorm2d(3),
                    lambda: [RNG.standard_normal((4, 3, 2, 3))]),
    "Embedding": (lambda: nn.Embedding(6, 4, padding_idx=1, rng=0),
                  lambda t: t.nn.Embedding(6, 4, padding_idx=1),
                  lambda: [np.array([[0, 1, 5], [5, 5, 2]])]),
    "Dropout_eval": (lambda: nn.Dropout(0.5).eval(), lambda t: t.nn.Dropout(0.5).eval(),
                     lambda: [RNG.standard_normal((4, 5))]),
}


@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_layer_matches_torch(name):
    torch = pytest.importorskip("torch")
    make, make_torch, inputs = LAYER_CASES[name]
    ours = make()
    for p in ours.parameters():  # move weights off their defaults (ones, zeros)
        p.data[...] += 0.1 * RNG.standard_normal(p.shape)
    theirs = _copy_into_torch(ours, make_torch(torch), torch)
    if name == "Embedding":
        ours.weight.data[1] = 0.0  # the padding row as torch keeps it
        theirs.weight.data[1] = 0.0
    _compare(ours, theirs, inputs(), torch)


@pytest.mark.parametrize("mask", ["none", "attn_bool", "attn_float_per_head", "key_padding",
                                  "causal", "seq_first", "cross"])
def test_multihead_attention_matches_torch(mask):
    torch = pytest.importorskip("torch")
    E, H, n, L = 8, 2, 3, 5
    S = 4 if mask == "cross" else L
    ours = nn.MultiheadAttention(E, H, batch_first=mask != "seq_first", rng=0)
    for p in ours.parameters():
        p.data[...] += 0.1 * RNG.standard_normal(p.shape)
    theirs = _copy_into_torch(ours, torch.nn.MultiheadAttention(
        E, H, batch_first=mask != "seq_first"), torch)
    q = RNG.standard_normal((L, n, E) if mask == "seq_first" else (n, L, E))
    kv = RNG.standard_normal((n, S, E))
    blocked = RNG.random((L, S)) > 0.6
    blocked[:, 0] = False
    pad = np.zeros((n, S), bool)
    pad[1, -1] = True
    kwargs = {"none": {}, "attn_bool": {"attn_mask": blocked},
              "attn_float_per_head": {"attn_mask": RNG.standard_normal((n * H, L, S))},
              "key_padding": {"key_padding_mask": pad},
              "causal": {"attn_mask": ~np.tril(np.ones((L, L), bool))}, "seq_first": {},
              "cross": {}}[mask]

    def call(m, q, kv, **kw):
        key = kv if mask == "cross" else q
        out, weights = m(q, key, key, **kw)
        return out * 1.0 + (weights * weights).sum()  # both outputs in one comparison

    tkw = {k: torch.tensor(v) for k, v in kwargs.items()}
    _compare(ours, theirs, [q, kv], torch,
             call=lambda m, q, kv: call(m, q, kv, **(tkw if isinstance(m, torch.nn.Module)
                                                     else kwargs)))


def test_multihead_attention_options():
    mha = nn.MultiheadAttention(8, 2, rng=0)
    x = mg.randn((2, 5, 8), rng=0)
    out, weights = mha(x, x, x, average_attn_weights=False)
    assert out.shape == (2, 5, 8) and weights.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(weights.data.sum(axis=-1), 1.0)
    assert mha(x, x, x, need_weights=False)[1] is None
    causal, w = mha(x, x, x, is_causal=True)
    assert np.all(np.triu(w.data[0], 1) == 0)
    explicit, _ = mha(x, x, x, attn_mask=~np.tril(np.ones((5, 5), bool)))
    np.testing.assert_array_equal(causal.data, explicit.data)


def test_batch_norm_running_statistics_match_torch():
    torch = pytest.importorskip("torch")
    for momentum in (0.1, None):
        ours, theirs = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(
            3, momentum=momentum).double()
        for _ in range(4):
            x = RNG.standard_normal((4, 3, 2, 2)) * 3 + 2
            np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                                       rtol=1e-12, atol=1e-12)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            np.testing.assert_allclose(getattr(ours, name).data,
                                       getattr(theirs, name).numpy(), rtol=1e-13)
        ours.eval()
        theirs.eval()
        x = RNG.standard_normal((2, 3, 2, 2))
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_batch_norm_under_compile_updates_running_statistics_every_step():
    torch = pytest.importorskip("torch")
    if not hasattr(mg, "compile"):
        pytest.skip("mg.compile has not landed")
    ours = nn.BatchNorm1d(3, momentum=None)  # the cumulative average needs the counter too
    theirs = torch.nn.BatchNorm1d(3, momentum=None).double()
    step = mg.compile(lambda x: (ours(x) ** 2).sum())
    for _ in range(4):
        x = RNG.standard_normal((8, 3)) * 2 + 5
        step(mg.tensor(x, requires_grad=True)).backward()
        theirs(torch.tensor(x))
    assert ours.num_batches_tracked.data == 4  # once per step, not twice on the first
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-13)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-13)
    ours.eval()
    evaluate = mg.compile(lambda x: ours(x))
    x = RNG.standard_normal((5, 3))
    evaluate(x)
    ours.train()
    ours(RNG.standard_normal((8, 3)) * 10)  # new statistics...
    ours.eval()
    expected = (x - ours.running_mean.data) / np.sqrt(ours.running_var.data + 1e-5)
    np.testing.assert_allclose(evaluate(x).data, expected, rtol=1e-12)  # ...seen when compiled


def test_batch_norm_train_eval_and_buffers():
    bn = nn.BatchNorm1d(2)
    x = mg.tensor([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    y = bn(x)
    np.testing.assert_allclose(y.data.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, [0.3, 3.0])  # 0.9 * 0 + 0.1 * mean
    np.testing.assert_allclose(bn.running_var.data, [0.9 + 0.1 * 4.0, 0.9 + 0.1 * 400.0])
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var",
                                    "num_batches_tracked"}
    bn.eval()
    before = bn.running_mean.data.copy()
    np.testing.assert_allclose(bn(x).data, (x.data - before) / np.sqrt(bn.running_var.data + 1e-5))
    assert np.array_equal(bn.running_mean.data, before)  # eval does not update
    no_stats = nn.BatchNorm1d(2, track_running_stats=False).eval()
    np.testing.assert_allclose(no_stats(x).data.mean(axis=0), 0.0, atol=1e-12)  # batch stats


def test_dropout_layer_train_eval_and_seed():
    x = mg.ones((100, 100))
    a, b = nn.Dropout(0.4, rng=3), nn.Dropout(0.4, rng=3)
    first, second = a(x).data, a(x).data
    assert not np.array_equal(first, second)  # a new mask each call
    assert np.array_equal(first, b(x).data) and np.array_equal(second, b(x).data)
    assert abs((first == 0).mean() - 0.4) < 5 * math.sqrt(0.24 / 1e4)
    a.eval()
    assert a(x) is x


def test_dtype_float32_layers():
    conv = nn.Conv2d(1, 2, 3, rng=0, dtype=np.float32)
    bn = nn.BatchNorm2d(2, dtype=np.float32)
    out = bn(conv(mg.zeros((2, 1, 5, 5), dtype=np.float32)))
    assert out.dtype == np.float32 and conv.weight.dtype == np.float32
    assert bn.running_mean.dtype == np.float32
    with pytest.raises(TypeError, match=r"Conv2d: the input has dtype float64 but the layer's "
                                        r"parameters are float32"):
        conv(mg.zeros((2, 1, 5, 5)))
    emb = nn.Embedding(5, 3, dtype=np.float32)
    assert emb([1, 2]).dtype == np.float32
    block = nn.TransformerBlock(8, 2, dtype=np.float32, rng=0)
    assert block(mg.zeros((1, 3, 8), dtype=np.float32)).dtype == np.float32
    bn64 = nn.BatchNorm1d(2).to(np.float32)  # converted after construction
    assert bn64(mg.zeros((3, 2), dtype=np.float32)).dtype == np.float32


def test_transformer_block_is_causal_and_trains():
    block = nn.TransformerBlock(8, 2, rng=0)
    x = RNG.standard_normal((1, 6, 8))
    out = block(x).data
    x2 = x.copy()
    x2[0, 4:] += 1.0
    np.testing.assert_array_equal(block(x2).data[0, :4], out[0, :4])
    assert not np.allclose(block(x2).data[0, 4:], out[0, 4:])
    loss = (block(x) ** 2).mean()
    loss.backward()
    assert all(p.grad is not None and np.any(p.grad.data != 0) for p in block.parameters())


def test_layers_repr():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.MaxPool2d(2),
                          nn.Dropout(0.25), nn.Flatten(), nn.Embedding(3, 2))
    text = repr(model)
    for part in ["Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
                 "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
                 "MaxPool2d(kernel_size=2, stride=2, padding=0)", "Dropout(p=0.25)",
                 "Flatten(start_dim=1, end_dim=-1)", "Embedding(3, 2)"]:
        assert part in text, text


# -- bad input: the layer, the shapes, the fix ----------------------------------------------


def test_conv_layer_errors():
    conv = nn.Conv2d(3, 8, 5, rng=0)
    with pytest.raises(ValueError, match=r"Conv2d: input has 1 channels \(shape \(2, 1, 28, 28\)\) "
                                         r"but the weight \(8, 3, 5, 5\) with groups=1 expects 3. "
                                         r"Pass an input with 3 channels, or build the layer with "
                                         r"in_channels=1"):
        conv(mg.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"Conv2d: expected input of shape \(N, C, H, W\) \(4 "
                                         r"dimensions\) or unbatched \(3\), got shape \(28, 28\)"):
        conv(mg.zeros((28, 28)))
    with pytest.raises(ValueError, match=r"Conv2d: the kernel \(5, 5\) \(dilation \(1, 1\)\) is "
                                         r"larger than the padded input \(4, 4\)"):
        conv(mg.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"Conv1d: input has 4 channels"):
        nn.Conv1d(2, 3, 3)(mg.zeros((1, 4, 10)))
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) and out_channels \(8\) must "
                                         r"both be divisible by groups \(2\)"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match=r"MaxPool2d: the kernel \(3, 3\).*larger than the padded "
                                         r"input \(2, 2\)"):
        nn.MaxPool2d(3)(mg.zeros((1, 1, 2, 2)))


def test_norm_embedding_attention_layer_errors():
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape \(8,\) must match the last "
                                         r"1 axes of the input, but the input has shape \(2, 5, 6\). "
                                         r"Use normalized_shape=\(6,\)"):
        nn.LayerNorm(8)(mg.zeros((2, 5, 6)))
    with pytest.raises(IndexError, match=r"Embedding: index 27 is out of range for 27 embeddings "
                                         r"\(valid: 0 to 26\). Build the layer with "
                                         r"num_embeddings > 27"):
        nn.Embedding(27, 4)([[1, 27]])
    with pytest.raises(ValueError, match=r"BatchNorm2d: input has 4 channels on axis 1 \(shape "
                                         r"\(2, 4, 3, 3\)\) but the layer has num_features=3. "
                                         r"Build BatchNorm2d\(4\)"):
        nn.BatchNorm2d(3)(mg.zeros((2, 4, 3, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, C\) or "
                                         r"\(N, C, L\), got shape \(2, 3, 4, 5\)"):
        nn.BatchNorm1d(3)(mg.zeros((2, 3, 4, 5)))
    mha = nn.MultiheadAttention(8, 2)
    x = mg.zeros((2, 5, 8))
    with pytest.raises(ValueError, match=r"MultiheadAttention: attn_mask has shape \(5, 4\) but "
                                         r"must be \(L, S\) = \(5, 5\) or \(N \* num_heads, L, S\) "
                                         r"= \(4, 5, 5\)"):
        mha(x, x, x, attn_mask=np.zeros((5, 4), bool))
    with pytest.raises(ValueError, match=r"MultiheadAttention: key_padding_mask has shape \(5,\) "
                                         r"but must be \(N, S\) = \(2, 5\)"):
        mha(x, x, x, key_padding_mask=np.zeros(5, bool))
    with pytest.raises(ValueError, match=r"MultiheadAttention: query must have shape \(N, L, E\) "
                                         r"with E = embed_dim = 8, got \(2, 5, 6\)"):
        mha(mg.zeros((2, 5, 6)), x, x)
    with pytest.raises(ValueError, match=r"embed_dim \(6\) must be divisible by num_heads \(4\)"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\]"):
        nn.Dropout(-0.1)
