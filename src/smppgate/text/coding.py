"""Encodings a message can travel in, and data_coding on the wire in both directions.

Outbound text is encoded strictly (an unencodable character is an error, never a '?');
inbound octets are decoded tolerantly (a bad octet becomes U+FFFD, never an exception other
than :class:`~smppgate.text.errors.UnsupportedDataCodingError` for codings that are not text).
"""

from __future__ import annotations

import re
from enum import StrEnum

from smppgate.text import gsm7
from smppgate.text.errors import UnencodableTextError, UnsupportedDataCodingError

__all__ = [
    "DATA_CODING_BINARY",
    "DATA_CODING_DEFAULT",
    "DATA_CODING_IA5",
    "DATA_CODING_LATIN1",
    "DATA_CODING_UCS2",
    "DefaultAlphabet",
    "Encoding",
    "decode",
    "encode",
    "gsm7_outsiders",
    "gsm7_violation",
    "resolve_encoding",
]

DATA_CODING_DEFAULT = 0x00
DATA_CODING_IA5 = 0x01
DATA_CODING_LATIN1 = 0x03
DATA_CODING_BINARY = 0x04
DATA_CODING_UCS2 = 0x08


class Encoding(StrEnum):
    """How a message's text is carried. ``AUTO`` is a request, resolved before encoding."""

    GSM7 = "gsm7"
    LATIN1 = "latin1"
    UCS2 = "ucs2"
    BINARY = "binary"
    AUTO = "auto"

    @property
    def data_coding(self) -> int:
        """The data_coding octet for this encoding (GSM7 travels as 0, the SMSC default)."""
        try:
            return _DATA_CODING[self]
        except KeyError:
            raise ValueError("AUTO has no data_coding; resolve it first") from None


_DATA_CODING = {
    Encoding.GSM7: DATA_CODING_DEFAULT,
    Encoding.LATIN1: DATA_CODING_LATIN1,
    Encoding.UCS2: DATA_CODING_UCS2,
    Encoding.BINARY: DATA_CODING_BINARY,
}


class DefaultAlphabet(StrEnum):
    """What data_coding 0 means to the SMSC: vendor specific (SMPP 3.4 leaves it open).

    ``GSM7``: GSM 03.38 septets, unpacked (the common reading and our default).
    ``LATIN1`` / ``ASCII``: the SMSC reads octets as ISO-8859-1 / ASCII and transcodes to GSM
    on the air, so only characters in both alphabets are safe and length still counts septets.
    """

    GSM7 = "gsm7"
    LATIN1 = "latin1"
    ASCII = "ascii"


# The characters that survive data_coding 0 under each reading: the GSM alphabet, narrowed to
# what the wire octets can express when the SMSC reads them as Latin-1 or ASCII.
def _narrowed(limit: int) -> re.Pattern[str]:
    alphabet = gsm7.GSM7_BASIC.replace("\x1b", "") + "".join(gsm7.GSM7_EXTENSION)
    allowed = "".join(ch for ch in alphabet if ord(ch) < limit)
    return re.compile("[^" + re.escape(allowed) + "]")


_GSM7_CHARSET: dict[DefaultAlphabet, re.Pattern[str]] = {
    DefaultAlphabet.GSM7: _narrowed(0x110000),
    DefaultAlphabet.LATIN1: _narrowed(0x100),
    DefaultAlphabet.ASCII: _narrowed(0x80),
}


def gsm7_violation(text: str, default_alphabet: DefaultAlphabet) -> int:
    """Index of the first character that data_coding 0 cannot carry, or -1."""
    return gsm7.first_non_gsm7(text, _GSM7_CHARSET[default_alphabet])


def gsm7_outsiders(text: str, default_alphabet: DefaultAlphabet) -> tuple[str, ...]:
    """Distinct characters that data_coding 0 cannot carry, in order of appearance."""
    return gsm7.non_gsm7_characters(text, _GSM7_CHARSET[default_alphabet])


