#!/usr/bin/env bash
# Build the bundled demo model on a CUDA machine straight from a source checkout, the way the
# committed model was built (docs/demo-model.md). The kernels extension (needed by stage 2's
# re-render loss) compiles in the background while the bank, the VAE, the base and stage 1 train;
# `train demo --wait-for-kernels` holds stage 2 until the library is in place (copied there
# atomically once the build has finished).
#
#   training/demo/device_build.sh OUT_DIR [more `intrinsix train demo` options]
#
# INTRINSIX_EVAL_SEEDS="0 1" then evaluates the new model on the GPU at those seeds (`intrinsix eval
# demo --seed S --out OUT_DIR.eval-S`), so one device run measures what it built.
#
# Needs python3 with torch (CUDA), diffusers, transformers, accelerate, peft, safetensors; cmake,
# ninja and nvcc. INTRINSIX_CUDA_ARCHS (default 90) picks the GPU architectures.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [train demo options]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$1"
shift
site="$(mktemp -d)"
mkdir -p "$site/intrinsix"
for folder in cli kernels generator pbr training texturing server; do
  ln -s "$root/$folder" "$site/intrinsix/$folder"
done
printf '"""IntrinsiX (source tree)."""\n__version__ = "0+dev"\n' > "$site/intrinsix/__init__.py"
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
export INTRINSIX_KERNELS_LIB="$site/libintrinsix_kernels.so"
log="$site/kernels-build.log"
(
  export INTRINSIX_PROTO=OFF
  if cmake -S "$root" -B "$site/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINTRINSIX_CUDA=ON \
        -DINTRINSIX_CUDA_ARCHS="${INTRINSIX_CUDA_ARCHS:-90}" > "$log" 2>&1 \
     && nice cmake --build "$site/build" -j "$(nproc)" >> "$log" 2>&1; then
    cp "$site/build/libintrinsix_kernels.so" "$INTRINSIX_KERNELS_LIB.tmp"
    mv "$INTRINSIX_KERNELS_LIB.tmp" "$INTRINSIX_KERNELS_LIB"
    echo "kernels: built in ${SECONDS} s"
  else
    echo "kernels: build FAILED, last lines of $log:"
    tail -n 20 "$log"
  fi
) &
builder=$!
python3 -m intrinsix.training.demo train --out "$out" --device cuda --wait-for-kernels 420 "$@"
wait "$builder"
for seed in ${INTRINSIX_EVAL_SEEDS:-}; do
  python3 -m intrinsix.training.demo eval --model "$out" --device cuda --seed "$seed" --out "$out.eval-$seed"
done
