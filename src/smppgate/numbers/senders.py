"""Senders (source_addr) as the address type they go out with can carry them.

What a handset shows as the sender is limited by the address type (TON) the profile gives it
(GSM 03.40 TP-OA): an alphanumeric address (TON 5) holds at most 11 characters of the GSM
default alphabet, packed into 10 octets; an international number (TON 1) at most 15 digits
(E.164). On the Devino profiles every sender goes out as TON 5 (the page's mandatory
Src_Addr_TON 0x05), so there a numeric sender too has at most 11 digits. A name cannot go
out as a number (TON 1, 2, 3, 4, 6): an account whose contract says so takes digits only.
"""

from __future__ import annotations

from smppgate.numbers.errors import SenderError, SenderProblem
from smppgate.pdu import Ton

__all__ = [
    "ALPHANUMERIC_SENDER_CHARACTERS",
    "MAX_ALPHANUMERIC_SENDER",
    "MAX_NUMERIC_SENDER",
    "check_sender",
]

MAX_ALPHANUMERIC_SENDER = 11
MAX_NUMERIC_SENDER = 15
#: printable ASCII that is one septet of the GSM default alphabet: what a handset shows in an
#: alphanumeric sender (no backquote; ``[]{}\\^~|`` take two septets, an escape and the
#: character, and many handsets show them wrong)
ALPHANUMERIC_SENDER_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !\"#$%&'()*+,-./:;<=>?@_"
)
_NUMERIC_TONS = frozenset(
    {Ton.INTERNATIONAL, Ton.NATIONAL, Ton.NETWORK_SPECIFIC, Ton.SUBSCRIBER_NUMBER,
     Ton.ABBREVIATED}
)  # fmt: skip


def check_sender(sender: str, ton: int) -> str:
    """``sender`` as it goes out (a numeric one without its leading ``+``) when an address of
    type ``ton`` can carry it; `SenderError` saying what to fix otherwise."""
    digits = sender[1:] if sender.startswith("+") else sender
    if digits.isascii() and digits.isdigit():
        limit = MAX_ALPHANUMERIC_SENDER if ton == Ton.ALPHANUMERIC else MAX_NUMERIC_SENDER
        if len(digits) > limit:
            why = (
                "this account sends every sender as an alphanumeric address (TON 5), which "
                f"holds at most {limit} characters"
                if ton == Ton.ALPHANUMERIC
                else f"a numeric sender has at most {limit} digits (E.164)"
            )
            raise SenderError(
                SenderProblem.TOO_LONG, sender, f"{why}; {sender!r} has {len(digits)} digits"
            )
        return digits
    if not sender.strip():
        raise SenderError(SenderProblem.EMPTY, sender, "must not be empty")
    if ton in _NUMERIC_TONS:
        raise SenderError(
            SenderProblem.NOT_NUMERIC,
            sender,
            f"this account sends senders as numbers (TON {ton}): a name such as {sender!r} "
            "cannot go out; use digits, or another account",
        )
    for position, ch in enumerate(sender, 1):
        if ch not in ALPHANUMERIC_SENDER_CHARACTERS:
            raise SenderError(
                SenderProblem.BAD_CHARACTER,
                sender,
                f"{ch!r} at position {position} cannot be shown as a sender: Latin letters, "
                "digits, spaces and !\"#$%&'()*+,-./:;<=>?@_ only",
            )
    if len(sender) > MAX_ALPHANUMERIC_SENDER:
        raise SenderError(
            SenderProblem.TOO_LONG,
            sender,
            f"an alphanumeric sender has at most {MAX_ALPHANUMERIC_SENDER} characters (what a "
            f"handset shows), {sender!r} has {len(sender)}",
        )
    return sender
