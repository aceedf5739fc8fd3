#!/usr/bin/env bash
# Development build without installing: compiles the kernels into .dev/<name>/build and makes a
# source-linked `intrinsix` package in .dev/<name>/site, so several builds can live side by side.
# Usage:  source tools/dev_env.sh [name]     (then: pytest tests/kernels)
# Extra CMake arguments can be passed in INTRINSIX_CMAKE_ARGS, e.g. -DINTRINSIX_CUDA_CHECK=ON.
_name="${1:-main}"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_dev="$_root/.dev/$_name"
mkdir -p "$_dev/site/intrinsix"
for folder in cli kernels generator pbr training texturing server; do
  [ -d "$_root/$folder" ] && ln -sfn "$_root/$folder" "$_dev/site/intrinsix/$folder"
done
printf '"""IntrinsiX (development tree)."""\n__version__ = "0+dev"\n' > "$_dev/site/intrinsix/__init__.py"
cmake -S "$_root" -B "$_dev/build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${INTRINSIX_CMAKE_ARGS:-} >/dev/null \
  && cmake --build "$_dev/build" -j 2 || { echo "dev_env: build failed" >&2; return 1 2>/dev/null || exit 1; }
# Generated protocol modules (cmake/proto.cmake writes them into the build tree).
[ -d "$_dev/build/python/intrinsix/proto" ] && ln -sfn "$_dev/build/python/intrinsix/proto" "$_dev/site/intrinsix/proto"
export PYTHONPATH="$_dev/site${PYTHONPATH:+:$PYTHONPATH}"
export INTRINSIX_KERNELS_LIB="$_dev/build/libintrinsix_kernels.so"
echo "dev_env: PYTHONPATH=$_dev/site INTRINSIX_KERNELS_LIB=$INTRINSIX_KERNELS_LIB"
