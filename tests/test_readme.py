"""The README's example runs as printed, and its two set-up commands are the ones CI uses."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_example_prints_what_the_readme_says():
    code = _blocks("python")[0]
    after = README.split(code, 1)[1]
    printed = re.search(r"prints\s*```\n(.*?)```", after, flags=re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip() == printed.strip()


def test_every_python_block_in_the_readme_runs():
    for code in _blocks("python"):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "README.md", "exec"), {})


def test_readme_commands_are_two_and_ci_reads_the_test_command():
    main = re.search(r"<!-- main-command -->\n\s+(.+)", README).group(1)
    test = re.search(r"<!-- test-command -->\n\s+(.+)", README).group(1)
    assert main.startswith("python -m pip install") and "minigrad demo" in main
    assert test == 'python -m pip install -e ".[all]" && python -m pytest'
    assert "test-command" in (ROOT / ".ci" / "run").read_text()
