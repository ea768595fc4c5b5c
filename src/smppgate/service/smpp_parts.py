"""A set of parts an application split itself, made into the message the gateway sends.

The parts go upstream as the application made them (its data_coding and text octets, one
submit_sm each, in order) through the gateway's own multi-part path: one message, one parts
row per part, so the dispatcher sends them in order through one session of one account
(Devino point 11, D-18), retried and receipted per part like the API's. Only the
concatenation header is rewritten: the reference comes from the allocator the API uses (per
destination, across every account), so two applications, or an application and the API,
never send two sets under one reference to one handset; and a 7-octet UDH (16-bit reference)
becomes the 6-octet one the platform takes (D-16). SAR parts stay SAR with a new
sar_msg_ref_num. Pure: the reference is an argument.
"""

from __future__ import annotations

from smppgate.service.config import AccountConfig
from smppgate.service.smpp_intake import DATA_CODINGS, smpp_text
from smppgate.store import HeldSet, NewMessage, PlannedPart, SmppOrigin
from smppgate.text import ESM_CLASS_UDHI, SplitMethod, concatenation_udh


def set_method(held: HeldSet) -> SplitMethod:
    """How the set goes upstream: SAR when the application used SAR, else the 6-octet UDH."""
    return SplitMethod.SAR if held.first.method == SplitMethod.SAR.value else SplitMethod.UDH


def set_message(held: HeldSet, account: AccountConfig | None, reference: int) -> NewMessage:
    """The message of ``held`` (its id is the set's: the parts' ids derive from it), sent
    with the concatenation ``reference``. An incomplete set (given up) keeps the parts held;
    the store makes it final before anything is sent."""
    first = held.first
    method = set_method(held)
    parts: list[PlannedPart] = []
    for held_part in held.parts:
        part = held_part.part
        if method is SplitMethod.SAR:
            parts.append(
                PlannedPart(
                    seq=part.seq,
                    short_message=part.octets,
                    data_coding=part.data_coding,
                    sar_ref=reference,
                    sar_total=held.total,
                    sar_seq=part.seq,
                )
            )
        else:
            parts.append(
                PlannedPart(
                    seq=part.seq,
                    short_message=concatenation_udh(reference, held.total, part.seq) + part.octets,
                    esm_class=ESM_CLASS_UDHI,
                    data_coding=part.data_coding,
                )
            )
    octets = b"".join(p.part.octets for p in held.parts)
    return NewMessage(
        account=first.account,
        source=first.source,
        destination=first.destination,
        text=smpp_text(octets, first.data_coding, account),
        parts=tuple(parts),
        encoding=DATA_CODINGS.get(first.data_coding, "binary"),
        split_method=method.value,
        validity_seconds=first.validity_seconds,
        priority=first.priority,
        not_before=first.not_before,
        id=held.message_id,
        origin=SmppOrigin(first.system_id, first.registered_delivery, split=True),
    )
