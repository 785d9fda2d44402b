"""The README's and the docs' links resolve inside the repository; the API reference
covers every public module; CI builds the site and runs the notebooks.

The strict site build itself (`mkdocs build --strict`, which also fails on a broken
link or a missing reference) runs in CI after the test command: README,
"Documentation".
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# The public namespaces, as users write them; each needs a "::: name" block in the reference.
PUBLIC_MODULES = [
    "minigrad", "minigrad.autograd", "minigrad.nn", "minigrad.nn.functional", "minigrad.nn.init",
    "minigrad.nn.utils", "minigrad.optim", "minigrad.optim.lr_scheduler", "minigrad.losses",
    "minigrad.linalg", "minigrad.viz", "minigrad.data", "minigrad.models",
    "minigrad.distributions", "minigrad.compile",
]

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's and Python-Markdown's anchor for a heading (lower case, punctuation dropped)."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [a or b for a, b in _LINK.findall(text)]


def _check_links(path: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for link in _links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            broken.append(f"{link} (no such file)")
        elif root not in file.parents:
            broken.append(f"{link} (outside the repository)")
        elif anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), flags=re.M)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(f"{link} (no heading #{anchor} in {file.name})")
    return broken


def test_readme_links_resolve_inside_the_repository():
    assert _links(README), "the README has no links to check"
    assert _check_links(README) == []


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")) + sorted(DOCS.glob("*/*.md")),
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_docs_page_links_resolve(page: Path):
    assert _check_links(page) == []


def test_the_link_checker_catches_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [bad](missing.md) [anchor](#nope)\n")
    assert len(_check_links(page, root=tmp_path)) == 2


def test_readme_links_the_docs_and_the_api_contract():
    text = README.read_text(encoding="utf-8")
    assert "(docs/api.md)" in text and "(docs/index.md)" in text and "mkdocs serve" in text
    assert "../shared" not in text


def _exists(module: str) -> bool:
    """Whether minigrad has this module, by its file (the docs read the source, not imports)."""
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_every_public_module_has_a_reference_block():
    blocks = set()
    for page in (DOCS / "reference").glob("*.md"):
        blocks |= set(re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), flags=re.M))
    tree = ast.parse((ROOT / "minigrad" / "__init__.py").read_text(encoding="utf-8"))
    namespaces = {f"minigrad.{a.name}" for node in ast.walk(tree)  # from minigrad import nn, ...
                  if isinstance(node, ast.ImportFrom) and node.module == "minigrad"
                  for a in node.names if not a.name.startswith("_")}
    assert {"minigrad.nn", "minigrad.viz", "minigrad.losses"} <= namespaces
    missing = [m for m in sorted(set(PUBLIC_MODULES) | namespaces)
               if _exists(m) and m not in blocks]
    assert missing == [], f"add a '::: name' block to docs/reference/ for {missing}"


@pytest.mark.parametrize("page", ["index.md", "getting-started.md"])
def test_docs_python_examples_run(page: str):
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{page} has no Python example"
    for code in blocks:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, page, "exec"), {})


def test_every_reference_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in (DOCS / "reference").glob("*.md"):
        assert f"reference/{page.name}" in nav, f"{page.name} is missing from mkdocs.yml's nav"


def test_ci_runs_the_docs_command_from_the_readme():
    text = README.read_text(encoding="utf-8")
    command = re.search(r"<!-- docs-command -->\n\s+(.+)", text).group(1)
    assert "--nbmake docs/notebooks" in command and "mkdocs build --strict" in command
    assert ".[docs]" in command
    assert "docs-command" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_license_matches_the_metadata():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "the minigrad authors" in text
    assert "docs" in meta["optional-dependencies"] and meta["classifiers"]
