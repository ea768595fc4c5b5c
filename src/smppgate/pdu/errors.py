"""The codec's one family of errors: each carries the command_status a peer should get.

Whatever bytes arrive, decoding raises only ``PduError`` subclasses — never IndexError,
struct.error or UnicodeDecodeError — so the session can answer with the right status.
"""

from __future__ import annotations

from smppgate.pdu.status import CommandStatus


class PduError(Exception):
    """A PDU that cannot be decoded or encoded as SMPP 3.4 allows.

    ``command_status`` is what the peer should be answered with; ``command_id`` and
    ``sequence_number`` are set when the header was readable, so a response can be matched.
    """

    default_status = CommandStatus.ESME_RSYSERR

    def __init__(
        self,
        message: str,
        command_status: CommandStatus | None = None,
        *,
        command_id: int | None = None,
        sequence_number: int | None = None,
    ) -> None:
        super().__init__(message)
        self.command_status = command_status if command_status is not None else self.default_status
        self.command_id = command_id
        self.sequence_number = sequence_number

    def with_header(self, command_id: int, sequence_number: int) -> PduError:
        """The same error, now knowing which PDU it came from."""
        self.command_id = command_id
        self.sequence_number = sequence_number
        return self

    def __str__(self) -> str:
        where = ""
        if self.command_id is not None:
            where = f" [command_id=0x{self.command_id:08X} seq={self.sequence_number}]"
        return f"{self.args[0]} ({self.command_status.name}){where}"


class InvalidCommandLengthError(PduError):
    """The frame cannot be delimited: command_length too small, too large or inconsistent."""

    default_status = CommandStatus.ESME_RINVCMDLEN


class UnknownCommandIdError(PduError):
    default_status = CommandStatus.ESME_RINVCMDID


class InvalidFieldError(PduError):
    """A mandatory field is malformed or longer than the spec allows."""

    default_status = CommandStatus.ESME_RINVCMDLEN


class InvalidMessageLengthError(PduError):
    default_status = CommandStatus.ESME_RINVMSGLEN


class InvalidTlvError(PduError):
    default_status = CommandStatus.ESME_RINVOPTPARSTREAM
