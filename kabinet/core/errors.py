"""Domain errors. Services raise them; the web and API layers map them to responses in one
place (`kabinet.core.api` for JSON, the views' form errors for pages).

Each error carries a stable machine `code` (the API contract's error codes) and a message
in the user's language.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    http_status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.default_code
        self.field = field


class ValidationFailed(DomainError):
    http_status = 422
    default_code = "validation_error"


class NotFound(DomainError):
    http_status = 404
    default_code = "not_found"


class PermissionDenied(DomainError):
    http_status = 403
    default_code = "forbidden"


class Conflict(DomainError):
    http_status = 409
    default_code = "conflict"


class RuleViolation(DomainError):
    """A well-formed request that the business rules refuse (not enough points, ...)."""

    http_status = 409
    default_code = "rule_violation"


class RateLimited(DomainError):
    http_status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after
