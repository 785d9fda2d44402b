"""The step-through page in a real headless Chromium, with no network."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import minigrad as mg
from minigrad import viz

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def _chromium(tmp_path, *args):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_page_loads_runs_and_shows_the_requested_step(tmp_path):
    x = mg.tensor(2.0, requires_grad=True, name="x")
    w = mg.tensor(-3.0, requires_grad=True, name="w")
    o = mg.tanh(x * w + 6.88)
    o.name = "o"
    page = viz.write_stepthrough(o, tmp_path / "steps.html")
    n = len(viz.backward_steps(o))
    result = _chromium(tmp_path, "--dump-dom", f"{page.as_uri()}#3")
    dom = result.stdout
    assert 'data-ready="yes"' in dom, result.stderr[-2000:]  # the script ran to the end
    assert 'data-step="3"' in dom and f"step 3 of {n}" in dom
    assert dom.count('class="frame current"') == 1
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, "--window-size=1200,800", f"--screenshot={shot}", f"{page.as_uri()}#2")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_node_of_each_step_is_on_screen_in_a_long_graph(tmp_path):
    x = mg.tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(25):  # 51 nodes deep: far larger than the window
        y = mg.tanh(y * 1.01)
    page = viz.write_stepthrough(y, tmp_path / "long.html")
    for step in (1, 26, 51):
        result = _chromium(tmp_path, "--window-size=1280,720", "--dump-dom",
                           f"{page.as_uri()}#{step}")
        dom = result.stdout
        assert f'data-step="{step}"' in dom, result.stderr[-2000:]
        assert 'data-node-visible="yes"' in dom
