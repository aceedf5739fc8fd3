#!/usr/bin/env bash
# Configure, build and test the C++ client core against the real IntrinsiX server (loopback).
#
#   clients/cpp/run_tests.sh [BUILD_DIR]        (default: build/clients-cpp in the repository)
#
# Needs the Debian/Ubuntu packages
#   cmake pkg-config libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libgtest-dev
# and a Python that imports `intrinsix.server` (the installed package, or `source tools/dev_env.sh`).
# Environment: PYTHON (default: python3 on PATH), JOBS (parallel build jobs, default 2).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../../build/clients-cpp}"
python="${PYTHON:-$(command -v python3)}"
jobs="${JOBS:-2}"

if ! "$python" -c "import intrinsix.server" 2>/dev/null; then
  echo "run_tests.sh: '$python' cannot import intrinsix.server; install the package (pip install .) or" \
       "source tools/dev_env.sh first" >&2
  "$python" -c "import intrinsix.server" || true
  exit 1
fi

start=$(date +%s)
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$python"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure
echo "run_tests.sh: C++ client built and tested in $(( $(date +%s) - start )) s"
