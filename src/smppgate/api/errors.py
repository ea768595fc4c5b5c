"""HTTP errors: one exception carrying the status and the JSON error body it becomes.

Every error answer has the same shape: ``{"error": {"code", "message", "field"?}}``; the
error middleware in `app.py` translates the service's typed errors into these.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: ``status``, a stable ``code``, a message saying what to fix."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code}
        if self.field is not None:
            error["field"] = self.field
        error["message"] = self.message
        error.update(self.extra)
        return {"error": error}


def invalid(field: str, message: str) -> ApiError:
    """422: a field's value is wrong."""
    return ApiError(422, "validation_error", message, field=field)
