"""Delivery receipt text (SMPP 3.4 Appendix B): a tolerant parser and the emulator's formatter.

The layout is vendor specific, so the parser reads labels, not positions: any order, labels
case-insensitive, fields may be missing, ``text`` is everything after the first ``text:``.
Nothing is ever lost: a receipt that cannot be understood comes back with its raw text and an
``error`` saying why, never as an exception.

Receipt ids come in decimal or hex, padded or not, and not always in the base of the
submit_sm_resp id (Part B item 1). :func:`canonical_message_id` gives the one form to index a
submitted id by; :func:`message_id_keys` gives every form a receipt id may stand for.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "DeliveryState",
    "Receipt",
    "canonical_message_id",
    "format_receipt",
    "message_id_keys",
    "message_ids_match",
    "parse_receipt",
    "parse_receipt_date",
]


class DeliveryState(IntEnum):
    """Final or intermediate state of a message; values are message_state (spec A9)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8

    @property
    def stat_word(self) -> str:
        """The 7-letter word of Appendix B Table B-2."""
        return _STAT_WORD[self]

    @property
    def is_final(self) -> bool:
        return self is not DeliveryState.ENROUTE

    @classmethod
    def from_stat_word(cls, word: str) -> DeliveryState | None:
        """The state for a ``stat:`` word, case-insensitive; None when unrecognised."""
        return _BY_WORD.get(word.strip().upper())

    @classmethod
    def from_message_state(cls, value: int) -> DeliveryState | None:
        """The state for a message_state TLV; None for 0 SCHEDULED, 9 SKIPPED (SMPP 5.0), other."""
        return _BY_VALUE.get(value)


_STAT_WORD = {
    DeliveryState.ENROUTE: "ENROUTE",
    DeliveryState.DELIVERED: "DELIVRD",
    DeliveryState.EXPIRED: "EXPIRED",
    DeliveryState.DELETED: "DELETED",
    DeliveryState.UNDELIVERABLE: "UNDELIV",
    DeliveryState.ACCEPTED: "ACCEPTD",
    DeliveryState.UNKNOWN: "UNKNOWN",
    DeliveryState.REJECTED: "REJECTD",
}
# The spelled-out names are accepted too: some SMSCs write them.
_BY_WORD = {word: state for state, word in _STAT_WORD.items()} | {
    state.name: state for state in DeliveryState
}
# (a dict lookup: calling the enum costs a microsecond per receipt, more when it raises)
_BY_VALUE = {int(state): state for state in DeliveryState}


class Receipt(NamedTuple):
    """A parsed receipt. Text fields are raw strings exactly as received (None if absent).

    ``receipted_message_id`` and ``message_state`` are the TLV values, which win over the
    text: ``message_id`` and ``state`` give the preferred reading. ``error`` is None for a
    usable receipt, else why it is not (no id, no state, not a receipt at all). (A named
    tuple: one is built per receipt, several times faster than a frozen dataclass.)
    """

    raw: str
    id: str | None
    sub: str | None
    dlvrd: str | None
    submit_date: str | None
    done_date: str | None
    stat: str | None
    err: str | None
    text: str | None
    receipted_message_id: str | None
    message_state: int | None
    state: DeliveryState | None
    submitted_at: datetime | None
    done_at: datetime | None
    error: str | None

    @property
    def message_id(self) -> str | None:
        """receipted_message_id when present (spec Part B: match on the TLV first), else id."""
        if self.receipted_message_id and self.receipted_message_id.strip():
            return self.receipted_message_id
        return self.id

    @property
    def match_keys(self) -> frozenset[str]:
        """Every form either id may stand for; look these up among canonical submitted ids."""
        tlv_id, text_id = self.receipted_message_id, self.id
        if tlv_id is None or tlv_id == text_id:  # (most SMSCs send the same id twice)
            return frozenset() if text_id is None else message_id_keys(text_id)
        keys = message_id_keys(tlv_id)
        return keys if text_id is None else keys | message_id_keys(text_id)


_LABEL = r"(id|sub|dlvrd|submit[\s_]*date|done[\s_]*date|stat|err)"
# A label starts the string or follows whitespace, so "msgid:" is not "id:".
_FIELD = re.compile(r"(?<!\S)" + _LABEL + r":(\S*)", re.IGNORECASE)
_LEADING_FIELD = re.compile(r"\s*" + _LABEL + r":", re.IGNORECASE)
_TEXT_LABEL = re.compile(r"(?<!\S)text:", re.IGNORECASE)
_SPACES = re.compile(r"[\s_]+")


def _field_name(label: str) -> str:
    return _SPACES.sub("_", label.lower())


def _collect(segment: str, into: dict[str, str]) -> None:
    """Add the labelled fields of ``segment``; a label already seen keeps its first value."""
    for match in _FIELD.finditer(segment):
        into.setdefault(_field_name(match.group(1)), match.group(2))


