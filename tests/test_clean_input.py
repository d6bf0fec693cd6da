"""Input cleaning at the edge: NUL, lone surrogates and other C0 controls (but
newline and tab) are gone from every string of a payload before a listener reads
it, in the body and in what Bolt copied into the context."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st
from slack_bolt import BoltRequest, BoltResponse
from sqlalchemy import select

from bot.clean_input import clean_payload, middleware
from bot.text import clean_text
from storage.db import Database
from storage.models import Comment, Plan, Task
from tests.harness import CHANNEL, Harness
from tests.test_modals import BUYER, SELLER, click, last_view, menu, ok, state_of, submit

CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\n\t")


def test_clean_text_strips_nul_controls_and_lone_surrogates() -> None:
    assert clean_text("Pay\x00 the\x1b bill") == "Pay the bill"
    assert clean_text("a\ud800b\udfffc\udbffd\udc00") == "abcd"
    assert clean_text(f"x{CONTROLS}y") == "xy"
    assert clean_text("\x1f") == "" and clean_text("\x0b\x0c\r") == ""
    # Kept: newlines, tabs, DEL and everything printable, astral characters included.
    kept = "line\nnext\tcol\x7f é 🚀 \u200b \ud7ff\ue000"  # both sides of the surrogates
    assert clean_text(kept) == kept
    assert clean_text(" \x20!") == " \x20!"


@given(st.text())
def test_clean_text_leaves_nothing_unwanted_and_is_idempotent(text: str) -> None:
    out = clean_text(text)

    def unwanted(ch: str) -> bool:
        return (ord(ch) < 0x20 and ch not in "\n\t") or 0xD800 <= ord(ch) <= 0xDFFF

    assert out == "".join(ch for ch in text if not unwanted(ch))
    out.encode("utf-8")  # raises on a lone surrogate
    assert clean_text(out) == out


def test_clean_payload_reaches_every_string_keys_included() -> None:
    payload = {
        "text\x00": "a\x00b",
        "n": 3,
        "flag": True,
        "none": None,
        "list": ["x\ud800", {"deep": ["y\x07"]}, 4.5],
    }
    assert clean_payload(payload) == {
        "text": "ab",
        "n": 3,
        "flag": True,
        "none": None,
        "list": ["x", {"deep": ["y"]}, 4.5],
    }
    assert clean_payload("\x00") == "" and clean_payload(7) == 7
    assert clean_payload({1: "\x01"}) == {1: ""}, "a key that is not a string stays"


def test_middleware_cleans_body_and_context_then_goes_on() -> None:
    payload = {"type": "block_actions", "user": {"id": "U0LEX\x00", "team_id": "T1"}}
    raw = urlencode({"payload": json.dumps(payload)})
    req = BoltRequest(body=raw, headers={"content-type": ["application/x-www-form-urlencoded"]})
    assert req.context["user_id"] == "U0LEX\x00", "Bolt copies ids before middleware runs"
    req.context["count"] = 2
    calls: list[str] = []
    middleware(req, BoltResponse(status=200), lambda: calls.append("next"))
    assert calls == ["next"]
    assert req.body["user"]["id"] == "U0LEX" and req.context["user_id"] == "U0LEX"
    assert req.context["count"] == 2


# --- end to end: what reaches the database and Slack ----------------------------------


def test_slash_command_text_is_cleaned_before_it_is_stored(h: Harness, db: Database) -> None:
    assert h.command("create Deal\x00 one go-live 2027-03-01").status == 200
    resp = h.command("add Pay\x00 the\x1b bill\x07 owner buyer")
    assert resp.status == 200 and "Pay the bill" in resp.body
    h.settle()
    with db.read() as s:
        assert s.scalar(select(Plan.title)) == "Deal one"
        assert s.scalar(select(Task.title)) == "Pay the bill"
    sent = json.dumps([c.params for c in h.local.calls], ensure_ascii=False)
    assert "\x00" not in sent and "\\u0000" not in sent


def test_modal_text_is_cleaned_before_it_is_stored(h: Harness, db: Database) -> None:
    h.command("create Deal go-live 2027-03-01")
    h.command("add Sign the NDA owner buyer")
    h.settle()
    click(h, menu(h, "comment", 1), BUYER)
    view = last_view(h)
    ok(submit(h, view, state_of(view, f_comment="ok\x00 \ud800signed\x1b\nthanks"), BUYER))
    click(h, menu(h, "edit", 1), SELLER)
    edit = last_view(h)
    ok(submit(h, edit, state_of(edit, f_title="Sign\x00 the\udfff NDA\x0b now"), SELLER))
    h.settle()
    with db.read() as s:
        assert s.scalar(select(Comment.body)) == "ok signed\nthanks"
        assert s.scalar(select(Task.title)) == "Sign the NDA now"
    thread = [m for m in h.local.messages(CHANNEL) if m.thread_ts]
    assert thread and "ok signed\\nthanks" in json.dumps(thread[0].blocks)
