"""GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table.

SMPP carries GSM text *unpacked*: one septet per octet, an extension character as the two
octets ``1B xx``. That is what :func:`encode_gsm7` and :func:`decode_gsm7` produce and read.
The air interface packs eight septets into seven octets; :func:`pack_septets` and
:func:`unpack_septets` do that for the few SMSCs that want packed data.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from types import MappingProxyType

from smppgate.text.errors import UnencodableTextError

__all__ = [
    "ESC",
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "decode_gsm7",
    "encode_gsm7",
    "encode_gsm7_unchecked",
    "first_non_gsm7",
    "is_gsm7",
    "non_gsm7_characters",
    "pack_septets",
    "septet_count",
    "unpack_septets",
]

ESC = 0x1B

# Index = septet code. Position 0x1B is the escape to the extension table, not a character.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

GSM7_EXTENSION: Mapping[str, int] = MappingProxyType(
    {
        "\f": 0x0A,
        "^": 0x14,
        "{": 0x28,
        "}": 0x29,
        "\\": 0x2F,
        "[": 0x3C,
        "~": 0x3D,
        "]": 0x3E,
        "|": 0x40,
        "€": 0x65,
    }
)

_BASIC_CHARS = GSM7_BASIC[:ESC] + GSM7_BASIC[ESC + 1 :]
_ALL_CHARS = _BASIC_CHARS + "".join(GSM7_EXTENSION)

# str.translate to a Latin-1 string, then one .encode(): both loops run in C, and for ASCII
# input CPython's translate takes its cached fast path.
_ENCODE_TABLE: dict[int, str] = {ord(ch): chr(code) for code, ch in enumerate(GSM7_BASIC)}
del _ENCODE_TABLE[ESC]
_ENCODE_TABLE.update({ord(ch): "\x1b" + chr(code) for ch, code in GSM7_EXTENSION.items()})

_NOT_GSM7 = re.compile("[^" + re.escape(_ALL_CHARS) + "]")

# Octets 0x80-0xFF are not septets; U+FFFD marks them instead of failing an MO message.
_DECODE_TABLE = GSM7_BASIC + "\ufffd" * 128

# After a charmap decode an escape pair reads as ESC + the *basic* character of its code.
_EXTENSION_BY_BASIC = {GSM7_BASIC[code]: ch for ch, code in GSM7_EXTENSION.items()}
_ESCAPED = re.compile("\x1b(.?)", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    follower = match.group(1)
    if not follower:
        # A lone ESC at the very end carries no character.
        return ""
    if follower == "\x1b":
        # 23.038: ESC ESC is reserved for a further table and is shown as a space.
        return " "
    # 23.038: an unknown extension code is shown as the basic-table character.
    return _EXTENSION_BY_BASIC.get(follower, follower)


def first_non_gsm7(text: str, charset: re.Pattern[str] = _NOT_GSM7) -> int:
    """Index of the first character outside the GSM alphabet, or -1 when all fit."""
    match = charset.search(text)
    return -1 if match is None else match.start()


def is_gsm7(text: str) -> bool:
    """True when every character is in the basic or the extension table."""
    return _NOT_GSM7.search(text) is None


def non_gsm7_characters(text: str, charset: re.Pattern[str] = _NOT_GSM7) -> tuple[str, ...]:
    """The distinct characters outside the alphabet, in order of first appearance."""
    return tuple(dict.fromkeys(charset.findall(text)))


def encode_gsm7(text: str) -> bytes:
    """Unpacked septets, ``1B xx`` for extension characters.

    Raises :class:`UnencodableTextError` naming the first character outside the alphabet.
    """
    match = _NOT_GSM7.search(text)
    if match is not None:
        raise UnencodableTextError(match.group(), match.start(), "gsm7")
    return text.translate(_ENCODE_TABLE).encode("latin-1")


def encode_gsm7_unchecked(text: str) -> bytes:
    """:func:`encode_gsm7` for text already known to fit (skips the second scan)."""
    return text.translate(_ENCODE_TABLE).encode("latin-1")


def septet_count(text: str) -> int:
    """Length in septets: extension characters count two. The text must be GSM."""
    return len(encode_gsm7(text))


def decode_gsm7(data: bytes) -> str:
    """Unpacked septets to text; never raises.

    Octets above 0x7F become U+FFFD; an escape with an unknown code yields the basic character.
    """
    text = codecs.charmap_decode(data, "strict", _DECODE_TABLE)[0]
    if "\x1b" in text:
        text = _ESCAPED.sub(_unescape, text)
    return text


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets (one per octet, high bit clear) into the 7-bit air format.

    ``fill_bits`` (0-6) are the zero bits placed first, to align text after a UDH.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    value = 0
    for index, septet in enumerate(septets):
        value |= (septet & 0x7F) << (7 * index)
    total_bits = fill_bits + 7 * len(septets)
    return (value << fill_bits).to_bytes((total_bits + 7) // 8, "little")


def unpack_septets(data: bytes, count: int | None = None, fill_bits: int = 0) -> bytes:
    """Inverse of :func:`pack_septets`: one septet per octet.

    Without ``count`` every whole septet is returned; when the data ends on an octet boundary
    a trailing zero septet may then be padding (23.038 recommends CR there instead).
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    available = (len(data) * 8 - fill_bits) // 7 if data else 0
    if count is None:
        count = available
    elif count > available:
        raise ValueError(f"{len(data)} octets hold {available} septets, not {count}")
    value = int.from_bytes(data, "little") >> fill_bits
    return bytes((value >> (7 * index)) & 0x7F for index in range(count))