# The layout nearly every SMSC sends (SMPP 3.4 Appendix B, lower-case labels, this order):
# read in one match; anything else takes the tolerant path below.
_STANDARD = re.compile(
    r"id:(\S*) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S*) err:(\S*)"
    r"(?: text:(.*))?",
    re.DOTALL,
)


def _standard_fields(raw: str) -> tuple[dict[str, str], str | None] | None:
    match = _STANDARD.fullmatch(raw)
    if match is None:
        return None
    values = match.groups()
    free_text = values[7]
    if free_text is not None and _LEADING_FIELD.match(free_text):
        return None  # "text:" followed by fields: the tolerant path knows that case
    names = ("id", "sub", "dlvrd", "submit_date", "done_date", "stat", "err")
    return dict(zip(names, values[:7], strict=True)), free_text


def _standard_receipt(
    raw: str, receipted_message_id: str | None, message_state: int | None
) -> Receipt | None:
    """The receipt of the standard layout when it is usable as it stands (an id, a known
    state): what `parse_receipt`'s general path gives for it, read without the dict of fields
    and the list of problems (one receipt per message: the hot path). None otherwise."""
    match = _STANDARD.fullmatch(raw)
    if match is None:
        return None
    id_, sub, dlvrd, submit_date, done_date, stat, err, free_text = match.groups()
    if free_text is not None and _LEADING_FIELD.match(free_text):
        return None
    if not id_ and (receipted_message_id is None or not receipted_message_id.strip()):
        return None  # no message id: the general path says so
    state = None if message_state is None else _BY_VALUE.get(message_state)
    if state is None:
        state = _BY_WORD.get(stat.strip().upper())
        if state is None:
            return None  # the general path says why
    return Receipt(
        raw,
        id_,
        sub,
        dlvrd,
        submit_date,
        done_date,
        stat,
        err,
        free_text,
        receipted_message_id,
        message_state,
        state,
        parse_receipt_date(submit_date),
        parse_receipt_date(done_date),
        None,
    )


def parse_receipt(
    text: str | bytes,
    receipted_message_id: str | None = None,
    message_state: int | None = None,
) -> Receipt:
    """Parse receipt text plus the receipted_message_id / message_state TLV values.

    Bytes are read as Latin-1 (lossless; labels and ids are ASCII). Never raises.
    """
    raw = text.decode("latin-1") if isinstance(text, bytes) else text
    fast = _standard_receipt(raw, receipted_message_id, message_state)
    if fast is not None:
        return fast
    return _general_receipt(raw, receipted_message_id, message_state)


def _general_receipt(
    raw: str, receipted_message_id: str | None, message_state: int | None
) -> Receipt:
    """Any receipt text: the standard layout or the tolerant reading, and why it is not
    usable when it is not."""
    standard = _standard_fields(raw)
    if standard is not None:
        fields, free_text = standard
    else:
        fields, free_text = _tolerant_fields(raw)

    state = None if message_state is None else DeliveryState.from_message_state(message_state)
    stat = fields.get("stat")
    if state is None and stat is not None:
        state = DeliveryState.from_stat_word(stat)

    problems: list[str] = []
    found_anything = bool(fields) or free_text is not None
    if not found_anything and receipted_message_id is None and message_state is None:
        problems.append("no receipt fields found" if raw.strip() else "empty receipt")
    else:
        has_tlv_id = receipted_message_id is not None and receipted_message_id.strip() != ""
        if not has_tlv_id and not fields.get("id"):
            problems.append("no message id")
        if state is None:
            if stat is not None:
                problems.append(f"unrecognised stat word {stat!r}")
            elif message_state is not None:
                problems.append(f"unrecognised message_state {message_state}")
            else:
                problems.append("no stat and no message_state")

    submit_date = fields.get("submit_date")
    done_date = fields.get("done_date")
    return Receipt(
        raw=raw,
        id=fields.get("id"),
        sub=fields.get("sub"),
        dlvrd=fields.get("dlvrd"),
        submit_date=submit_date,
        done_date=done_date,
        stat=stat,
        err=fields.get("err"),
        text=free_text,
        receipted_message_id=receipted_message_id,
        message_state=message_state,
        state=state,
        submitted_at=None if submit_date is None else parse_receipt_date(submit_date),
        done_at=None if done_date is None else parse_receipt_date(done_date),
        error="; ".join(problems) or None,
    )


_DIGITS = re.compile(r"[0-9]+")
_SMPP_TIME = re.compile(r"([0-9]{12})[0-9]{3}[+\-R]")


