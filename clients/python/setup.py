"""Build hook of intrinsix-client: generate the gRPC/protobuf modules from the protocol files.

The .proto files live in the repository's proto/ folder (../../proto); an sdist carries a copy in
./proto. `build_py` runs `grpc_tools.protoc` into the package `intrinsix_client._proto`
(`intrinsix_client._proto.intrinsix.v1.service_pb2`, ...) and makes the imports between the
generated modules relative, so the package is self-contained; the descriptor names stay
`intrinsix/v1/*.proto`, so this package and the server's copy can share one process.

The generated code requires a protobuf runtime at least as new as the generator and grpcio at
least as new as grpcio-tools, so those floors are taken from the build environment.
"""

from __future__ import annotations

import re
import shutil
from importlib import metadata, resources
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
PACKAGE = "intrinsix_client"


def proto_root() -> Path:
    for candidate in (HERE / "proto", HERE.parent.parent / "proto"):  # sdist copy, then the repository
        if any((candidate / "intrinsix" / "v1").glob("*.proto")):
            return candidate
    raise RuntimeError(f"no protocol files: expected proto/intrinsix/v1/*.proto next to {HERE} or at "
                       f"{HERE.parent.parent / 'proto'}")


def generate(target: Path) -> None:
    """Generate the protocol package into `target` (the folder of intrinsix_client._proto)."""
    from grpc_tools import protoc

    root = proto_root()
    protos = sorted(str(p) for p in (root / "intrinsix" / "v1").glob("*.proto"))
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    well_known = resources.files("grpc_tools") / "_proto"
    args = ["grpc_tools.protoc", f"-I{root}", f"-I{well_known}", f"--python_out={target}", f"--pyi_out={target}",
            f"--grpc_python_out={target}", *protos]
    if protoc.main(args) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {protos}")
    v1 = target / "intrinsix" / "v1"
    for path in list(v1.glob("*.py")) + list(v1.glob("*.pyi")):
        text = re.sub(r"^from intrinsix\.v1 import ", "from . import ", path.read_text(), flags=re.MULTILINE)
        if re.search(r"^(from|import) intrinsix\.v1", text, flags=re.MULTILINE):
            raise RuntimeError(f"{path}: an import of intrinsix.v1 this build does not rewrite")
        path.write_text(text)
    (target / "__init__.py").write_text('"""Generated protocol modules (from proto/; do not edit)."""\n')
    (target / "intrinsix" / "__init__.py").write_text("")
    (v1 / "__init__.py").write_text("")


class BuildPyWithProto(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # editable installs import the package from the source folder
            generate(HERE / PACKAGE / "_proto")
        else:
            generate(Path(self.build_lib) / PACKAGE / "_proto")


class SdistWithProto(sdist):
    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        source = proto_root() / "intrinsix" / "v1"
        destination = Path(base_dir) / "proto" / "intrinsix" / "v1"
        destination.mkdir(parents=True, exist_ok=True)
        for proto in source.glob("*.proto"):
            shutil.copy2(proto, destination / proto.name)


setup(
    cmdclass={"build_py": BuildPyWithProto, "sdist": SdistWithProto},
    install_requires=[f"grpcio>={metadata.version('grpcio-tools')}", f"protobuf>={metadata.version('protobuf')}"],
)
