"""Bearer-token authentication through gRPC metadata.

Clients send `authorization: Bearer <token>`. Tokens come from a file (one per line, `#` comments)
and/or an environment variable (comma-separated); they are never logged and never stored: the
job table keeps only an owner id derived from the token (SHA-256), which is how a job stays
visible to the token that made it and to no other.

Comparison is constant-time: the presented token is hashed to a fixed length and compared with
`hmac.compare_digest` against every configured token, without an early exit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import grpc

METADATA_KEY = "authorization"
SCHEME = "Bearer "
TOKENS_ENV = "INTRINSIX_TOKENS"
MIN_TOKEN_CHARS = 16
# Owner id of every job when authentication is off.
ANONYMOUS = ""


class AuthError(Exception):
    """A call failed authentication; `code` is UNAUTHENTICATED or PERMISSION_DENIED."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def _check_token(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{where}: tokens must have at least {MIN_TOKEN_CHARS} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        raise ValueError(f"{where}: tokens must not contain whitespace or control characters")
    return token


def load_tokens(token_file: str | os.PathLike | None = None, env: str = TOKENS_ENV) -> tuple[str, ...]:
    """Tokens from `token_file` (one per line; blank lines and `#` comments skipped) and from the
    environment variable `env` (comma-separated). Errors say where the bad token is, never what."""
    tokens: list[str] = []
    if token_file is not None:
        path = Path(token_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read the token file {str(path)!r}: {exc.strerror}") from None
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                tokens.append(_check_token(line, f"{path}, line {number}"))
    raw = os.environ.get(env, "")
    for position, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if item:
            tokens.append(_check_token(item, f"environment variable {env}, entry {position}"))
    return tuple(dict.fromkeys(tokens))


def owner_id(token: str) -> str:
    """Stable owner id of a token: hex SHA-256 (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenAuth:
    """Checks the bearer token of a call. With no tokens configured every call is anonymous."""

    def __init__(self, tokens: Sequence[str]):
        self._digests = tuple(hashlib.sha256(t.encode("utf-8")).digest() for t in tokens)

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def owner(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        """Owner id for a call's invocation metadata; raises AuthError."""
        if not self.enabled:
            return ANONYMOUS
        values = [value for key, value in (metadata or ()) if key.lower() == METADATA_KEY]
        if not values:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED,
                            f"this server needs a token: send metadata '{METADATA_KEY}: {SCHEME}<token>'")
        if len(values) > 1:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, f"send exactly one '{METADATA_KEY}' metadata entry")
        value = values[0]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not value.startswith(SCHEME) or not value[len(SCHEME):].strip():
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED,
                            f"the '{METADATA_KEY}' metadata must have the form '{SCHEME}<token>'")
        token = value[len(SCHEME):].strip()
        presented = hashlib.sha256(token.encode("utf-8")).digest()
        match = False
        for digest in self._digests:  # no early exit: the time does not depend on which token matched
            match |= hmac.compare_digest(presented, digest)
        if not match:
            raise AuthError(grpc.StatusCode.PERMISSION_DENIED, "the token is not valid for this server")
        return presented.hex()