def _tolerant_fields(raw: str) -> tuple[dict[str, str], str | None]:
    """Labelled fields in any order and case, and the free text after ``text:``."""
    fields: dict[str, str] = {}
    text_match = _TEXT_LABEL.search(raw)
    head = raw if text_match is None else raw[: text_match.start()]
    free_text = None if text_match is None else raw[text_match.end() :]
    _collect(head, fields)
    if free_text is not None:
        leading = _LEADING_FIELD.match(free_text)
        if leading is not None and _field_name(leading.group(1)) not in fields:
            # An empty "text:" followed by the fields it should have ended (cloudhopper's
            # reading of such receipts): take them as fields, not as text.
            _collect(free_text, fields)
            free_text = ""
    return fields, free_text


def _two_digit_year(yy: str) -> int:
    # Appendix C rollover "xx38": 38-99 are 1938-1999, 00-37 are 2000-2037.
    year = int(yy)
    return 1900 + year if year >= 38 else 2000 + year


def _build(year: int, digits: str) -> datetime | None:
    """``digits`` is MMDDhhmm or MMDDhhmmss after the year; naive: the SMSC's local time."""
    second = int(digits[8:10]) if len(digits) >= 10 else 0
    try:
        return datetime(
            year, int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6:8]), second
        )
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)  # receipts of one minute share their dates
def parse_receipt_date(value: str) -> datetime | None:
    """A receipt date as a naive datetime in the SMSC's local time; None if unreadable.

    Accepts YYMMDDhhmm (10), YYMMDDhhmmss (12; when that is not a valid date, Jasmin's
    YYYYMMDDhhmm), YYYYMMDDhhmmss (14) and the 16-character SMPP absolute time (offset ignored).
    """
    value = value.strip()
    smpp = _SMPP_TIME.fullmatch(value)
    if smpp is not None:
        value = smpp.group(1)
    if _DIGITS.fullmatch(value) is None:
        return None
    if len(value) == 10:
        return _build(_two_digit_year(value[:2]), value[2:])
    if len(value) == 12:
        short_year = _build(_two_digit_year(value[:2]), value[2:])
        return short_year if short_year is not None else _build(int(value[:4]), value[4:])
    if len(value) == 14:
        return _build(int(value[:4]), value[4:])
    return None


# Longer strings are not numbers worth converting (and int() limits huge decimal strings).
_MAX_NUMERIC_ID = 64


_HEX_DIGITS = "0123456789abcdef"
_DECIMAL_DIGITS = "0123456789"


def canonical_message_id(message_id: str) -> str:
    """The form to index a message id by: trimmed, lower-case, numeric ids without zero padding."""
    value = message_id.strip().lower()
    # (``not value.strip(digits)``: every character a hex digit, as ``[0-9a-f]+`` says,
    # without a regex match per id: this runs for every accepted part and every receipt)
    if value and not value.strip(_HEX_DIGITS):
        value = value.lstrip("0") or "0"
    return value


def message_id_keys(message_id: str) -> frozenset[str]:
    """Canonical forms ``message_id`` may stand for: itself, and when it is a number, the same
    number read in the other base (decimal -> hex, hex -> decimal). Empty for a blank id.

    Short numeric ids are ambiguous across bases ("10" may be ten or sixteen): match on the
    canonical form first and use the other keys only as a fallback.
    """
    value = canonical_message_id(message_id)
    if not value:
        return frozenset()
    if len(value) > _MAX_NUMERIC_ID or value.strip(_HEX_DIGITS):
        return frozenset((value,))
    if value.strip(_DECIMAL_DIGITS):
        return frozenset((value, str(int(value, 16))))
    return frozenset((value, str(int(value, 16)), format(int(value), "x")))


def message_ids_match(submitted: str, receipted: str) -> bool:
    """True when two ids name the same message, allowing padding, case and base differences."""
    left, right = canonical_message_id(submitted), canonical_message_id(receipted)
    if not left or not right:
        return False
    return left == right or left in message_id_keys(right) or right in message_id_keys(left)


def format_receipt(
    message_id: str,
    state: DeliveryState,
    submit_date: datetime,
    done_date: datetime,
    err: int | str = 0,
    text: str = "",
    sub: int = 1,
    dlvrd: int | None = None,
) -> str:
    """Receipt text in the Appendix B layout with 10-digit dates, as the emulator sends it.

    ``dlvrd`` defaults to 1 for DELIVERED and 0 otherwise; ``text`` is cut to 20 characters.
    """
    if dlvrd is None:
        dlvrd = 1 if state is DeliveryState.DELIVERED else 0
    err_field = f"{err:03d}" if isinstance(err, int) else err
    return (
        f"id:{message_id} sub:{sub:03d} dlvrd:{dlvrd:03d} "
        f"submit date:{submit_date:%y%m%d%H%M} done date:{done_date:%y%m%d%H%M} "
        f"stat:{state.stat_word} err:{err_field} text:{text[:20]}"
    )
