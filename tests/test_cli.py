"""Tests of the command line, ``python -m goldlab``: help is fast, a bad profile is a usage error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from goldlab.lab.cli import LOOPS, STEPS, main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "goldlab", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_lists_commands():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for command in ("ablation", "variants", "depth", "memory", "walk-forward"):
        assert command in result.stdout


def test_ablation_help_lists_options():
    result = run_cli("ablation", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--profile", "--out", "--steps", "--seeds", "--epochs", "--horizons", "--target-kind"):
        assert option in result.stdout


def test_help_does_not_import_keras():
    code = (
        "import sys\nfrom goldlab.lab.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("False"), result.stdout + result.stderr


def test_steps_come_from_the_blog_module_without_keras():
    import subprocess
    import sys

    from goldlab import blog
    from goldlab.models import STEPS as MODEL_STEPS

    assert STEPS is blog.STEPS and MODEL_STEPS is blog.STEPS
    code = "import sys, goldlab.lab.cli; sys.exit('keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0, "--help stays free of Keras"


def test_loops_match_goldlab_loops():
    from goldlab.lab.loops import LOOPS as LOOP_NAMES

    assert LOOPS == LOOP_NAMES


@pytest.mark.parametrize("command", ["ablation", "variants", "depth", "memory", "walk-forward"])
def test_bad_profile_is_a_usage_error(command, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--profile", "huge", "--out", str(tmp_path)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "'huge'" in err and "quick" in err and "full" in err
    assert not any(tmp_path.iterdir())


def test_bad_profile_from_env(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GOLDLAB_PROFILE", "huge")
    with pytest.raises(SystemExit) as exit_info:
        main(["ablation", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "GOLDLAB_PROFILE" in capsys.readouterr().err


def test_unknown_step_is_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ablation", "--out", str(tmp_path), "--steps", "deeper"])
    assert exit_info.value.code == 2
    assert "baseline" in capsys.readouterr().err


def test_memory_init_draws_trains_nothing(tmp_path, capsys):
    assert "--init-draws" in run_cli("memory", "--help").stdout
    main(["memory", "--profile", "quick", "--out", str(tmp_path), "--init-draws"])
    assert "no initialisations drawn" in capsys.readouterr().out, "quick draws none"
    assert not any(tmp_path.iterdir()), "no run, no table"
