"""The session's fast paths, fenced here so that ``session.py`` reads as one path.

Both roles' hot loop is the same two steps: many plain requests (submit_sm, deliver_sm) move
from a queue into the window, and their responses come back in bulk. ``send_batch`` and
``receive_frames`` do those two steps without the general path's per-PDU checks and calls;
anything unusual (a bind or an unbind in the queue, a sequence number to skip, a response that
is not the plain answer to a plain request, a frame the specialised decoder refuses) goes to
the general path (``Session.send_request``, ``Session._handle_frame``) right where it is met.

The property test ``tests/property/test_session_fast_path.py`` holds the two paths to the same
events, the same bytes and the same window for any queue and any incoming bytes (a session
with ``_fast_path = False`` takes only the general path). Written as h11's ``_readers.py``:
the general path is the definition, this module only its quicker equivalent.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple

from smppgate.pdu import (
    BODIES,
    MAX_SEQUENCE_NUMBER,
    CommandId,
    Pdu,
    PduError,
    encode,
    frame_decoder,
    pdu_encoder,
)
from smppgate.pdu.constants import RESPONSE_BIT
from smppgate.session.errors import LocalProtocolError
from smppgate.session.events import Event, ResponseReceived
from smppgate.session.states import State

if TYPE_CHECKING:
    from smppgate.session.session import Session


class Pending(NamedTuple):
    """A request sent and waiting for its response."""

    request: Pdu
    context: object
    sent_at: float
    deadline: float
    counted: bool  # takes a window slot
    end: int  # the request's bytes end at this offset of the outgoing stream (bytes_out)


class SendResult(NamedTuple):
    """What ``Session.send_from`` did: how many requests it wrote, and the ones it took off
    the queue but could not send (each with its context and the error), which fail alone."""

    sent: int
    failed: list[tuple[Any, PduError | LocalProtocolError]]


# tuple.__new__ straight: half the cost of calling a NamedTuple class (its generated __new__
# is Python); the field order is the class's, attribute access stays by name
_new_tuple: Any = tuple.__new__
_HEADER_UNPACK = struct.Struct(">IIII").unpack_from
_ENCODERS = {body.cls: pdu_encoder(body.cls) for body in BODIES.values()}
# responses with a specialised decoder (submit_sm_resp, deliver_sm_resp)
_RESPONSE_DECODERS = {
    cid: decoder
    for cid in CommandId
    if cid & RESPONSE_BIT and (decoder := frame_decoder(cid)) is not None
}
_CLOSED = State.CLOSED


def send_batch(session: Session, queue: deque[tuple[Pdu, Any]], now: float) -> SendResult:
    """``Session.send_from`` for a bound session: plain requests written here, anything else
    through ``send_request``; the window accounting is caught up before each general-path
    item and at the end (also when an encoder raised something unexpected)."""
    plain = session._plain
    pending = session._pending
    out = session._out
    encoders = _ENCODERS
    failed: list[tuple[Any, PduError | LocalProtocolError]] = []
    window = session.config.window
    free = window - session._in_window
    popleft = queue.popleft
    seq = session._next_seq
    sent = fast = 0  # fast: sent below, not yet counted in session._in_window
    any_fast = False  # a request of this call is pending with ``deadline``
    written = session.bytes_out
    # every plain request's timeout is the response timeout: one deadline for the batch
    deadline = now + session.config.response_timeout
    try:
        while free > 0 and queue:
            pdu, context = popleft()
            if pdu.command_id not in plain or seq > MAX_SEQUENCE_NUMBER or seq in pending:
                # anything unusual (bind, unbind, a sequence number to skip): the general path
                session._next_seq = seq if seq <= MAX_SEQUENCE_NUMBER else 1
                session._in_window += fast
                sent += fast
                fast = 0
                session.bytes_out = written
                try:
                    session.send_request(pdu, now, context)
                except (PduError, LocalProtocolError) as exc:
                    failed.append((context, exc))
                else:
                    sent += 1
                written = session.bytes_out
                seq = session._next_seq
                if not session.state.is_bound:  # (send_request changed it: an unbind)
                    break  # what follows waits for another session
                free = window - session._in_window
                plain = session._plain
                continue
            try:
                frame = encoders.get(pdu.__class__, encode)(pdu, seq)
            except PduError as exc:
                failed.append((context, exc))
                continue
            out.append(frame)
            written += len(frame)
            pending[seq] = _new_tuple(Pending, (pdu, context, now, deadline, True, written))
            seq += 1
            free -= 1
            fast += 1
            any_fast = True
    finally:
        # also when an encoder raised something unexpected: what went out is counted
        session.bytes_out = written
        session._next_seq = seq if seq <= MAX_SEQUENCE_NUMBER else 1
        session._in_window += fast
        # only when a request went out here: a general-path one (an enquire_link, with its
        # own longer timeout) set the floor itself in send_request
        floor = session._deadline_floor
        if any_fast and floor is not None and deadline < floor:
            session._deadline_floor = deadline
    sent += fast
    if sent:
        session.last_sent = now
    return SendResult(sent, failed)


def receive_frames(session: Session, frames: list[bytes], now: float, events: list[Event]) -> None:
    """``Session.receive_data`` after framing: the response to a submit_sm / deliver_sm this
    session sent is decoded by its specialised decoder and matched here; every other frame,
    and anything odd, goes to ``Session._handle_frame``."""
    pending = session._pending
    append = events.append
    response_decoders = _RESPONSE_DECODERS
    response_bit = RESPONSE_BIT
    answered = 0  # responses matched below, not yet taken out of session._in_window
    for frame in frames:
        _, cid, status, seq = _HEADER_UNPACK(frame)
        decoder = response_decoders.get(cid)
        if decoder is not None:
            waiting: Pending | None = pending.get(seq)
            if waiting is not None and waiting.request.command_id | response_bit == cid:
                try:
                    pdu = decoder(frame, status, seq)
                except PduError:
                    pass  # _handle_frame reports it
                else:
                    del pending[seq]
                    answered += waiting.counted
                    append(
                        _new_tuple(
                            ResponseReceived,
                            (waiting.request, pdu, waiting.context, waiting.sent_at),
                        )
                    )
                    continue
        session._in_window -= answered
        answered = 0
        session._handle_frame(frame, now, events)
        if session._state is _CLOSED:
            break  # closed while handling: the rest of the chunk belongs to no session
    session._in_window -= answered
