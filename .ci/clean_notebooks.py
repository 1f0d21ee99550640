"""Tidy executed notebooks before they are committed.

Removes cell timing metadata and, from cells marked ``# NBVAL_CHECK_OUTPUT``, stderr output: backend start-up
logs land there on some backends (Keras-JAX imports TensorFlow for ``set_random_seed``) and not on others, and
nbval compares every output stream of such cells. Usage: ``python .ci/clean_notebooks.py NOTEBOOK...``.
"""

import sys

import nbformat


def clean(path: str) -> int:
    nb = nbformat.read(path, as_version=4)
    removed = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and cell.source.startswith("# NBVAL_CHECK_OUTPUT"):
            kept = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
            removed += len(cell.outputs) - len(kept)
            cell.outputs = kept
    nbformat.write(nb, path)
    return removed


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"{path}: removed {clean(path)} stderr output(s) from checked cells")
