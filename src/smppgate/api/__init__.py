"""HTTP: the app factory, request/response schemas (separate from store models), thin routes,
the OpenAPI document and its HTML page."""

from smppgate.api.app import create_app
from smppgate.api.keys import Readiness

__all__ = ["Readiness", "create_app"]
