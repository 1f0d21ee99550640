"""Chapter 5's cost table: seconds of training per 1,000 sequences, per model and T, from the grid's runs.

Every run of the long-memory grid (``goldlab.lab.memory``) times each epoch of ``chunk`` fresh sequences; the
first epoch, which compiles, is left out. This script gathers those times from a grid folder into
``benchmarks/memory_cost.csv`` (model × T, the median over seeds, with the machine and backend) and prints
the table, with the CPU-hours a full run of each cell costs at the grid's budget, so a run plan can be made
before training. Times come from the machine that trained each run, under whatever else it was running:
``MACHINE.md`` in the grid folder says which.

    python benchmarks/memory_cost.py [--grid results/full/memory] [--out benchmarks/memory_cost.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="results/full/memory", help="a long-memory grid folder")
    parser.add_argument("--out", default="benchmarks/memory_cost.csv")
    args = parser.parse_args()
    from goldlab.lab import memory  # imports Keras: after the arguments

    table = pd.read_csv(Path(args.grid) / "memory.csv")
    cost = memory.cost_table(table)
    budget = table.groupby(["model", "T"], sort=False)["budget"].first().to_numpy()
    cost["budget_s"] = cost["sec_per_1000"] * budget / 1000
    cost.to_csv(args.out, index=False, float_format="%.4g")
    wide = cost.pivot(index="model", columns="T", values="sec_per_1000").reindex(
        [m for m in memory.MODELS if m in set(cost["model"])]
    )
    print("seconds per 1,000 training sequences (median over seeds):")
    print(wide.round(3).to_string())
    print(f"\nwhole budget of every cell, all seeds: {cost['budget_s'].mul(cost['runs']).sum() / 3600:.1f} h")


if __name__ == "__main__":
    main()
