"""The notebook course (docs/notebooks) is stored clean: no outputs, no execution counts.

The notebooks are executed by `python -m pytest --nbmake docs/notebooks` and by the
docs build (mkdocs-jupyter), both run by CI after the test command (README,
"Documentation"); these checks are the fast part that runs with every `pytest`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))


def test_the_course_has_its_five_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert [n[:3] for n in names] == ["01_", "02_", "03_", "04_", "05_"], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cells"
    for i, cell in enumerate(code):
        assert cell["outputs"] == [], (f"{path.name}: code cell {i} has stored outputs; "
                                       "clear them (jupyter nbconvert --clear-output --inplace)")
        assert cell["execution_count"] is None, f"{path.name}: code cell {i} has an execution count"
    for cell in nb["cells"]:
        assert "attachments" not in cell, f"{path.name}: a cell carries an attachment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_a_title_and_draws_a_graph(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = "".join(nb["cells"][0]["source"])
    assert nb["cells"][0]["cell_type"] == "markdown" and re.match(r"# \d\. ", first), first[:80]
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "mg.viz.draw_graph(" in source, f"{path.name} renders no graph inline"


def test_every_notebook_is_in_the_site_and_its_index():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    index = (ROOT / "docs" / "notebooks" / "index.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in nav, f"{path.name} is missing from mkdocs.yml's nav"
        assert f"({path.name})" in index, f"{path.name} is missing from docs/notebooks/index.md"
