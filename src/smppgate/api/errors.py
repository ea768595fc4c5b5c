"""HTTP errors: one exception carrying the status and the problem document it becomes.

Every error answer is an RFC 9457 problem document (``application/problem+json``)::

    {"type": "/problems/validation_error", "title": "Invalid field", "status": 422,
     "detail": "...", "instance": "/v1/messages", "code": "validation_error", "field": "to",
     "error": {"code": "validation_error", "field": "to", "message": "..."}}

``type`` is a stable relative URI per ``code`` (``about:blank`` for a bare HTTP status with no
meaning of ours: ``http_error``); ``code``, ``field`` and a code's own members (``retry_after``,
``message_id``, ...) are extension members. ``error`` is the 0.x body kept as an extension
member so that clients reading ``error.code`` go on working; it is deprecated (CHANGELOG).
The error middleware in `app.py` translates the service's typed errors into these.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

#: the media type of every error answer (RFC 9457 section 3)
PROBLEM_JSON = "application/problem+json"
#: where each code's ``type`` points: ``/problems/<code>``, relative to the gateway's address
PROBLEM_BASE = "/problems/"
#: the code of an HTTP status that has no meaning of ours: its type is ``about:blank`` and its
#: title the status phrase (RFC 9457 section 4.2.1)
GENERIC_CODE = "http_error"

#: every code's title: short, the same for every occurrence of the code (RFC 9457 3.1.3)
TITLES: dict[str, str] = {
    "malformed_json": "Malformed JSON body",
    "invalid_idempotency_key": "Invalid Idempotency-Key",
    "bad_request": "Malformed HTTP request",
    "unauthorized": "Missing or invalid API key",
    "host_not_allowed": "Host not allowed",
    "origin_not_allowed": "Cross-site request refused",
    "account_forbidden": "Account not allowed for this client",
    "operator_only": "Operator clients only",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "request_timeout": "Request body timed out",
    "idempotency_conflict": "Idempotency-Key reused for a different request",
    "not_cancellable": "Message can no longer be cancelled",
    "body_too_large": "Request too large",
    "batch_too_large": "Batch too large",
    "unsupported_media_type": "Body not sent as application/json",
    "validation_error": "Invalid field",
    "rate_limited": "Request rate exceeded",
    "quota_exceeded": "Daily quota exceeded",
    "internal_error": "Internal error",
    "store_unavailable": "Store unavailable",
    "ops_unavailable": "Ops view unavailable",
}


def problem_type(code: str) -> str:
    """The ``type`` URI-reference of ``code``."""
    return "about:blank" if code == GENERIC_CODE else PROBLEM_BASE + code


def title_of(code: str, status: int) -> str:
    if code in TITLES:
        return TITLES[code]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


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

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document; ``instance``: the request's path (or, for an error with no
        request to name, omitted)."""
        problem: dict[str, Any] = {
            "type": problem_type(self.code),
            "title": title_of(self.code, self.status),
            "status": self.status,
            "detail": self.message,
        }
        if instance is not None:
            problem["instance"] = instance
        problem["code"] = self.code
        legacy: dict[str, Any] = {"code": self.code}
        if self.field is not None:
            problem["field"] = legacy["field"] = self.field
        legacy["message"] = self.message
        # a code's own members never replace the standard ones
        problem.update({k: v for k, v in self.extra.items() if k not in problem})
        legacy.update(self.extra)
        problem["error"] = legacy  # deprecated: the 0.x body
        return problem

    def encode(self, instance: str | None = None) -> bytes:
        return json.dumps(self.body(instance), ensure_ascii=False).encode()


def invalid(field: str, message: str) -> ApiError:
    """422: a field's value is wrong."""
    return ApiError(422, "validation_error", message, field=field)
