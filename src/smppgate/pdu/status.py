"""command_status: the SMPP 3.4 table (§5.1.3) with a description and a retry class per code.

The dispatcher reads policy from this table (``CommandStatus.retry``), never from if/elif
chains over numbers. Provider profiles may override the class of single codes.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import NamedTuple


class RetryClass(Enum):
    """What a sender should do with a request that got this status."""

    OK = "ok"
    PERMANENT = "permanent"  # the message fails; resending cannot help
    TRANSIENT = "transient"  # resend later (backoff), on any session
    THROTTLED = "throttled"  # resend; pause the session that got it
    QUEUE_FULL = "queue_full"  # back of the queue with progressive pauses
    REBIND = "rebind"  # the session is in a bad state: drop it and bind again


class _Info(NamedTuple):
    description: str
    retry: RetryClass


P, T, R = RetryClass.PERMANENT, RetryClass.TRANSIENT, RetryClass.REBIND

_TABLE: dict[str, tuple[int, str, RetryClass]] = {
    "ESME_ROK": (0x00000000, "No error", RetryClass.OK),
    "ESME_RINVMSGLEN": (0x00000001, "Message length is invalid", P),
    "ESME_RINVCMDLEN": (0x00000002, "Command length is invalid", P),
    "ESME_RINVCMDID": (0x00000003, "Invalid command ID", P),
    "ESME_RINVBNDSTS": (0x00000004, "Incorrect bind status for given command", R),
    "ESME_RALYBND": (0x00000005, "ESME already in bound state", R),
    "ESME_RINVPRTFLG": (0x00000006, "Invalid priority flag", P),
    "ESME_RINVREGDLVFLG": (0x00000007, "Invalid registered delivery flag", P),
    "ESME_RSYSERR": (0x00000008, "System error", T),
    "ESME_RINVSRCADR": (0x0000000A, "Invalid source address", P),
    "ESME_RINVDSTADR": (0x0000000B, "Invalid destination address", P),
    "ESME_RINVMSGID": (0x0000000C, "Message ID is invalid", P),
    "ESME_RBINDFAIL": (0x0000000D, "Bind failed", R),
    "ESME_RINVPASWD": (0x0000000E, "Invalid password", R),
    "ESME_RINVSYSID": (0x0000000F, "Invalid system ID", R),
    "ESME_RCANCELFAIL": (0x00000011, "Cancel SM failed", P),
    "ESME_RREPLACEFAIL": (0x00000013, "Replace SM failed", P),
    "ESME_RMSGQFUL": (0x00000014, "Message queue full", RetryClass.QUEUE_FULL),
    "ESME_RINVSERTYP": (0x00000015, "Invalid service type", P),
    "ESME_RINVNUMDESTS": (0x00000033, "Invalid number of destinations", P),
    "ESME_RINVDLNAME": (0x00000034, "Invalid distribution list name", P),
    "ESME_RINVDESTFLAG": (0x00000040, "Destination flag is invalid (submit_multi)", P),
    "ESME_RINVSUBREP": (0x00000042, "Invalid 'submit with replace' request", P),
    "ESME_RINVESMCLASS": (0x00000043, "Invalid esm_class field data", P),
    "ESME_RCNTSUBDL": (0x00000044, "Cannot submit to distribution list", P),
    "ESME_RSUBMITFAIL": (0x00000045, "submit_sm or submit_multi failed", T),
    "ESME_RINVSRCTON": (0x00000048, "Invalid source address TON", P),
    "ESME_RINVSRCNPI": (0x00000049, "Invalid source address NPI", P),
    "ESME_RINVDSTTON": (0x00000050, "Invalid destination address TON", P),
    "ESME_RINVDSTNPI": (0x00000051, "Invalid destination address NPI", P),
    "ESME_RINVSYSTYP": (0x00000053, "Invalid system_type field", R),
    "ESME_RINVREPFLAG": (0x00000054, "Invalid replace_if_present flag", P),
    "ESME_RINVNUMMSGS": (0x00000055, "Invalid number of messages", P),
    "ESME_RTHROTTLED": (
        0x00000058,
        "Throttling error (ESME has exceeded allowed rate)",
        RetryClass.THROTTLED,
    ),
    "ESME_RINVSCHED": (0x00000061, "Invalid scheduled delivery time", P),
    "ESME_RINVEXPIRY": (0x00000062, "Invalid message validity period (expiry time)", P),
    "ESME_RINVDFTMSGID": (0x00000063, "Predefined message invalid or not found", P),
    "ESME_RX_T_APPN": (0x00000064, "ESME receiver temporary app error code", T),
    "ESME_RX_P_APPN": (0x00000065, "ESME receiver permanent app error code", P),
    "ESME_RX_R_APPN": (0x00000066, "ESME receiver reject message error code", P),
    "ESME_RQUERYFAIL": (0x00000067, "query_sm request failed", P),
    "ESME_RINVOPTPARSTREAM": (0x000000C0, "Error in the optional part of the PDU body", P),
    "ESME_ROPTPARNOTALLWD": (0x000000C1, "Optional parameter not allowed", P),
    "ESME_RINVPARLEN": (0x000000C2, "Invalid parameter length", P),
    "ESME_RMISSINGOPTPARAM": (0x000000C3, "Expected optional parameter missing", P),
    "ESME_RINVOPTPARAMVAL": (0x000000C4, "Invalid optional parameter value", P),
    "ESME_RDELIVERYFAILURE": (0x000000FE, "Delivery failure (data_sm_resp)", T),
    "ESME_RUNKNOWNERR": (0x000000FF, "Unknown error", T),
}


class CommandStatus(IntEnum):
    """command_status values (SMPP 3.4 Table 5-2).

    Values outside the table (reserved or vendor codes) still decode: they become pseudo
    members named ``UNKNOWN_0x...`` so that a peer's code survives decode, logging and encode.
    """

    ESME_ROK = 0x00000000
    ESME_RINVMSGLEN = 0x00000001
    ESME_RINVCMDLEN = 0x00000002
    ESME_RINVCMDID = 0x00000003
    ESME_RINVBNDSTS = 0x00000004
    ESME_RALYBND = 0x00000005
    ESME_RINVPRTFLG = 0x00000006
    ESME_RINVREGDLVFLG = 0x00000007
    ESME_RSYSERR = 0x00000008
    ESME_RINVSRCADR = 0x0000000A
    ESME_RINVDSTADR = 0x0000000B
    ESME_RINVMSGID = 0x0000000C
    ESME_RBINDFAIL = 0x0000000D
    ESME_RINVPASWD = 0x0000000E
    ESME_RINVSYSID = 0x0000000F
    ESME_RCANCELFAIL = 0x00000011
    ESME_RREPLACEFAIL = 0x00000013
    ESME_RMSGQFUL = 0x00000014
    ESME_RINVSERTYP = 0x00000015
    ESME_RINVNUMDESTS = 0x00000033
    ESME_RINVDLNAME = 0x00000034
    ESME_RINVDESTFLAG = 0x00000040
    ESME_RINVSUBREP = 0x00000042
    ESME_RINVESMCLASS = 0x00000043
    ESME_RCNTSUBDL = 0x00000044
    ESME_RSUBMITFAIL = 0x00000045
    ESME_RINVSRCTON = 0x00000048
    ESME_RINVSRCNPI = 0x00000049
    ESME_RINVDSTTON = 0x00000050
    ESME_RINVDSTNPI = 0x00000051
    ESME_RINVSYSTYP = 0x00000053
    ESME_RINVREPFLAG = 0x00000054
    ESME_RINVNUMMSGS = 0x00000055
    ESME_RTHROTTLED = 0x00000058
    ESME_RINVSCHED = 0x00000061
    ESME_RINVEXPIRY = 0x00000062
    ESME_RINVDFTMSGID = 0x00000063
    ESME_RX_T_APPN = 0x00000064
    ESME_RX_P_APPN = 0x00000065
    ESME_RX_R_APPN = 0x00000066
    ESME_RQUERYFAIL = 0x00000067
    ESME_RINVOPTPARSTREAM = 0x000000C0
    ESME_ROPTPARNOTALLWD = 0x000000C1
    ESME_RINVPARLEN = 0x000000C2
    ESME_RMISSINGOPTPARAM = 0x000000C3
    ESME_RINVOPTPARAMVAL = 0x000000C4
    ESME_RDELIVERYFAILURE = 0x000000FE
    ESME_RUNKNOWNERR = 0x000000FF

    @classmethod
    def _missing_(cls, value: object) -> CommandStatus | None:
        if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_0x{value:08X}"
        member._value_ = value
        # cache the pseudo member so that decoding the same code twice gives one object
        cls._value2member_map_[value] = member
        return member

    @property
    def description(self) -> str:
        info = _INFO.get(self._name_)
        return info.description if info else "Reserved or vendor-specific status"

    @property
    def retry(self) -> RetryClass:
        """The default retry class; unknown codes are transient (the SMSC may recover)."""
        info = _INFO.get(self._name_)
        return info.retry if info else RetryClass.TRANSIENT

    @property
    def is_ok(self) -> bool:
        return self.value == 0


_INFO: dict[str, _Info] = {name: _Info(desc, retry) for name, (_, desc, retry) in _TABLE.items()}

# one table, one enum: a code added to one and not the other is a bug caught at import
assert {m.name: m.value for m in CommandStatus} == {k: v[0] for k, v in _TABLE.items()}

STATUS_BY_VALUE: dict[int, CommandStatus] = {m.value: m for m in CommandStatus}


def command_status(value: int) -> CommandStatus:
    """The CommandStatus for a wire value, known or not (fast path for the decoder)."""
    status = STATUS_BY_VALUE.get(value)
    return status if status is not None else CommandStatus(value)
