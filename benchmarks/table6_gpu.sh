#!/usr/bin/env bash
# Table 6 and Fig. 6 on one lent GPU (H200/H100): Keras 3 on JAX, no TensorFlow.
#
# Run from the repository root on the device machine, as one command, with these carried
# (ignored) folders: .whl/ (the wheels of keras, namex and optree: gpu_training.md says how),
# .data/cifar10-jpeg.tar.gz (a local CIFAR-10 copy), and runs/table6/ when an earlier lease
# began the runs (this script's runs.tar.gz, unpacked), so that they resume.
#   DEPTHS="20 56" TIME_LIMIT=480 PARALLEL=4 RESNET_GIT_COMMIT=<sha> bash benchmarks/table6_gpu.sh
# Writes to $OUT (at most 8 files come back): gpu.txt, table6.log, records.tar.gz (the
# CSV/JSON records, to unpack into resnet_lib/records/table6), runs.tar.gz (the newest
# checkpoint of each run, to carry into the next lease).
set -euo pipefail
source benchmarks/device_env.sh /tmp/table6
DATA=${DATA:-.data/cifar10-jpeg.tar.gz}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt" || true
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" \
  | tee -a "$OUT/gpu.txt"
status=0
python3 -m resnet_lib.reproduce table6 --depths ${DEPTHS:-20 56} --plain --data-source "$DATA" \
  --out /tmp/records/table6 --runs runs/table6 --time-limit "${TIME_LIMIT:-480}" \
  --parallel "${PARALLEL:-4}" --commit "${RESNET_GIT_COMMIT:-unknown}" ${SMOKE:+--smoke} \
  2>&1 | tee "$OUT/table6.log" || status=$?
tar czf "$OUT/records.tar.gz" -C /tmp/records table6
# the newest checkpoint of each run, its history and best weights: enough to resume
tar czf "$OUT/runs.tar.gz" --exclude='*.log' runs/table6
ls -la "$OUT"
exit $status
