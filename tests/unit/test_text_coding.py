"""GSM 03.38, Latin-1, UCS2 and binary: encoding is strict, decoding is tolerant."""

from __future__ import annotations

import pytest

from smppgate.text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    DefaultAlphabet,
    Encoding,
    UnencodableTextError,
    UnsupportedDataCodingError,
    decode,
    decode_gsm7,
    encode,
    encode_gsm7,
    is_gsm7,
    non_gsm7_characters,
    pack_septets,
    resolve_encoding,
    septet_count,
    unpack_septets,
)

# (character, unpacked septets) straight from the A14 table.
GSM7_ROWS = [
    ("@", "00"),
    ("£", "01"),
    ("$", "02"),
    ("¥", "03"),
    ("Ç", "09"),
    ("\n", "0a"),
    ("\r", "0d"),
    ("Δ", "10"),
    ("_", "11"),
    ("Ξ", "1a"),
    ("É", "1f"),
    (" ", "20"),
    ("¤", "24"),
    ("¡", "40"),
    ("§", "5f"),
    ("¿", "60"),
    ("à", "7f"),
    ("\f", "1b0a"),
    ("^", "1b14"),
    ("{", "1b28"),
    ("}", "1b29"),
    ("\\", "1b2f"),
    ("[", "1b3c"),
    ("~", "1b3d"),
    ("]", "1b3e"),
    ("|", "1b40"),
    ("€", "1b65"),
]


@pytest.mark.parametrize(("char", "hex_septets"), GSM7_ROWS)
def test_gsm7_table_both_ways(char: str, hex_septets: str) -> None:
    assert encode_gsm7(char).hex() == hex_septets
    assert decode_gsm7(bytes.fromhex(hex_septets)) == char
    assert septet_count(char) == len(hex_septets) // 2


def test_gsm7_alphabet_round_trips_whole() -> None:
    alphabet = GSM7_BASIC.replace("\x1b", "") + "".join(GSM7_EXTENSION)
    assert len(alphabet) == 127 + 10
    assert decode_gsm7(encode_gsm7(alphabet)) == alphabet
    assert septet_count(alphabet) == 127 + 20


@pytest.mark.parametrize(
    ("text", "char", "index"),
    [
        ("abc`", "`", 3),
        ("Привет", "П", 0),
        ("ok δ", "δ", 3),
        ("emoji 😀 here", "😀", 6),
        ("tab\there", "\t", 3),
        ("esc\x1b", "\x1b", 3),
    ],
)
def test_gsm7_rejects_with_character_and_index(text: str, char: str, index: int) -> None:
    with pytest.raises(UnencodableTextError) as info:
        encode_gsm7(text)
    assert (info.value.character, info.value.index) == (char, index)
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnencodableTextError):
        encode(text, Encoding.GSM7)


def test_non_gsm7_characters_are_distinct_in_order() -> None:
    assert non_gsm7_characters("aЯbЯ`c😀") == ("Я", "`", "😀")
    assert non_gsm7_characters("plain") == ()
    assert is_gsm7("Café €5 [ok]")
    assert not is_gsm7("Crème brûlée")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("1b65", "€"),
        ("1b41", "A"),  # unknown extension code shows the basic character
        ("411b1b42", "A B"),  # ESC ESC is shown as a space
        ("411b", "A"),  # lone trailing ESC carries nothing
        ("41ff42", "A\ufffdB"),  # not a septet
    ],
)
def test_gsm7_decode_is_tolerant(data: str, text: str) -> None:
    assert decode_gsm7(bytes.fromhex(data)) == text


def test_ucs2_is_utf16be_with_surrogate_pairs() -> None:
    assert encode("Я😀", Encoding.UCS2).hex() == "042fd83dde00"
    assert decode(bytes.fromhex("042fd83dde00"), 8) == "Я😀"


def test_ucs2_rejects_lone_surrogate() -> None:
    with pytest.raises(UnencodableTextError) as info:
        encode("ab\ud800", Encoding.UCS2)
    assert info.value.index == 2


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("d83d", "\ufffd"),  # high surrogate without its low half
        ("de00", "\ufffd"),  # low surrogate alone
        ("0041de", "A\ufffd"),  # odd length
        ("", ""),
    ],
)
def test_ucs2_decode_replaces_invalid(data: str, text: str) -> None:
    assert decode(bytes.fromhex(data), 8) == text


def test_latin1_encodes_and_rejects() -> None:
    assert encode("café", Encoding.LATIN1) == b"caf\xe9"
    with pytest.raises(UnencodableTextError) as info:
        encode("cost €5", Encoding.LATIN1)
    assert (info.value.character, info.value.index, info.value.encoding) == ("€", 5, "latin1")
    assert decode(b"caf\xe9", 3) == "café"


def test_binary_passes_bytes_and_latin1_str() -> None:
    assert encode(b"\x00\xff", Encoding.BINARY) == b"\x00\xff"
    assert encode("\x00\xff", Encoding.BINARY) == b"\x00\xff"
    assert decode(b"\x00\xff", 4) == "\x00\xff"
    with pytest.raises(TypeError):
        encode(b"x", Encoding.GSM7)


