"""MO opt keywords (pure): which texts are keywords, per account's configuration; the
keyword lists' checks at start; the opt webhook's payload; `blocked` in the lifecycle."""

from __future__ import annotations

import json

import pytest

from smppgate.service.blocklist import opt_keyword, with_keywords
from smppgate.service.config import AccountConfig, ConfigError, parse_config
from smppgate.service.incoming import inbound_for_set
from smppgate.service.webhooks import opt_payload
from smppgate.store import MoSet, NewInbound, OptAction, OptChange, OptKeyword
from smppgate.store.lifecycle import TRANSITIONS, settle
from smppgate.store.models import MessageState

from .test_service_config import account


def parsed(**extra: object) -> AccountConfig:
    return parse_config(account(**extra), environ={}).accounts[0]


def mo(text: str, source: str = "79001234567", ussd: int | None = None) -> NewInbound:
    return NewInbound("a", source, "1234", text, 0, 1e9, ussd_service_op=ussd)


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("STOP", OptAction.OPT_OUT),
        ("  stop\n", OptAction.OPT_OUT),
        ("Стоп", OptAction.OPT_OUT),
        ("СТОП", OptAction.OPT_OUT),
        ("start", OptAction.OPT_IN),
        (" старт ", OptAction.OPT_IN),
        ("stop please", None),
        ("STOPP", None),
        ("", None),
        ("   ", None),
    ],
)
def test_default_keywords_trimmed_any_case(text: str, action: OptAction | None) -> None:
    found = opt_keyword(mo(text), parsed()).opt
    if action is None:
        assert found is None
    else:
        assert found == OptKeyword(action, text.strip(), "79001234567")


def test_configured_keywords_replace_the_defaults_and_ussd_or_names_never_match() -> None:
    acc = parsed(opt_out_keywords=["unsubscribe", " halt "], opt_in_keywords=[])
    assert opt_keyword(mo("UNSUBSCRIBE"), acc).opt is not None
    assert opt_keyword(mo("halt"), acc).opt is not None
    assert opt_keyword(mo("STOP"), acc).opt is None
    assert opt_keyword(mo("START"), acc).opt is None
    assert opt_keyword(mo("STOP", ussd=1), parsed()).opt is None
    assert opt_keyword(mo("STOP", source="Bank"), parsed()).opt is None
    # the sender keyed as a message's destination is (a leading + dropped)
    assert opt_keyword(mo("STOP", source="+79001234567"), parsed()).opt == OptKeyword(
        OptAction.OPT_OUT, "STOP", "79001234567"
    )


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"opt_out_keywords": "STOP"}, "must be a list of non-empty strings"),
        ({"opt_out_keywords": [" "]}, "only spaces"),
        ({"opt_in_keywords": ["Stop"]}, "stop is also an opt-out keyword"),
    ],
)
def test_bad_keyword_lists_are_refused_at_start(extra: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parsed(**extra)


def test_the_opt_webhook_payload() -> None:
    change = OptChange(OptAction.OPT_IN, "a", "79001234567", "START", 7, False, True, 1e9)
    body = json.loads(opt_payload(change, 1e9 + 1))
    assert body == {
        "event": "inbound.opt_in",
        "created_at": "2001-09-09T01:46:41.000Z",
        "opt": {
            "account": "a",
            "number": "79001234567",
            "keyword": "START",
            "inbound_id": 7,
            "changed": False,
            "blocked": True,
            "at": "2001-09-09T01:46:40.000Z",
        },
    }


def test_blocked_is_final_and_nothing_moves_a_message_out_of_it() -> None:
    assert MessageState.BLOCKED.is_final
    assert MessageState.BLOCKED in TRANSITIONS[MessageState.QUEUED]
    assert MessageState.BLOCKED in TRANSITIONS[MessageState.SENDING]
    assert TRANSITIONS[MessageState.BLOCKED] == frozenset()
    for derived in MessageState:
        assert settle("m", MessageState.BLOCKED, derived) is MessageState.BLOCKED


def _set(segments: tuple[bytes | None, ...], *, complete: bool = True) -> MoSet:
    return MoSet("a", "+79001234567", "1234", 7, len(segments), segments, 0, "", None, None,
                 "a#0", complete)  # fmt: skip


def test_a_keyword_sent_in_parts_is_one_when_its_set_is_complete() -> None:
    assemble = with_keywords(inbound_for_set, parsed())
    whole = assemble(_set((b"ST", b"OP")), 1e9)
    assert (whole.text, whole.opt) == (
        "STOP", OptKeyword(OptAction.OPT_OUT, "STOP", "79001234567"),
    )  # fmt: skip
    assert assemble(_set((b"ST", b"ART")), 1e9).opt == OptKeyword(
        OptAction.OPT_IN, "START", "79001234567"
    )
    # handed over partial after the timeout: its whole text is not known, never a keyword
    assert assemble(_set((b"STOP", None), complete=False), 1e9).opt is None
    assert assemble(_set((b"please ", b"stop")), 1e9).opt is None
