"""Tidy executed notebooks before they are committed.

- Removes cell timing metadata.
- Removes TensorFlow's C++ start-up lines (absl, CUDA, oneDNN, CPU features) from every stderr output, and
  the output if nothing else is left: they say nothing about the page, and a reader of the book would see
  them. ``goldlab.book.setup`` keeps them off a page that runs it first; this cleans pages run otherwise.
- From cells nbval checks (tag ``nbval-check-output``, or the comment ``# NBVAL_CHECK_OUTPUT``), removes all
  stderr output: backend start-up logs land there on
  some backends and not on others, and nbval compares every output stream of such cells.

Usage: ``python .ci/clean_notebooks.py NOTEBOOK...``.
"""

import re
import sys

import nbformat

START_UP = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IWE]\d{4} [\d:.]+ +\d+ \w+\.cc:\d+\]"
    r"|To enable the following instructions"
    r"|.*rebuild TensorFlow with the appropriate compiler flags)"
)


def _without_start_up(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not START_UP.match(line))


def clean(path: str) -> int:
    nb = nbformat.read(path, as_version=4)
    removed = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        checked = cell.source.startswith("# NBVAL_CHECK_OUTPUT") or "nbval-check-output" in cell.get(
            "metadata", {}
        ).get("tags", [])
        kept = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                out.text = "" if checked else _without_start_up(out.text)
                if not out.text:
                    removed += 1
                    continue
            kept.append(out)
        cell.outputs = kept
    nbformat.write(nb, path)
    return removed


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"{path}: removed {clean(path)} stderr output(s)")
