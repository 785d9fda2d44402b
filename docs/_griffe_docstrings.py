"""A griffe extension for the API reference: minigrad's docstrings as NumPy-style sections.

minigrad's docstrings are written for ``help()`` and doctest first: examples often
follow the text (or a Parameters section) without an ``Examples`` heading, and a
paragraph of prose may follow the parameter list. Read strictly as NumPy style,
the examples would be parsed as parameters and the prose as parameter names. This
extension adds the missing headings before the docstrings are parsed: ``Examples``
before the first ``>>>`` line outside an Examples section, ``Notes`` before a
prose paragraph inside a Parameters / Attributes section. It also leaves out
undocumented instance state (``self.n = ...`` in ``__init__``) and undocumented
special methods (the operators).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(Parameters|Other Parameters|Returns|Yields|Receives|Raises|Warns|"
                      r"Attributes|Methods|Examples|Notes|See Also|References|Warnings)\s*$")
_ITEM = re.compile(r"^\*{0,2}[\w.]+(\s*,\s*\*{0,2}[\w.]+)*(\s*:.*)?$")  # "x", "a, b", "x : int"
_LISTS = ("Parameters", "Other Parameters", "Attributes")


def normalize(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    section = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _HEADING.match(line) and nxt.strip() and set(nxt.strip()) == {"-"}:
            section = line.strip()
        elif line.startswith(">>>") and section != "Examples":
            if out and out[-1].strip():
                out.append("")
            out += ["Examples", "--------"]
            section = "Examples"
        elif (section in _LISTS and line.strip() and not line[0].isspace()
              and (not out or not out[-1].strip()) and not _ITEM.match(line)):
            out += ["Notes", "-----"]
            section = "Notes"
        out.append(line)
    return "\n".join(out)


class NumpySections(griffe.Extension):
    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if getattr(obj, "docstring", None) is not None:
            obj.docstring.value = normalize(obj.docstring.value)

    def on_class_members(self, *, cls: Any, **kwargs: Any) -> None:
        """Drop what is not API: ``self.x = ...`` assignments without a docstring
        (unless ``__slots__`` declares them, as Tensor's ``data`` and ``grad``) and
        special methods without one (operators; ``__init__`` merges into the class)."""
        slots = cls.members.get("__slots__")
        declared = str(getattr(slots, "value", "")) if slots is not None else ""
        for name, member in list(cls.members.items()):
            undocumented = member.docstring is None
            state = (member.is_attribute and "instance-attribute" in member.labels
                     and f"'{name}'" not in declared and f'"{name}"' not in declared)
            special = name.startswith("__") and name.endswith("__") and name != "__init__"
            if undocumented and (state or special):
                del cls.members[name]
