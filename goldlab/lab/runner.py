"""The one cached runner: every experiment's runs are folders, read back when saved, trained when not.

A run is a dict of small tables (``pandas.DataFrame``, saved as ``<key>.csv``) and records (``dict``, saved
as ``<key>.json``). :func:`cached` returns the run saved in its folder, or trains it and writes the folder
whole: into a temporary sibling, renamed into place, so an interrupted experiment leaves no half run and
resumes where it stopped, and several processes can share one results folder. Each experiment names its run
folders by everything that changes the run (its configuration), so a run of other sizes is never taken for
another's. The seed ablation, the variants, the depth sweep, the long-memory grid and the walk-forward all
train through it; :mod:`goldlab.lab.loops` sits behind their training.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

__all__ = [
    "cached",
    "is_saved",
    "machine_description",
    "read_run",
    "write_table",
    "write_text",
    "write_whole",
]


def is_saved(folder: Path | None) -> bool:
    """Whether ``folder`` holds a saved run (folders are written whole, so one that exists is complete)."""
    return folder is not None and folder.is_dir()


def read_run(
    folder: Path, keys: Iterable[str] | None = None, dates: Iterable[str] = ()
) -> dict[str, pd.DataFrame | dict]:
    """The saved run in ``folder``: its ``keys`` (default: every file), CSVs as tables with the columns in
    ``dates`` parsed as dates, JSON files as records."""
    files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix in (".csv", ".json")}
    wanted = list(files) if keys is None else list(keys)
    missing = [k for k in wanted if k not in files]
    if missing:
        raise FileNotFoundError(f"{folder}: no {', '.join(missing)} in this run")
    run: dict[str, pd.DataFrame | dict] = {}
    for key in wanted:
        path = files[key]
        if path.suffix == ".json":
            run[key] = json.loads(path.read_text())
        else:
            header = pd.read_csv(path, nrows=0).columns
            run[key] = pd.read_csv(path, parse_dates=[c for c in dates if c in header])
    return run


def cached(
    folder: Path | None,
    train: Callable[[], dict],
    keys: Iterable[str] | None = None,
    dates: Iterable[str] = (),
) -> dict[str, pd.DataFrame | dict]:
    """The run saved in ``folder`` (its ``keys``, as :func:`read_run` reads them), else ``train()``'s run,
    written whole into ``folder`` first. With ``folder`` None the run is trained and kept nowhere."""
    if is_saved(folder):
        return read_run(folder, keys, dates)
    run = train()
    if folder is not None:
        write_whole(folder, {f"{k}.json" if isinstance(v, dict) else f"{k}.csv": v for k, v in run.items()})
    return run


def write_whole(folder: Path, files: dict[str, pd.DataFrame | dict], replace: bool = False) -> None:
    """Write ``files`` into ``folder`` atomically: into a temporary sibling, then renamed into place. A
    folder already there is kept (another process wrote the same run first), or with ``replace`` swapped
    out whole for the new one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if replace and folder.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
        os.replace(folder, old / folder.name)
        try:
            write_whole(folder, files)
        except BaseException:
            os.replace(old / folder.name, folder)
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
        return
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, content in files.items():
            if isinstance(content, pd.DataFrame):
                content.to_csv(tmp / name, index=False, float_format="%.6g")
            else:
                (tmp / name).write_text(json.dumps(content, indent=1, default=float))
        try:
            os.replace(tmp, folder)
        except OSError:
            if not folder.is_dir():
                raise
            shutil.rmtree(tmp)  # another process wrote the same run first: keep its whole folder
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(text: str, path: Path) -> None:
    """Write a text file atomically: into a temporary sibling, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically (temporary file, then rename)."""
    write_text(df.to_csv(index=False, float_format="%.6g"), path)


def machine_description() -> str:
    """One line naming this machine: CPU model and cores, accelerator if any, Keras backend and versions."""
    import keras  # here, not at the top: reading saved runs needs no Keras

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    backend = keras.backend.backend()
    return (
        f"{cpu}, {os.cpu_count()} cores; device: {_device(backend)}; Keras {keras.__version__} on {backend}; "
        f"Python {platform.python_version()}"
    )


def _device(backend: str) -> str:
    """The accelerator the backend trains on, in words ("CPU" without one)."""
    if backend == "jax":
        import jax

        return ", ".join(sorted({d.device_kind for d in jax.devices()}))
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"{len(gpus)} GPU(s)" if gpus else "CPU"
    return "CPU"
