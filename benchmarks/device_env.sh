# Sourced by the device checks (gpu_check.sh, table6_gpu.sh): on the lent GPU machine (JAX
# with CUDA, no Keras), install the carried wheels (.whl/: keras, namex, optree) into
# /tmp/site and run Keras 3 on JAX from this checkout. Sets OUT (default $1) and makes it.
OUT=${OUT:-$1}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