def resolve_encoding(
    text: str | bytes,
    requested: Encoding = Encoding.AUTO,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7,
) -> Encoding:
    """Turn ``AUTO`` into a concrete encoding: GSM7 when every character fits, else UCS2.

    Bytes are binary content, so they resolve to ``BINARY``.
    """
    if requested is not Encoding.AUTO:
        return requested
    if isinstance(text, bytes):
        return Encoding.BINARY
    if gsm7_violation(text, default_alphabet) < 0:
        return Encoding.GSM7
    return Encoding.UCS2


def encode(
    text: str | bytes,
    encoding: Encoding,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7,
) -> bytes:
    """Wire octets of ``text`` in a concrete ``encoding``.

    UCS2 is UTF-16BE, so characters above U+FFFF travel as surrogate pairs. A ``str`` sent as
    ``BINARY`` carries one octet per character (U+0000..U+00FF); ``bytes`` pass unchanged.
    Raises :class:`UnencodableTextError` for the first character that does not fit.
    """
    if isinstance(text, bytes):
        if encoding is not Encoding.BINARY:
            raise TypeError(f"bytes can only be sent as BINARY, not {encoding.name}")
        return text
    if encoding is Encoding.GSM7:
        return _encode_default(text, default_alphabet)
    if encoding is Encoding.AUTO:
        raise ValueError("AUTO must be resolved before encoding")
    codec = _PYTHON_CODEC[encoding]
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        raise UnencodableTextError(text[exc.start], exc.start, encoding.value) from None


_PYTHON_CODEC = {
    Encoding.LATIN1: "latin-1",
    Encoding.UCS2: "utf-16-be",
    Encoding.BINARY: "latin-1",
}


def _encode_default(text: str, default_alphabet: DefaultAlphabet) -> bytes:
    if default_alphabet is DefaultAlphabet.GSM7:
        return gsm7.encode_gsm7(text)
    index = gsm7_violation(text, default_alphabet)
    if index >= 0:
        raise UnencodableTextError(text[index], index, f"gsm7 ({default_alphabet.value} wire)")
    return text.encode("latin-1")


def decode(
    data: bytes,
    data_coding: int,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7,
) -> str:
    """Text of inbound octets. Tolerant: undecodable octets become U+FFFD.

    Binary codings (2, 4, 8-bit message classes) decode as Latin-1, one character per octet,
    so nothing is lost. Raises only :class:`UnsupportedDataCodingError`, for codings that
    are not text this layer knows (5 JIS, 9 pictogram, 0x0D, reserved values).
    """
    if data_coding == DATA_CODING_DEFAULT:
        return _decode_default(data, default_alphabet)
    codec = _INBOUND_CODEC.get(data_coding)
    if codec is None:
        if 0xC0 <= data_coding <= 0xDF:
            # Message-waiting groups "discard" / "store": GSM default alphabet.
            return gsm7.decode_gsm7(data)
        if 0xE0 <= data_coding <= 0xEF:
            # Message-waiting group "store", UCS2.
            codec = "utf-16-be"
        elif 0xF0 <= data_coding <= 0xFF:
            # Data coding / message class group: bit 2 picks 8-bit over GSM 7-bit.
            return data.decode("latin-1") if data_coding & 0x04 else gsm7.decode_gsm7(data)
        else:
            raise UnsupportedDataCodingError(data_coding)
    return data.decode(codec, "replace")


_INBOUND_CODEC = {
    DATA_CODING_IA5: "ascii",
    0x02: "latin-1",
    DATA_CODING_LATIN1: "latin-1",
    DATA_CODING_BINARY: "latin-1",
    0x06: "iso8859-5",
    0x07: "iso8859-8",
    DATA_CODING_UCS2: "utf-16-be",
    0x0A: "iso2022-jp",
    0x0E: "euc-kr",
}


def _decode_default(data: bytes, default_alphabet: DefaultAlphabet) -> str:
    if default_alphabet is DefaultAlphabet.GSM7:
        return gsm7.decode_gsm7(data)
    if default_alphabet is DefaultAlphabet.LATIN1:
        return data.decode("latin-1")
    return data.decode("ascii", "replace")
