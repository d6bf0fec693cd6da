"""What a well-formed Slack body is (bot.request_body), as pure functions: each
refusal names its reason, and what passes is what Bolt will read."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot import request_body as rb
from bot.local_slack import payloads
from tests.harness import CHANNEL, SELLER_TEAM

FORM = rb.FORM


def interactive(**payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def click(**changes: Any) -> dict[str, Any]:
    body = payloads.block_actions_body(
        user_id="U0LEX",
        user_team_id=SELLER_TEAM,
        team_id=SELLER_TEAM,
        channel_id=CHANNEL,
        action={"action_id": "task.start", "block_id": "b", "value": "1:2", "type": "button"},
    )
    payload = rb.parse(body.encode(), FORM)
    payload.update(changes)
    return payload


def refused(body: bytes, content_type: str = FORM) -> str:
    with pytest.raises(rb.Malformed) as e:
        rb.parse(body, content_type)
    return str(e.value)


def test_each_kind_of_body_parses_as_bolt_reads_it() -> None:
    command = payloads.slash_command_body(
        text="status", user_id="U0LEX", team_id=SELLER_TEAM, channel_id=CHANNEL
    )
    parsed = rb.parse(command.encode(), FORM + "; charset=utf-8")
    assert parsed["text"] == "status" and parsed["command"] == "/map"
    assert parsed["response_url"] == ""  # blank fields are kept, as Bolt keeps them
    assert rb.parse(interactive(**click()), FORM)["actions"][0]["value"] == "1:2"
    event = payloads.event_body(team_id=SELLER_TEAM, event={"type": "app_home_opened"})
    assert rb.parse(event.encode(), "application/json")["event"]["type"] == "app_home_opened"
    challenge = b'{"type": "url_verification", "challenge": "c", "token": "t"}'
    assert rb.parse(challenge, "application/json")["challenge"] == "c"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\xff", FORM, "the body is not UTF-8"),
        (b' {"type": "x"}', "application/json", "a JSON body that is not an object"),
        (b"[]", "application/json", "a JSON body that is not an object"),
        (b"command=x", "text/plain", "an unsupported Content-Type"),
        (b"command=x", " application/x-www-form-urlencoded", "an unsupported Content-Type"),
        (b'{"type": "x"}', FORM, "a form body that is JSON"),
        (b"a&b=1", FORM, "not a form body"),
        (b"&".join(b"f%d=1" % i for i in range(rb.MAX_FORM_FIELDS + 1)), FORM, "not a form body"),
        (b"a=1&a=2", FORM, "a form field given twice"),
        (b"%00=1", FORM, "'\\x00' holds a NUL character"),
        (b"command=%2Fmap&trigger_id=1", FORM, "body.user_id is missing"),
        (b"command=%2Fmap&user_id=u0lex&trigger_id=1", FORM, "body.user_id is not a Slack id"),
        (b"payload=x", FORM, "not JSON"),
        (b"payload=[1]", FORM, "JSON that is not an object"),
        (
            b'{"type": "event_callback", "event": {"type": "x"}}',
            "application/json",
            "body.event_id is missing",
        ),
        (
            b'{"type": "event_callback", "event_id": "Ev1"}',
            "application/json",
            "body.event is missing",
        ),
        (b'{"type": "x", "team_id": "t1"}', "application/json", "body.team_id is not a Slack id"),
    ],
)
def test_refusals_say_why(body: bytes, content_type: str, reason: str) -> None:
    message = refused(body, content_type)
    assert message == reason or message.startswith(reason + " ("), message


def test_interactive_payloads_need_what_slack_always_sends() -> None:
    assert "payload.type is missing" in refused(interactive(**{**click(), "type": None}))
    assert "payload.trigger_id is missing" in refused(interactive(**click(trigger_id=None)))
    assert "payload.actions is missing" in refused(interactive(**click(actions=None)))
    assert refused(interactive(**click(actions=[]))) == "payload.actions is empty"
    assert "payload.view is missing" in refused(interactive(**click(type="view_submission")))
    assert "payload.user is missing" in refused(interactive(**click(user=None)))
    assert "payload.user.id is missing" in refused(interactive(**click(user={"name": "x"})))
    two = [{"response_url": "https://x"}, {"response_url": "https://y"}]
    assert refused(interactive(**click(response_urls=two))) == (
        "payload.response_urls has more than one"
    )
    one = click(response_urls=two[:1])
    assert rb.parse(interactive(**one), FORM)["response_urls"] == two[:1]
    # A type we do not know needs nothing more (Bolt answers it as unhandled).
    assert rb.parse(interactive(type="something_new", user={"id": "U1"}), FORM)["type"]


def test_field_kinds() -> None:
    assert "payload.actions[0].value is not a string" in refused(
        interactive(**click(actions=[{"action_id": "a", "value": 5}]))
    )
    assert "payload.actions[0] is not an object" in refused(interactive(**click(actions=["a"])))
    assert "payload.user is not a object" in refused(interactive(**click(user="U0LEX")))
    assert "payload.actions is not a list" in refused(interactive(**click(actions={"a": 1})))
    assert "is not a Slack id" in refused(interactive(**click(user={"id": "U"})))
    assert "is not a Slack id" in refused(interactive(**click(user={"id": "u0lex"})))
    assert "is not a Slack id" in refused(interactive(**click(user={"id": "U0" + "A" * 31})))
    assert rb.parse(interactive(**click(user={"id": "U0" + "A" * 30})), FORM)
    assert "payload.enterprise is not a Slack id or object" in refused(
        interactive(**click(enterprise=5))
    )
    assert rb.parse(interactive(**click(enterprise="E01")), FORM)["enterprise"] == "E01"
    assert rb.parse(interactive(**click(enterprise={"id": "E01"})), FORM)
    state: dict[str, Any] = {"values": {"b": {"a": {"selected_users": ["U1", 2]}}}}
    view = {"id": "V1", "state": state}
    assert "selected_users[1] is not a string" in refused(
        interactive(**click(type="view_submission", view=view))
    )
    state["values"]["b"]["a"] = 5
    assert "values.b.a is not a object" in refused(
        interactive(**click(type="view_submission", view=view))
    )
    # In values people type NUL is stripped later (bot.clean_input), not refused.
    assert rb.parse(interactive(**click(extra="a\x00")), FORM)["extra"] == "a\x00"
    assert "NUL" in refused(interactive(**click(**{"a\x00": 1})))
    # A null entry does not end the check of the ones after it.
    gappy = {"id": "V1", "state": {"values": {"b1": None, "b2": 5}}}
    assert refused(interactive(**click(type="view_submission", view=gappy))) == (
        "payload.view.state.values.b2 is not a object"
    )
    long_key = "k" * 50 + "\x00"
    assert (
        refused(interactive(**click(**{long_key: 1}))) == f"{long_key[:40]!r} holds a NUL character"
    )
    assert rb.parse(interactive(**click(extra="\ud800")), FORM)["extra"] == "\ud800"
    assert "unpaired surrogate" in refused(interactive(**click(**{"\udfff": 1})))
    long_key = "s" * 50 + "\udfff"
    assert refused(interactive(**click(**{long_key: 1}))) == (
        f"{long_key[:40]!r} holds an unpaired surrogate"
    )
    assert rb.parse(interactive(**click(extra="\U0001f4a5 ǅ")), FORM)["extra"] == "\U0001f4a5 ǅ"


def test_nesting_is_measured_without_recursion() -> None:
    assert rb.depth("x") == 0 and rb.depth([]) == 1 and rb.depth({}) == 1
    assert rb.depth([[], {"a": [1]}]) == 3
    assert rb.depth([[[]], 1]) == 3  # a scalar met first does not end the walk
    assert "NUL" in refused(interactive(**click(extra=[1, {"\x00": 1}])))
    assert rb.depth({"a": {"b": {}}, "c": [[[[]]]]}) == 5
    very = "[" * 100_000 + "]" * 100_000
    assert "not JSON" in str(
        pytest.raises(rb.Malformed, rb.json_object, '{"a": ' + very + "}").value
    )
    flat = {"a": json.loads("[" * 31 + "]" * 31)}
    assert rb.json_object(json.dumps(flat)) == flat
    deeper = json.dumps({"a": json.loads("[" * 32 + "]" * 32)})
    assert "deeper than 32" in str(pytest.raises(rb.Malformed, rb.json_object, deeper).value)
