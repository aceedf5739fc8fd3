"""Server configuration: where to listen, where to keep jobs, which devices to run, input limits.

Every limit is an inclusive range; requests outside one are refused with INVALID_ARGUMENT and a
message that names the field and the range (see `intrinsix.server.validation`). Clients read the
limits with GetServerInfo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MIB = 1 << 20
# Largest TextureChunk / MeshChunk payload (the protocol's promise to clients).
MAX_CHUNK_BYTES = MIB


@dataclass(frozen=True)
class Limits:
    """Input limits (inclusive)."""

    max_prompt_chars: int = 2000  # prompt, each branch prompt and the negative prompt
    min_size: int = 64  # output width / height / room texture size, pixels
    max_size: int = 2048
    # Sizes are multiples of 16: the VAE downsamples by 8 and the transformer packs 2x2 latents.
    size_multiple: int = 16
    min_steps: int = 1
    max_steps: int = 100
    max_guidance: float = 20.0
    max_preview_size: int = 512  # longest side of preview images, pixels
    max_client_request_id_chars: int = 128
    max_material_name_chars: int = 64
    max_mesh_bytes: int = 256 * MIB
    max_vertices: int = 4_000_000
    max_triangles: int = 8_000_000

    def __post_init__(self) -> None:
        positive = ("max_prompt_chars", "min_size", "size_multiple", "min_steps", "max_preview_size",
                    "max_client_request_id_chars", "max_material_name_chars", "max_mesh_bytes",
                    "max_vertices", "max_triangles")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_size < self.min_size:
            raise ValueError(f"Limits.max_size ({self.max_size}) must be >= min_size ({self.min_size})")
        if self.max_steps < self.min_steps:
            raise ValueError(f"Limits.max_steps ({self.max_steps}) must be >= min_steps ({self.min_steps})")
        if not self.max_guidance >= 0:
            raise ValueError(f"Limits.max_guidance must be >= 0, got {self.max_guidance}")


@dataclass(frozen=True)
class TlsConfig:
    """PEM files for TLS. With `client_ca_path` the server also requires client certificates (mTLS)."""

    cert_path: Path
    key_path: Path
    client_ca_path: Path | None = None

    def credentials_bytes(self) -> tuple[bytes, bytes, bytes | None]:
        """(private key, certificate chain, client CA or None), read now so errors surface at start."""
        def read(path: Path, what: str) -> bytes:
            try:
                return Path(path).read_bytes()
            except OSError as exc:
                raise ValueError(f"cannot read the TLS {what} file {str(path)!r}: {exc.strerror}") from None

        key = read(self.key_path, "key")
        cert = read(self.cert_path, "certificate")
        ca = read(self.client_ca_path, "client CA") if self.client_ca_path is not None else None
        return key, cert, ca


@dataclass(frozen=True)
class ServerConfig:
    """Everything `IntrinsiXServer` needs besides the backend."""

    data_dir: Path  # SQLite job table + result files (created if missing)
    address: str = "127.0.0.1:50051"  # host:port; port 0 picks a free port (IntrinsiXServer.port)
    devices: tuple[str, ...] = ("cpu",)  # one worker (and one backend instance) per device
    queue_size: int = 64  # QUEUED jobs beyond this are refused with RESOURCE_EXHAUSTED
    retention_s: float = 7 * 24 * 3600.0  # terminal jobs and their files are deleted after this
    chunk_size: int = MAX_CHUNK_BYTES  # TextureChunk payload, bytes (<= 1 MiB)
    limits: Limits = field(default_factory=Limits)
    tokens: tuple[str, ...] = ()  # accepted bearer tokens; empty = no authentication
    tls: TlsConfig | None = None
    shutdown_grace_s: float = 30.0  # running jobs get this long to finish on shutdown
    stream_grace_s: float = 10.0  # then open streams get this long to deliver their last events

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "devices", tuple(self.devices))
        object.__setattr__(self, "tokens", tuple(self.tokens))
        if not self.devices:
            raise ValueError("devices must name at least one device, e.g. ('cpu',) or ('cuda:0', 'cuda:1')")
        if len(set(self.devices)) != len(self.devices):
            raise ValueError(f"devices must not repeat a device, got {self.devices}")
        if not 1 <= self.queue_size <= 100_000:
            raise ValueError(f"queue_size must be in 1..100000, got {self.queue_size}")
        if not 1 <= self.chunk_size <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk_size must be in 1..{MAX_CHUNK_BYTES} bytes, got {self.chunk_size}")
        if not self.retention_s > 0:
            raise ValueError(f"retention_s must be > 0 seconds, got {self.retention_s}")
        if self.shutdown_grace_s < 0 or self.stream_grace_s < 0:
            raise ValueError("shutdown_grace_s and stream_grace_s must be >= 0 seconds")
        if ":" not in self.address:
            raise ValueError(f"address must be host:port, got {self.address!r}")
