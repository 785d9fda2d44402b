"""mg.optim.lr_scheduler: every schedule's learning rates against torch.optim.lr_scheduler."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler


def _pair(make_ours, make_theirs, opt_name="SGD", groups=((0.1, {}), (0.02, {})), **opt_kw):
    """An optimizer with two groups on both sides (no gradients: steps change nothing)."""
    torch = pytest.importorskip("torch")
    ours = getattr(optim, opt_name)([{"params": [mg.zeros(2, requires_grad=True)], "lr": lr,
                                      **kw} for lr, kw in groups], **opt_kw)
    theirs = getattr(torch.optim, opt_name)([{"params": [torch.zeros(2, requires_grad=True)],
                                              "lr": lr, **kw} for lr, kw in groups], **opt_kw)
    return ours, make_ours(ours), theirs, make_theirs(theirs, torch)


def _sequences(opt, sched, topt, tsched, steps, metrics=None, key="lr"):
    ours, theirs = [sched.get_last_lr()], [tsched.get_last_lr()]
    extra_ours = [[g.get(key) for g in opt.param_groups]]
    extra_theirs = [[g.get(key) for g in topt.param_groups]]
    for i in range(steps):
        opt.step()
        topt.step()  # torch warns when a scheduler steps before its optimizer
        if metrics is None:
            sched.step()
            tsched.step()
        else:
            sched.step(metrics[i])
            tsched.step(metrics[i])
        ours.append(sched.get_last_lr())
        theirs.append(tsched.get_last_lr())
        extra_ours.append([g.get(key) for g in opt.param_groups])
        extra_theirs.append([g.get(key) for g in topt.param_groups])
    return np.array(ours), np.array(theirs), extra_ours, extra_theirs


CASES = {
    "StepLR": ({"step_size": 3}, {"step_size": 4, "gamma": 0.5}),
    "ExponentialLR": ({"gamma": 0.9}, {"gamma": 0.5}),
    "CosineAnnealingLR": ({"T_max": 10}, {"T_max": 7, "eta_min": 0.001}),
    "LinearLR": ({}, {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 8}),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("which", [0, 1])
def test_schedules_match_torch(name, which):
    kwargs = CASES[name][which]
    opt, sched, topt, tsched = _pair(
        lambda o: getattr(lr_scheduler, name)(o, **kwargs),
        lambda o, torch: getattr(torch.optim.lr_scheduler, name)(o, **kwargs))
    ours, theirs, _, _ = _sequences(opt, sched, topt, tsched, 40)  # past T_max: back up
    assert np.abs(ours - theirs).max() < 1e-15
    assert len(np.unique(ours[:, 0])) > 2  # the schedule really moves
    assert [g["lr"] for g in opt.param_groups] == list(ours[-1])


@pytest.mark.parametrize("opt_name, key, kwargs", [
    ("SGD", "momentum", {"max_lr": 0.5, "total_steps": 30}),
    ("Adam", "betas", {"max_lr": [0.1, 0.05], "epochs": 3, "steps_per_epoch": 9,
                       "anneal_strategy": "linear"}),
    ("AdamW", "betas", {"max_lr": 0.1, "total_steps": 25, "three_phase": True,
                        "pct_start": 0.25}),
    ("SGD", "momentum", {"max_lr": 0.5, "total_steps": 20, "cycle_momentum": False,
                         "div_factor": 10.0, "final_div_factor": 100.0}),
])
def test_one_cycle_matches_torch_lr_and_momentum(opt_name, key, kwargs):
    opt_kw = {"momentum": 0.9} if opt_name == "SGD" else {}
    opt, sched, topt, tsched = _pair(
        lambda o: lr_scheduler.OneCycleLR(o, **kwargs),
        lambda o, torch: torch.optim.lr_scheduler.OneCycleLR(o, **kwargs),
        opt_name, **opt_kw)
    steps = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    ours, theirs, m_ours, m_theirs = _sequences(opt, sched, topt, tsched, steps - 1, key=key)
    assert np.abs(ours - theirs).max() < 1e-15
    assert np.abs(np.array(m_ours, dtype=float) - np.array(m_theirs, dtype=float)).max() < 1e-15
    with pytest.raises(ValueError, match=f"OneCycleLR: stepped {steps + 1} times, but "
                                         f"total_steps is {steps}"):
        sched.step()
        sched.step()


@pytest.mark.parametrize("kwargs", [
    {},
    {"patience": 2, "factor": 0.5},
    {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2},
    {"patience": 0, "factor": 0.5, "min_lr": [0.01, 0.004], "threshold_mode": "rel"},
])
def test_reduce_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(0)
    metrics = list(np.r_[np.linspace(1, 0.5, 5), 0.5 + rng.uniform(0, 0.05, 35)])
    opt, sched, topt, tsched = _pair(
        lambda o: lr_scheduler.ReduceLROnPlateau(o, **kwargs),
        lambda o, torch: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs))
    ours, theirs, _, _ = _sequences(opt, sched, topt, tsched, 40, metrics=metrics)
    assert np.abs(ours - theirs).max() < 1e-15
    assert len(np.unique(ours[:, 0])) > 1  # it did reduce
    sched.step(mg.tensor(0.1))  # a one-element Tensor is a metric too


def test_scheduler_state_dict_resumes():
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    state, opt_state = sched.state_dict(), opt.state_dict()
    rates = []
    for _ in range(4):
        sched.step()
        rates.append(sched.get_last_lr()[0])
    opt2 = optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    opt2.load_state_dict(opt_state)
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10, last_epoch=3)
    sched2.load_state_dict(state)
    again = []
    for _ in range(4):
        sched2.step()
        again.append(sched2.get_last_lr()[0])
    assert again == rates


def test_scheduler_errors():
    opt = optim.Adagrad([mg.zeros(1, requires_grad=True)])
    with pytest.raises(TypeError, match="StepLR: expected a minigrad optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(KeyError, match=r"last_epoch=4 needs param_groups\[0\]\['initial_lr'\]"):
        lr_scheduler.ExponentialLR(opt, gamma=0.9, last_epoch=4)
    with pytest.raises(ValueError, match="Adagrad has no momentum or betas to cycle"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="give total_steps, or epochs and steps_per_epoch"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, cycle_momentum=False)
    with pytest.raises(ValueError, match="max_lr has 2 values but the optimizer has 1"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=5, cycle_momentum=False)
    with pytest.raises(ValueError, match="LinearLR: start_factor must lie in"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max'"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="lowest")
