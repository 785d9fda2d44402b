"""mg.set_allocator_cache(): an explicit opt-in that keeps freed array memory for the next
step (glibc only; see minigrad/_malloc.py). Importing minigrad never changes malloc."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

import minigrad as mg
from minigrad import _malloc

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

STEPS = """
import os, resource, numpy as np, minigrad as mg
if os.environ.get("CACHE") == "call":
    mg.set_allocator_cache()
rng = np.random.default_rng(0)
W1 = mg.tensor(rng.standard_normal((64, 128)) / 8, requires_grad=True)
W2 = mg.tensor(rng.standard_normal((128, 10)) / 11, requires_grad=True)
x = mg.tensor(rng.standard_normal((512, 64)))
def step():
    loss = ((x @ W1).tanh() @ W2).tanh().mean()
    W1.grad = W2.grad = None
    loss.backward()
    with mg.no_grad():
        W1.data -= 0.1 * W1.grad.data
        W2.data -= 0.1 * W2.grad.data
for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
"""


def _faults_per_step(env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", STEPS], env={**os.environ, **env},
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="the malloc settings exist on glibc only")
def test_training_steps_reuse_memory_instead_of_faulting_it_in_again() -> None:
    # arrays of 512 x 128 float64 (512 KiB): without the settings glibc maps and
    # unmaps them every step, and each page is faulted in again
    assert _faults_per_step({"CACHE": "call"}) < 5
    assert _faults_per_step({"MINIGRAD_MALLOC": "keep"}) < 5  # the opt-in at import
    assert _faults_per_step({}) > 20  # the default: malloc as the program set it


def test_importing_minigrad_changes_nothing_process_wide() -> None:
    code = ("import gc, warnings, numpy as np; opts = np.get_printoptions(); "
            "filters = list(warnings.filters); gc_on = gc.isenabled(); "
            "import minigrad, minigrad._malloc as m; "
            "assert not m.applied; assert np.get_printoptions() == opts; "
            "assert warnings.filters == filters; assert gc.isenabled() == gc_on")
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_MALLOC"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def test_the_setting_is_a_documented_function() -> None:
    assert mg.set_allocator_cache is _malloc.set_allocator_cache
    assert mg.set_allocator_cache() is _malloc.applied
    assert mg.tensor([1.0]).item() == 1.0
