#!/usr/bin/env bash
# The full profile on a machine without a GPU: Keras-JAX on the CPU (about 3x faster than TensorFlow there),
# each step's seeds trained together (--loop stacked), walk-forward one compiled call per epoch.
# Writes results/full/ (resumable: rerun to continue); then `make execute GOLDLAB_PROFILE=full` re-executes
# the notebooks on it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOLDLAB_PROFILE=full KERAS_BACKEND=${KERAS_BACKEND:-jax} TF_CPP_MIN_LOG_LEVEL=2
py=.venv/bin/python
$py -m goldlab ablation --profile full --out results/full --loop stacked
$py - <<'PY'
from goldlab.lab import experiments as ex
from goldlab.lab.profiles import get_profile

p = get_profile("full")
ex.run_ablation(
    target_kind="return", seeds=p.epilogue_seeds, epochs=p.epilogue_epochs, profile=p, out="results/full",
    loop="stacked",
)
PY
$py -m goldlab walk-forward --profile full --out results/full --loop epoch
