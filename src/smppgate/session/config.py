"""Timer and window settings of one session. Defaults are the Devino platform's rules; the
timers the platform leaves open (Part D 6 of the spec) get conservative values."""

from __future__ import annotations

from dataclasses import dataclass

from smppgate.pdu import DEFAULT_MAX_COMMAND_LENGTH


@dataclass(frozen=True, slots=True)
class SessionConfig:
    window: int = 10
    """Most requests we may have waiting for a response (enquire_link and unbind excepted)."""
    response_timeout: float = 30.0
    """Seconds after which a request with no response is reported as timed out."""
    enquire_link_idle: float = 60.0
    """ESME: send enquire_link only after this long with no PDU at all received (D-12)."""
    enquire_link_timeout: float = 30.0
    """ESME: no enquire_link_resp within this long -> unbind and close (D-13)."""
    unbind_timeout: float = 5.0
    """How long to wait for unbind_resp before closing anyway."""
    bind_timeout: float = 30.0
    """ESME: wait this long for bind_resp. SMSC: close a connection not bound by then."""
    max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH
    defer_incoming_answers: bool = False
    """ESME: deliver_sm / data_sm are answered (still status 0, D-10) when the application
    calls ``Session.acknowledge`` — after it has stored them — instead of as they are read."""

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")
        for name in (
            "response_timeout",
            "enquire_link_idle",
            "enquire_link_timeout",
            "unbind_timeout",
            "bind_timeout",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
