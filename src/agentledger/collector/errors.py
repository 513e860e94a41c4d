"""Why a request was not accepted, classified so every receiver maps it to the right status.

Receivers (HTTP and gRPC) translate these into OTLP's codes: only overload and an unavailable
store are retryable; bad data never is.
"""

from __future__ import annotations

__all__ = ["InvalidRequest", "Overloaded", "RejectedRequest", "Unauthenticated", "Unavailable"]


class RejectedRequest(Exception):
    """Base class; ``retry_after`` (seconds) is set only for retryable refusals."""

    retry_after: float | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(RejectedRequest):
    """Undecodable or malformed data: HTTP 400, gRPC INVALID_ARGUMENT. Not retryable."""


class Unauthenticated(RejectedRequest):
    """Missing, wrong or revoked API key: HTTP 401, gRPC UNAUTHENTICATED."""


class Overloaded(RejectedRequest):
    """Over capacity or over the tenant's rate: HTTP 429, gRPC RESOURCE_EXHAUSTED + RetryInfo."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(RejectedRequest):
    """The store (and the spool) cannot take data now: HTTP 503, gRPC UNAVAILABLE + RetryInfo."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