@pytest.mark.parametrize(
    ("text", "requested", "expected"),
    [
        ("hello", Encoding.AUTO, Encoding.GSM7),
        ("€{}", Encoding.AUTO, Encoding.GSM7),
        ("Привет", Encoding.AUTO, Encoding.UCS2),
        ("`", Encoding.AUTO, Encoding.UCS2),
        (b"\x01", Encoding.AUTO, Encoding.BINARY),
        ("hello", Encoding.UCS2, Encoding.UCS2),
    ],
)
def test_resolve_encoding(text: str | bytes, requested: Encoding, expected: Encoding) -> None:
    assert resolve_encoding(text, requested) is expected


@pytest.mark.parametrize(
    ("encoding", "data_coding"),
    [(Encoding.GSM7, 0), (Encoding.LATIN1, 3), (Encoding.UCS2, 8), (Encoding.BINARY, 4)],
)
def test_data_coding_values(encoding: Encoding, data_coding: int) -> None:
    assert encoding.data_coding == data_coding


def test_auto_has_no_data_coding() -> None:
    with pytest.raises(ValueError, match="AUTO"):
        _ = Encoding.AUTO.data_coding


class TestDefaultAlphabet:
    """data_coding 0 read as Latin-1 or ASCII by the SMSC (Part B item 3)."""

    def test_latin1_wire_narrows_the_alphabet(self) -> None:
        assert encode("£è@", Encoding.GSM7, DefaultAlphabet.LATIN1) == "£è@".encode("latin-1")
        assert resolve_encoding("Δ", Encoding.AUTO, DefaultAlphabet.LATIN1) is Encoding.UCS2
        assert resolve_encoding("€", Encoding.AUTO, DefaultAlphabet.LATIN1) is Encoding.UCS2
        with pytest.raises(UnencodableTextError):
            encode("€", Encoding.GSM7, DefaultAlphabet.LATIN1)

    def test_ascii_wire(self) -> None:
        assert encode("a{b}", Encoding.GSM7, DefaultAlphabet.ASCII) == b"a{b}"
        assert resolve_encoding("£", Encoding.AUTO, DefaultAlphabet.ASCII) is Encoding.UCS2

    @pytest.mark.parametrize(
        ("alphabet", "text"),
        [
            (DefaultAlphabet.GSM7, "\u00a1A\u00e9"),  # 40 41 05 read as GSM
            (DefaultAlphabet.LATIN1, "@A\x05"),
            (DefaultAlphabet.ASCII, "@A\x05"),
        ],
    )
    def test_decode_data_coding_0(self, alphabet: DefaultAlphabet, text: str) -> None:
        assert decode(b"\x40\x41\x05", 0, alphabet) == text

    def test_ascii_decode_replaces_high_octets(self) -> None:
        assert decode(b"a\xe9", 0, DefaultAlphabet.ASCII) == "a\ufffd"


@pytest.mark.parametrize(
    ("data_coding", "data", "text"),
    [
        (0x01, b"hi", "hi"),
        (0x02, b"\x80", "\x80"),
        (0x06, b"\xbf", "П"),
        (0xF0, b"\x00", "@"),  # 7-bit, class 0 (flash)
        (0xF1, b"\x1b\x65", "€"),
        (0xF4, b"\x00\x80", "\x00\x80"),  # 8-bit class 0
        (0xC0, b"A", "A"),
        (0xE0, b"\x04\x2f", "Я"),
    ],
)
def test_decode_other_codings(data_coding: int, data: bytes, text: str) -> None:
    assert decode(data, data_coding) == text


@pytest.mark.parametrize("data_coding", [0x05, 0x09, 0x0B, 0x0D, 0x10, 0xBF, 256, -1])
def test_decode_unsupported_data_coding_is_typed(data_coding: int) -> None:
    with pytest.raises(UnsupportedDataCodingError) as info:
        decode(b"abc", data_coding)
    assert info.value.data_coding == data_coding


class TestPacking:
    def test_pack_known_vector(self) -> None:
        # "hellohello" packed, the classic 23.038 example.
        septets = encode_gsm7("hellohello")
        assert pack_septets(septets).hex() == "e8329bfd4697d9ec37"
        assert unpack_septets(bytes.fromhex("e8329bfd4697d9ec37"), 10) == septets

    def test_fill_bits_round_trip(self) -> None:
        septets = encode_gsm7("Hello €")
        for fill in range(7):
            packed = pack_septets(septets, fill)
            assert unpack_septets(packed, len(septets), fill) == septets

    def test_eight_septets_fill_seven_octets(self) -> None:
        assert len(pack_septets(b"\x41" * 8)) == 7

    @pytest.mark.parametrize("fill", [-1, 7])
    def test_bad_fill_bits(self, fill: int) -> None:
        with pytest.raises(ValueError, match="fill_bits"):
            pack_septets(b"a", fill)
        with pytest.raises(ValueError, match="fill_bits"):
            unpack_septets(b"a", None, fill)

    def test_unpack_count_too_large(self) -> None:
        with pytest.raises(ValueError, match="septets"):
            unpack_septets(b"\x00", 2)
