"""`plan_split`'s fast path for one GSM part gives the plan the general path gives."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smppgate.text import GSM7_BASIC, GSM7_EXTENSION, DefaultAlphabet, Encoding, SplitMethod
from smppgate.text.segment import _plan_general, plan_split

GSM_CHARS = GSM7_BASIC.replace("\x1b", "") + "".join(GSM7_EXTENSION)
# around the 160-septet edge, extension characters (two septets) over-weighted, and now and
# then a character outside the alphabet (the general path's UCS2 or error)
_chars = st.one_of(st.sampled_from(GSM_CHARS + "€{}[]" * 4), st.sampled_from("Жé😀\x1b"))
texts = st.one_of(
    st.text(alphabet=_chars, max_size=40),
    st.integers(140, 170).flatmap(lambda n: st.text(alphabet=_chars, min_size=n, max_size=n)),
)


@settings(max_examples=400)
# the edges: 160 septets fit one part; 161 septets in 160 characters do not
@example("a" * 160, Encoding.AUTO, SplitMethod.UDH, DefaultAlphabet.GSM7, 7, 2)
@example("€" + "a" * 158, Encoding.AUTO, SplitMethod.SAR, DefaultAlphabet.GSM7, 7, 2)
@example("€" + "a" * 159, Encoding.GSM7, SplitMethod.UDH, DefaultAlphabet.GSM7, 7, 2)
@example("€" + "a" * 159, Encoding.AUTO, SplitMethod.UDH, DefaultAlphabet.GSM7, 7, 1)
@given(
    texts,
    st.sampled_from([Encoding.AUTO, Encoding.GSM7]),
    st.sampled_from(list(SplitMethod)),
    st.sampled_from(list(DefaultAlphabet)),
    st.integers(0, 255),
    st.integers(1, 3),
)
def test_fast_path_equals_general_path(
    text: str,
    encoding: Encoding,
    method: SplitMethod,
    alphabet: DefaultAlphabet,
    reference: int,
    max_parts: int,
) -> None:
    try:
        expected = _plan_general(text, encoding, method, reference, max_parts, alphabet)
    except ValueError as error:  # UnencodableTextError, TooManyPartsError
        with pytest.raises(type(error), match=re.escape(str(error))):
            plan_split(
                text,
                encoding,
                method,
                reference=reference,
                max_parts=max_parts,
                default_alphabet=alphabet,
            )
        return
    got = plan_split(
        text, encoding, method, reference=reference, max_parts=max_parts, default_alphabet=alphabet
    )
    assert got == expected
