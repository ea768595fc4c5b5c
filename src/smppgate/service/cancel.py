"""Cancelling a message: allowed while nothing of it can have left (``queued`` or
``scheduled``); for one the SMSC already has (``submitted``), only through the platform's
cancel_sm, where the account's profile has it; refused with the reason otherwise. One rule
for the HTTP API (``DELETE /v1/messages/{id}``) and the SMPP front door (cancel_sm).

The store makes the decision atomically against the dispatcher's claim (store/schedule.py):
a message claimed at the same instant is either cancelled or sent, never both. A message
being sent (``sending``: its submit may be on the wire) is never cancelled. The Devino
profiles have no cancel_sm (the page promises query_sm, nothing more), so there a
submitted message is past cancelling; a profile that has it (``smpp34``, a declared one
without ``unsupported = ["cancel_sm"]``) asks the SMSC for every part not yet final, and the
message ends ``cancelled`` only when the SMSC agreed for all of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from smppgate.store import CancelResult, MessageState, Store, StoredMessage

__all__ = ["NotCancellableError", "UpstreamCancel", "cancel_message"]

UpstreamCancel = Callable[[StoredMessage], Awaitable[str | None]]
"""Asks the SMSC to cancel a submitted message (cancel_sm for each part not yet final):
None when it agreed for every one, else why not (``Gateway.cancel_upstream``)."""

_WHY = {
    MessageState.SENDING: "is being sent right now (the dispatcher has taken it); it can no "
    "longer be cancelled",
    MessageState.SUBMITTED: "was already submitted to the SMSC, which may deliver it at any "
    "moment; the gateway cannot take it back",
}


class NotCancellableError(Exception):
    """The message is past the point of cancelling; ``state`` is where it is."""

    def __init__(self, message_id: str, state: MessageState, why: str | None = None) -> None:
        reason = _WHY.get(state, f"is already final ({state.value}): there is nothing to cancel")
        super().__init__(f"message {message_id} {reason}" + (f" ({why})" if why else ""))
        self.message_id = message_id
        self.state = state


async def cancel_message(
    store: Store,
    message_id: str,
    now: float,
    *,
    by: str,
    tell_application: bool = True,
    upstream: UpstreamCancel | None = None,
) -> CancelResult:
    """Cancel ``message_id`` (``cancelled``, its webhook queued with it); a message cancelled
    before is returned as it is (cancelling is idempotent). A submitted one is cancelled at the
    SMSC through ``upstream`` when given. Raises `NotCancellableError` for one already on its
    way, `NotFound` for none."""
    result = await store.cancel_message(message_id, now, by=by, tell_application=tell_application)
    if result.state is MessageState.SUBMITTED:
        why = "cancel_sm at the platform is not offered here"
        if upstream is not None:
            detail = await store.get_message(message_id)
            refused = await upstream(detail.message)
            if refused is None:
                result = await store.cancel_message(
                    message_id, now, by=by, tell_application=tell_application, submitted=True
                )
            why = refused or why
        if result.state is not MessageState.CANCELLED:
            raise NotCancellableError(message_id, result.state, why)
    if result.state is not MessageState.CANCELLED:
        raise NotCancellableError(message_id, result.state)
    return result
