"""How the SDK connects: TLS options, channel options, the token metadata."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

TOKEN_ENV = "INTRINSIX_TOKEN"
# Big enough for 1 MiB chunks and three preview images; keepalive pings notice a dead server on an
# idle stream (a denoising step can take seconds) without tripping the server's ping limits.
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", 8 << 20),
    ("grpc.max_send_message_length", 2 << 20),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
)


def _pem(value: str | os.PathLike | bytes | None, what: str) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the {what} file {str(value)!r}: {exc.strerror}") from None


@dataclass(frozen=True)
class TlsOptions:
    """TLS settings. Paths or PEM bytes. ca_cert None = the system's root certificates;
    client_cert + client_key for servers that require client certificates; server_name to check
    the certificate against another name than the address's host."""

    ca_cert: str | os.PathLike | bytes | None = None
    client_cert: str | os.PathLike | bytes | None = None
    client_key: str | os.PathLike | bytes | None = None
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client certificates need both client_cert and client_key")
        return grpc.ssl_channel_credentials(root_certificates=_pem(self.ca_cert, "CA certificate"),
                                            private_key=_pem(self.client_key, "client key"),
                                            certificate_chain=_pem(self.client_cert, "client certificate"))


def channel_setup(tls: bool | TlsOptions | None) -> tuple[grpc.ChannelCredentials | None, list[tuple[str, object]]]:
    """(credentials or None for plaintext, channel options)."""
    options = list(CHANNEL_OPTIONS)
    if tls is None or tls is False:
        return None, options
    settings = TlsOptions() if tls is True else tls
    if settings.server_name:
        options.append(("grpc.ssl_target_name_override", settings.server_name))
    return settings.credentials(), options


def token_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata for a token (none without one); `token` None also reads $INTRINSIX_TOKEN."""
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    if token is None:
        return ()
    if not token or any(ch.isspace() for ch in token):
        raise ValueError("token must be non-empty and contain no whitespace")
    return (("authorization", f"Bearer {token}"),)
