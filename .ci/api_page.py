"""Write book/api.md from the module lists in the docstrings of goldlab and goldlab.lab.

The API page is generated, so it cannot drift from the package: ``python .ci/api_page.py`` rewrites it, and
``tests/test_packaging.py`` fails when the committed page differs from what this writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "book" / "api.md"
INTRO = """# API reference

Generated from the docstrings of the `goldlab` package by `.ci/api_page.py` (do not edit by hand).
"""


def modules(doc: str) -> list[tuple[str, str]]:
    """The (name, description) rows under a docstring's ``Modules`` heading."""
    table = doc.split("-------", 1)[1]
    return re.findall(r"^(\w+)\s{2,}(.+)$", table, flags=re.M)


def page() -> str:
    """The API page: the core's modules, then the lab's, each listed and then documented."""
    import goldlab
    import goldlab.lab

    parts = [INTRO]
    sections = [
        ("The core", "goldlab", goldlab.__doc__),
        ("The book's machinery", "goldlab.lab", goldlab.lab.__doc__),
    ]
    for title, package, doc in sections:
        rows = modules(doc)
        parts.append(f"## {title}: `{package}`\n")
        parts.append("\n".join(f"- `{package}.{name}`: {text}" for name, text in rows) + "\n")
        for name, _ in rows:
            rst = f".. automodule:: {package}.{name}\n   :members:"
            parts.append(f"### `{package}.{name}`\n\n```{{eval-rst}}\n{rst}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    PAGE.write_text(page())
    sys.exit(0)
