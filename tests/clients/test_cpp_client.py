"""Runs the C++ client core's GoogleTest suite (clients/cpp, through ctest) from pytest.

The suite builds the library with CMake against Debian's grpc++/protobuf and tests it against the
real server, started by the suite itself with this Python (`python -m intrinsix.server`). Skipped
when the C++ toolchain is not installed; clients/cpp/run_tests.sh runs the same without pytest.
A first build takes a few minutes on 2 cores; later runs reuse build/clients-cpp.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "clients" / "cpp" / "run_tests.sh"
NEEDED_TOOLS = ("cmake", "ctest", "protoc", "grpc_cpp_plugin", "pkg-config")


def _missing_toolchain() -> str | None:
    missing = [tool for tool in NEEDED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"C++ client toolchain not installed (missing {', '.join(missing)})"
    for package in ("grpc++", "protobuf"):
        if subprocess.run(["pkg-config", "--exists", package]).returncode != 0:
            return f"C++ client toolchain not installed (pkg-config finds no {package})"
    if not Path("/usr/lib/x86_64-linux-gnu/cmake/GTest").exists() and not Path("/usr/include/gtest").exists():
        return "C++ client toolchain not installed (GoogleTest: libgtest-dev)"
    return None


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_cpp_client_suite():
    missing = _missing_toolchain()
    if missing is not None:
        # CI installs the toolchain (.ci/run) and sets INTRINSIX_REQUIRE_CPP_TESTS: there a missing
        # toolchain is a failure, not a skip.
        if os.environ.get("INTRINSIX_REQUIRE_CPP_TESTS"):
            pytest.fail(missing)
        pytest.skip(missing)
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run(["bash", str(SCRIPT), str(ROOT / "build" / "clients-cpp")], env=env,
                            capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "100% tests passed" in output, output[-3000:]
