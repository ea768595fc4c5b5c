"""What an ``SmscServer`` asks of its user. Subclass and override; the defaults make a server
that takes every connection and refuses every bind and request (a safe start)."""

from __future__ import annotations

from smppgate.pdu import CommandStatus, GenericNack, Pdu
from smppgate.session import BindRequested
from smppgate.smsc.connection import ServerConnection
from smppgate.smsc.server import Delivery, SmscServer


class SmscHandler:
    """The server's callbacks, all on the loop thread; none may block. ``server`` is set by
    the owner once the server exists."""

    server: SmscServer

    # -- connections
    def connection_made(self, connection: ServerConnection) -> bool:
        """A client connected: True keeps it, False drops it at once."""
        return True

    def connection_lost(self, connection: ServerConnection) -> None:
        """A kept connection ended (the server already forgot it as bound)."""

    # -- binds
    def bind(self, connection: ServerConnection, event: BindRequested) -> None:
        """Authenticate: answer with ``server.accept_bind`` or ``server.reject_bind`` (now, or
        later while the session waits)."""
        self.server.reject_bind(connection, event, CommandStatus.ESME_RBINDFAIL)

    def peer_unbound(self, connection: ServerConnection) -> None:
        """The client sent unbind (the session answered it and closes)."""

    # -- requests
    def request(self, connection: ServerConnection, pdu: Pdu) -> None:
        """A request the session's table allows in this state; answer every one."""
        self.server.answer(
            connection, pdu, GenericNack(command_status=CommandStatus.ESME_RINVCMDID)
        )

    def protocol_error(self, connection: ServerConnection, detail: str) -> None:
        """The session answered a malformed or misplaced PDU (generic_nack or an error
        _resp); ``detail`` says what and with which status."""

    def unexpected_response(self, connection: ServerConnection, pdu: Pdu) -> None:
        """A response matching nothing we sent, or a generic_nack to something we sent."""

    # -- deliveries
    def delivery_queued(self, system_id: str, delivery: Delivery) -> None:
        """No receiver had room: the delivery waits in the server's queue."""

    def delivery_sent(self, connection: ServerConnection, delivery: Delivery) -> None:
        """The deliver_sm went into ``connection``'s window."""

    def delivery_answered(
        self, connection: ServerConnection, delivery: Delivery, response: Pdu
    ) -> None:
        """The client answered the deliver_sm (a deliver_sm_resp or a generic_nack)."""

    def delivery_timed_out(
        self, connection: ServerConnection, delivery: Delivery, sequence_number: int
    ) -> None:
        """No answer within the response timeout (the session then unbinds, per its rules)."""

    def delivery_dropped(self, system_id: str, delivery: Delivery) -> None:
        """The queue of ``system_id`` was full: its oldest delivery is given up."""
