"""Threads: grad mode and anomaly mode are per thread, and two threads training
separate models at the same time both get exactly the right gradients."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import minigrad as mg


@pytest.fixture
def fast_switching():
    """Make the interpreter switch threads very often, so steps interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def run_threads(*targets):
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # report failures in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_does_not_change_another():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def other():
        with mg.no_grad():
            seen["other"] = mg.is_grad_enabled()
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    x = mg.tensor(1.0, requires_grad=True)
    y = x * 2  # recorded here while the other thread sits inside no_grad
    done.set()
    thread.join(10)
    assert seen["other"] is False
    assert mg.is_grad_enabled() and y.requires_grad and y.op == "multiply"


def test_new_thread_starts_with_grad_enabled():
    seen = {}
    with mg.no_grad():
        run_threads(lambda: seen.setdefault("grad", mg.is_grad_enabled()))
        assert not mg.is_grad_enabled()
    assert seen["grad"] is True


def test_anomaly_mode_is_per_thread():
    seen = {}
    with mg.autograd.detect_anomaly():
        run_threads(lambda: seen.setdefault("anomaly", mg.autograd.is_anomaly_enabled()))
    assert seen["anomaly"] is False


def _fit(seed: int, steps: int, record: list, no_grad_noise: bool) -> np.ndarray:
    """Linear regression by hand; checks each engine gradient against 2/n X^T r."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50, 3))
    y = X @ rng.normal(size=3) + seed
    w = mg.tensor(np.zeros(3), requires_grad=True)
    b = mg.tensor(0.0, requires_grad=True)
    for _ in range(steps):
        r = X @ w + b - y
        loss = (r * r).mean()
        w.grad = b.grad = None
        loss.backward()
        residual = X @ w.data + b.data - y
        np.testing.assert_allclose(w.grad.data, 2 / 50 * X.T @ residual, rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(b.grad.item(), 2 / 50 * residual.sum(), rtol=1e-9, atol=1e-14)
        with mg.no_grad():
            w -= 0.05 * w.grad
            b -= 0.05 * b.grad
            if no_grad_noise:
                (w * 2).sum()  # extra unrecorded work inside no_grad
        record.append(loss.item())
    return np.concatenate([w.data, [b.item()]])


def test_two_threads_train_separate_models_correctly(fast_switching):
    steps = 150
    expected = [_fit(seed, steps, [], False) for seed in (1, 2)]  # one at a time
    results, records = {}, {1: [], 2: []}
    run_threads(
        lambda: results.setdefault(1, _fit(1, steps, records[1], True)),
        lambda: results.setdefault(2, _fit(2, steps, records[2], False)),
    )
    np.testing.assert_array_equal(results[1], expected[0])
    np.testing.assert_array_equal(results[2], expected[1])
    assert records[1][-1] < 0.01 * records[1][0] and records[2][-1] < 0.01 * records[2][0]


def test_thread_in_no_grad_loop_while_another_trains(fast_switching):
    stop = threading.Event()
    leaked = []

    def evaluator():
        x = mg.tensor(np.ones(4), requires_grad=True)
        while not stop.is_set():
            with mg.no_grad():
                if (x * 3).requires_grad:
                    leaked.append("recorded under no_grad")

    def trainer():
        try:
            _fit(3, 100, [], False)
        finally:
            stop.set()

    run_threads(evaluator, trainer)
    assert not leaked
