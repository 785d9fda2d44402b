"""Memory: a long training loop stays flat, graphs die with their last reference
(no reference cycles, so no garbage collector needed), and the classic
``total = total + loss`` leak is real and detectable."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad as mg


def _train(steps: int, marks: set[int], leak: bool = False) -> tuple[dict[int, int], float]:
    """A 4-16-1 tanh MLP on 16 points, plain minigrad ops and an in-place SGD step.
    Returns traced memory (bytes) at the steps in ``marks`` and the last loss."""
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.normal(size=(16, 4)))
    y = mg.tensor(rng.normal(size=(16, 1)))
    shapes = [(4, 16), (16,), (16, 1), (1,)]
    params = [mg.tensor(rng.normal(size=s) * 0.5, requires_grad=True) for s in shapes]
    W1, b1, W2, b2 = params
    memory, total = {}, 0.0
    for step in range(1, steps + 1):
        loss = (((X @ W1 + b1).tanh() @ W2 + b2 - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        # the leak keeps every step's graph alive through `total`
        total = total + loss if leak else total + loss.item()
        with mg.no_grad():
            for p in params:
                p -= 0.05 * p.grad
        if step in marks:
            memory[step] = tracemalloc.get_traced_memory()[0]
    return memory, loss.item()


@pytest.fixture
def traced():
    tracemalloc.start()
    yield
    tracemalloc.stop()


def test_ten_thousand_training_steps_do_not_grow_memory(traced):
    memory, last_loss = _train(10_000, {1_000, 10_000})
    per_step = (memory[10_000] - memory[1_000]) / 9_000
    # Measured: ~0.03 bytes/step (noise); one leaked graph per step is ~12 KB/step.
    assert per_step < 16, f"memory grows by {per_step:.1f} bytes per training step"
    assert last_loss < 1e-3  # and it did train


def test_total_plus_loss_leak_is_detected(traced):
    """The classic mistake: summing losses as Tensors keeps every graph alive."""
    memory, _ = _train(300, {100, 300}, leak=True)
    per_step = (memory[300] - memory[100]) / 200
    assert per_step > 4_000, f"the leak should be visible, got {per_step:.0f} bytes/step"


def _graph(x: mg.Tensor) -> tuple[mg.Tensor, list[weakref.ref]]:
    h = x * 2.0
    g = h.exp()
    y = g[1:] * 1.0
    y += 1.0  # in-place: a snapshot and a new node join the graph
    loss = (y * h[1:]).sum() + g.relu().mean()
    refs = [weakref.ref(t) for t in (h, g, y)] + [weakref.ref(t._ctx) for t in (h, g, y)]
    return loss, refs


@pytest.mark.parametrize("backward", [False, True])
def test_intermediates_are_freed_without_the_garbage_collector(backward):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        loss, refs = _graph(x)
        assert all(r() is not None for r in refs)
        if backward:
            loss.backward()
        del loss  # reference counting alone must free the whole graph: no cycles
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()
    assert x.grad is None or x.grad.shape == (3,)


def test_grad_does_not_keep_the_graph_alive():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    gc.disable()
    try:
        h = x.exp()
        ref = weakref.ref(h)
        (h * h).sum().backward()
        del h
        assert ref() is None
        assert x.grad._ctx is None  # a plain leaf, not a link into the old graph
    finally:
        gc.enable()


def test_histories_hold_floats_not_graphs():
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = X @ np.array([1.0, -2.0]) + 0.5
    model = mg.models.LinearRegression(learning_rate=0.1, n_iterations=5).fit(X, y)
    assert len(model.history_) == 5
    assert all(type(v) is float for v in model.history_)
    result = mg.optim.minimize(lambda t: (t * t).sum(), np.array([1.0, 2.0]), steps=5)
    assert all(type(v) is float for v in result.history)
