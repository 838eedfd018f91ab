#!/usr/bin/env bash
# The device check of benchmarks/gpu_training.md, as one script: Keras 3 on JAX, no TensorFlow.
# On the lent GPU machine (JAX with CUDA installed, no Keras), from the repository root, with
# the wheels of keras, namex and optree in .whl/ (see gpu_training.md). Writes to $OUT.
set -euo pipefail
source benchmarks/device_env.sh /tmp/gpu_check
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" | tee -a "$OUT/gpu.txt"
python3 benchmarks/gpu_training.py --augment both --json "$OUT/gpu_training.json" 2>&1 | tee "$OUT/gpu_training.log"
# Ours against keras.applications.ResNet50, one training step each, alternating (float32).
python3 benchmarks/model_step_time.py --image-size 224 --batch-size 128 --rounds 20 --warmup 3 2>&1 \
  | grep -v cuda_timer | tee "$OUT/model_step_time.log"
