"""Command line: ``python -m goldlab ablation --profile full --out results/full``."""

from __future__ import annotations

import argparse
import sys
import time

from goldlab.blog import STEPS  # constants only: ``--help`` does not import Keras

#: goldlab.lab.loops.LOOPS, likewise.
LOOPS: tuple[str, ...] = ("fit", "epoch", "stacked")
LOOP_HELP = (
    "fit: Keras model.fit; epoch: one compiled call per epoch (JAX or TensorFlow); stacked: a step's seeds "
    "trained together in one program (JAX). Default: fit"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m goldlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    abl = sub.add_parser("ablation", help="train the blog's steps over seeds and horizons; resumable")
    abl.add_argument("--profile", default=None, help="quick or full (default: $GOLDLAB_PROFILE, else quick)")
    abl.add_argument("--out", required=True, help="results folder; runs already in it are not trained again")
    abl.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS)
    abl.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the profile's)")
    abl.add_argument("--epochs", type=int, default=None, help="epochs per run (default: the profile's)")
    abl.add_argument("--horizons", type=int, nargs="+", default=None, help="default: the profile's")
    abl.add_argument("--target-kind", default="level", choices=("level", "return"))
    abl.add_argument("--loop", default="fit", choices=LOOPS, help=LOOP_HELP)
    mem = sub.add_parser("memory", help="the long-memory experiment (adding problem) and its gold check")
    mem.add_argument("--profile", default=None, help="quick or full (default: $GOLDLAB_PROFILE, else quick)")
    mem.add_argument("--out", default=None, help="default: results/<profile>/memory; saved runs are kept")
    mem.add_argument("--lengths", type=int, nargs="+", default=None, help="default: the profile's")
    mem.add_argument("--models", nargs="+", default=None, help="default: the profile's")
    wf = sub.add_parser("walk-forward", help="rolling-origin evaluation, one test year at a time")
    wf.add_argument("--profile", default=None)
    wf.add_argument("--out", required=True)
    wf.add_argument("--steps", nargs="+", default=["baseline"], choices=STEPS)
    wf.add_argument("--loop", default="fit", choices=LOOPS[:2], help=LOOP_HELP.split("; stacked")[0])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from goldlab.lab import experiments  # imports Keras: after argument parsing, so --help stays fast

    try:
        experiments.get_profile(args.profile)
    except ValueError as err:
        _parser().error(str(err))
    start = time.perf_counter()
    if args.command == "memory":
        return _memory(args, start)
    if args.command == "ablation":
        table = experiments.run_ablation(
            steps=args.steps,
            seeds=args.seeds,
            epochs=args.epochs,
            horizons=args.horizons,
            profile=args.profile,
            out=args.out,
            target_kind=args.target_kind,
            loop=args.loop,
        )
        summary = table.groupby(["horizon", "step"], sort=False)[["mae", "mase"]].mean()
    else:
        table = experiments.walk_forward(steps=args.steps, profile=args.profile, out=args.out, loop=args.loop)
        summary = table.groupby(["target_kind", "model"], sort=False)[["mase"]].mean()
    print(summary.round(3).to_string())
    print(f"done in {time.perf_counter() - start:.0f} s; results in {args.out}", file=sys.stderr)
    return 0


def _memory(args: argparse.Namespace, start: float) -> int:
    from goldlab.lab import memory

    table = memory.run_grid(args.profile, args.out, lengths=args.lengths, models=args.models)
    print(memory.phase_table(table).to_string())
    if args.models is not None or args.lengths is not None:
        return 0  # a part of the grid (several processes share it): the gold check runs with the whole
    gold = memory.run_gold(args.profile, args.out)
    print(gold.groupby(["horizon", "window", "model"])[["mae", "mase", "dm_p"]].mean().round(3).to_string())
    print(f"done in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
