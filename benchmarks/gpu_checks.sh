#!/usr/bin/env bash
# The GPU checks of issue #15 in one run, on a machine with a CUDA GPU (e.g. a lent device machine, 10 minutes):
#   1. the fused CUDA LIF kernel against the reference loop (bit-identical spikes, BPTT gradients) and the CPU
#      kernel and dispatcher tests, with QSEARCH_REQUIRE_FUSED=1 (a kernel that does not build fails);
#   2. benchmarks/trial_speed.py --device cuda: qsearch vs the Norse step loop, both on the GPU;
#   3. the default study (studies/digits.yaml, 200 trials, journal storage) with --workers auto on the GPU;
#   4. the default test suite (services and slow tests excluded: no databases there), model.device auto = CUDA;
#   5. benchmarks/lif_cuda_paths.py: the Python loop vs the fused kernel vs torch.compile;
#   6. the same default study on the same machine with CUDA hidden (CPU only, 16 workers): what the cores alone give.
# Each step has its own time limit, so a slow step cuts itself, not the rest. Everything goes to $OUT/gpu_checks.log.
# Wheels of packages the machine lacks may lie in .whl/ (see /work/.library/device/README.md): installed first.
#
#   bash benchmarks/gpu_checks.sh [OUT_DIR]
set -u
OUT_DIR=${1:-${OUT:-/tmp/gpu_checks}}
mkdir -p "$OUT_DIR"
exec > >(tee -a "$OUT_DIR/gpu_checks.log") 2>&1
export PYTHONUNBUFFERED=1 QSEARCH_REQUIRE_FUSED=1
PY=${PYTHON:-python3}
T0=$(date +%s)
step() { echo; echo "=== $1 (t=$(( $(date +%s) - T0 )) s)"; }

step "setup"
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
nvidia-smi -L; nproc
$PY -c "import torch, optuna, norse; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), torch.cuda.get_device_name(0), 'optuna', optuna.__version__, 'norse', norse.__version__)"

step "1. fused CUDA kernel vs reference; CPU kernel; dispatcher; devices"
timeout 240 $PY -m pytest -q -p no:cacheprovider tests/snn/test_fused_lif_cuda.py tests/snn/test_fused_lif.py \
  tests/snn/test_lif_dispatch.py tests/test_devices.py 2>&1 | tail -15

step "2. trial_speed --device cuda"
timeout 130 $PY benchmarks/trial_speed.py --device cuda --repeats 3

study_rate() {  # label, workers, then env assignments: the default study on journal storage, trials per hour
  local label=$1 workers=$2 limit=$3; shift 3
  local journal=/tmp/rate-$label.log start end
  rm -rf "$journal" "$journal".*
  start=$(date +%s.%N)
  env "$@" timeout "$limit" $PY -m qsearch.cli run studies/digits.yaml --storage "journal:$journal" --study-name rate \
    --workers "$workers" --no-report > "/tmp/rate-$label.out" 2>&1
  echo "exit $?"; tail -3 "/tmp/rate-$label.out"
  end=$(date +%s.%N)
  $PY - "$journal" "$start" "$end" "$label" <<'EOF'
import sys, optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage
journal, start, end, label = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
study = optuna.load_study(study_name="rate", storage=JournalStorage(JournalFileBackend(journal)))
done = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
devices = sorted({str(t.user_attrs.get("device")) for t in done})
wall = end - start
print(f"study_rate {label}: {len(done)} finished trials in {wall:.1f} s wall -> {3600 * len(done) / wall:.0f} trials/hour "
      f"(devices {devices})")
EOF
}

step "3. default study on the GPU (--workers auto)"
study_rate gpu_auto auto 150

step "4. default test suite on the CUDA machine (not slow, not browser, not services)"
timeout 170 $PY -m pytest -q -p no:cacheprovider -n 14 -m "not slow and not browser and not services" \
  --timeout 120 2>&1 | tail -25

step "5. LIF paths on CUDA: loop, fused, torch.compile"
timeout 90 $PY benchmarks/lif_cuda_paths.py --repeats 30

step "6. default study with CUDA hidden (CPU only, 16 workers)"
study_rate cpu16 16 75 CUDA_VISIBLE_DEVICES=

step "done"
