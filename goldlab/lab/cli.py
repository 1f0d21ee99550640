"""The one command line, ``python -m goldlab <experiment> --profile ... [--out ...]``: every experiment of the
book trains (or reads back) through it, e.g. ``python -m goldlab ablation --profile full --out results/full``.
Runs already saved under the results folder are read back, not trained again."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from goldlab.blog import STEPS  # constants only: ``--help`` does not import Keras

#: goldlab.lab.loops.LOOPS, likewise.
LOOPS: tuple[str, ...] = ("fit", "epoch", "stacked")
PROFILE_HELP = "quick or full (default: $GOLDLAB_PROFILE, else quick)"
LOOP_HELP = (
    "fit: Keras model.fit; epoch: one compiled call per epoch (JAX or TensorFlow); stacked: a step's seeds "
    "trained together in one program (JAX). Default: fit"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m goldlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    abl = sub.add_parser("ablation", help="train the blog's steps over seeds and horizons; resumable")
    abl.add_argument("--profile", default=None, help=PROFILE_HELP)
    abl.add_argument("--out", required=True, help="results folder; runs already in it are not trained again")
    abl.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS)
    abl.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the profile's)")
    abl.add_argument("--epochs", type=int, default=None, help="epochs per run (default: the profile's)")
    abl.add_argument("--horizons", type=int, nargs="+", default=None, help="default: the profile's")
    abl.add_argument("--target-kind", default="level", choices=("level", "return"))
    abl.add_argument("--loop", default="fit", choices=LOOPS, help=LOOP_HELP)
    var = sub.add_parser("variants", help="the blog's untested variants, trained briefly")
    var.add_argument("--profile", default=None, help=PROFILE_HELP)
    var.add_argument("--out", default=None, help="default: results/<profile>; saved runs are kept")
    dep = sub.add_parser("depth", help="the depth sweep on gold, with and without skips (chapter 4)")
    dep.add_argument("--profile", default=None, help=PROFILE_HELP)
    dep.add_argument("--out", default=None, help="default: results/<profile>/depth; saved runs are kept")
    mem = sub.add_parser("memory", help="the long-memory experiment (adding problem) and its gold check")
    mem.add_argument("--profile", default=None, help=PROFILE_HELP)
    mem.add_argument("--out", default=None, help="default: results/<profile>/memory; saved runs are kept")
    mem.add_argument("--lengths", type=int, nargs="+", default=None, help="default: the profile's")
    mem.add_argument("--models", nargs="+", default=None, help="default: the profile's")
    mem.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="default: all the profile's (0, 1, ...)"
    )
    mem.add_argument(
        "--init-draws",
        action="store_true",
        help="only draw the blog's steps 2 and 3 at initialisation (the orthogonal claim; no training)",
    )
    wf = sub.add_parser("walk-forward", help="rolling-origin evaluation, one test year at a time")
    wf.add_argument("--profile", default=None, help=PROFILE_HELP)
    wf.add_argument("--out", required=True, help="results folder; folds already in it are not trained again")
    wf.add_argument("--steps", nargs="+", default=["baseline"], choices=STEPS)
    wf.add_argument("--loop", default="fit", choices=LOOPS[:2], help=LOOP_HELP.split("; stacked")[0])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from goldlab.lab import profiles  # imports no Keras; the experiments do, after argument parsing

    try:
        profiles.get_profile(args.profile)
    except ValueError as err:
        _parser().error(str(err))
    start = time.perf_counter()
    print(COMMANDS[args.command](args))
    where = f"; results in {args.out}" if args.out else ""
    print(f"{args.command} done in {time.perf_counter() - start:.0f} s{where}", file=sys.stderr)
    return 0


def _ablation(args: argparse.Namespace) -> str:
    from goldlab.lab import experiments

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
    return table.groupby(["horizon", "step"], sort=False)[["mae", "mase"]].mean().round(3).to_string()


def _walk_forward(args: argparse.Namespace) -> str:
    from goldlab.lab import experiments

    table = experiments.walk_forward(steps=args.steps, profile=args.profile, out=args.out, loop=args.loop)
    return table.groupby(["target_kind", "model"], sort=False)[["mase"]].mean().round(3).to_string()


def _variants(args: argparse.Namespace) -> str:
    import keras

    from goldlab.lab import variants

    with tempfile.TemporaryDirectory(prefix="goldlab-jax-") as cache:
        if keras.backend.backend() == "jax" and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
            import jax  # the seeds of one variant compile the same program: compile it once

            jax.config.update("jax_compilation_cache_dir", cache)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
        tables = variants.run_all(args.profile, args.out)
    return "\n".join(f"{name}: {len(table)} rows" for name, table in tables.items())


def _depth(args: argparse.Namespace) -> str:
    from goldlab.lab import depth

    table = depth.run_depth(args.profile, args.out)
    return depth.skip_gain(table).round(3).to_string(index=False)


def _memory(args: argparse.Namespace) -> str:
    from goldlab.lab import memory

    if args.init_draws:
        draws = memory.init_draws(args.profile, args.out)
        if draws.empty:
            return "no initialisations drawn: the profile's memory_init_draws is 0, or it has neither step"
        return memory.init_gains(draws).to_string()
    table = memory.run_grid(args.profile, args.out, args.lengths, args.models, seeds=args.seeds)
    phase = memory.phase_table(table).to_string()
    if any(part is not None for part in (args.models, args.lengths, args.seeds)):
        return phase  # a part of the grid (several processes share it): the gold check runs with the whole
    gold = memory.run_gold(args.profile, args.out)
    means = gold.groupby(["horizon", "window", "model"])[["mae", "mase", "dm_p"]].mean()
    return phase + "\n" + means.round(3).to_string()


COMMANDS = {
    "ablation": _ablation,
    "variants": _variants,
    "depth": _depth,
    "memory": _memory,
    "walk-forward": _walk_forward,
}


if __name__ == "__main__":
    sys.exit(main())
