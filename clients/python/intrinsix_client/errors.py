"""Errors raised by the SDK (besides grpc.RpcError for refused calls)."""

from __future__ import annotations


class IntrinsiXError(Exception):
    """Base class of the SDK's own errors."""


class JobFailed(IntrinsiXError):
    """The job ended without a result: FAILED, CANCELLED or INTERRUPTED (see .state, .code)."""

    def __init__(self, job_id: str, state: str, code: int, message: str):
        super().__init__(f"job {job_id} {state.lower()}: {message} (code {code})")
        self.job_id = job_id
        self.state = state  # "FAILED", "CANCELLED" or "INTERRUPTED"
        self.code = code  # google.rpc.Code
        self.message = message


class ResultError(IntrinsiXError):
    """The delivered result is inconsistent (checksum, size, order, unsafe file name)."""


class StreamLost(IntrinsiXError):
    """The job stream failed more often than the resume budget allows."""
