"""The Slack stand-in, driven by a real slack_sdk WebClient over loopback HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.local_slack import LocalSlack, payloads
from bot.local_slack.api import DEFAULT_TOKEN
from bot.local_slack.text_render import mrkdwn, render_blocks
from tests.fixtures import SLACK_PAYLOADS as SAMPLES

TOKEN = DEFAULT_TOKEN
SECRET = "shh"


BUTTON = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "value": "1"}


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


@pytest.fixture
def local() -> Iterator[LocalSlack]:
    with LocalSlack() as server:
        server.add_user("U0LEX", team_id="T0LEXCORP", name="lex", tz="America/Chicago")
        server.add_user("W0MIKE", team_id="T0MONSTERS", name="mike", tz="America/Los_Angeles")
        server.add_channel("C1", "deal", shared=True)
        yield server


@pytest.fixture
def client(local: LocalSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=local.base_url, retry_handlers=[])


# --- Web API -------------------------------------------------------------------


def test_auth(local: LocalSlack, client: WebClient) -> None:
    me = client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T0LEXCORP", "U0MAPBOT", "B0MAPBOT")
    with pytest.raises(SlackApiError) as bad:
        WebClient(token="xoxp-nope", base_url=local.base_url).auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=local.base_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("chat.teleport")
    assert unknown.value.response["error"] == "unknown_method"


def test_only_listed_tokens_when_given() -> None:
    with LocalSlack(tokens={"xoxb-good"}) as local:
        assert WebClient(token="xoxb-good", base_url=local.base_url).auth_test()["ok"]
        with pytest.raises(SlackApiError):
            WebClient(token="xoxb-other", base_url=local.base_url).auth_test()


def test_post_update_delete_roundtrip(local: LocalSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="plan", blocks=[section("*Plan*")])
    second = client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"][0]["text"]["text"] == "*Plan*"
    assert (first["message"]["user"], first["message"]["bot_id"]) == ("U0MAPBOT", "B0MAPBOT")

    client.chat_update(channel="C1", ts=first["ts"], text="plan v2", blocks=[section("v2")])
    msgs = local.messages("C1")
    assert [m.ts for m in msgs] == [first["ts"], second["ts"]]
    assert (msgs[0].text, msgs[0].edited, msgs[0].blocks) == ("plan v2", True, [section("v2")])
    assert msgs[1].thread_ts == first["ts"]
    link = client.chat_getPermalink(channel="C1", message_ts=first["ts"])["permalink"]
    assert link.endswith("/archives/C1/p" + first["ts"].replace(".", ""))

    client.chat_delete(channel="C1", ts=first["ts"])
    assert [m.ts for m in local.messages("C1")] == [second["ts"]]
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C1", ts=first["ts"], text="again")
    assert gone.value.response["error"] == "message_not_found"
    assert local.message("C1", second["ts"]) == local.messages("C1")[0].to_dict()
    assert local.violations == []


def test_form_encoded_blocks_are_decoded(local: LocalSlack, client: WebClient) -> None:
    blocks = [section("hi")]
    client.api_call("chat.postMessage", data={"channel": "C1", "blocks": json.dumps(blocks)})
    assert local.calls_to("chat.postMessage")[0].params["blocks"] == blocks
    assert local.messages("C1")[0].blocks == blocks


def test_ephemeral_and_response_url(local: LocalSlack, client: WebClient) -> None:
    sent = client.chat_postEphemeral(channel="C1", user="U0LEX", text="only you")
    (eph,) = local.ephemerals("C1", user="U0LEX")
    assert (eph.ts, eph.text) == (sent["message_ts"], "only you")
    assert local.ephemerals(user="W0MIKE") == []

    url = local.response_url("C1", "W0MIKE")
    assert url.startswith(local.root_url + "/response/")
    assert WebhookClient(url).send(text="working…").status_code == 200
    WebhookClient(url).send(text="done", replace_original=True)
    assert [e.text for e in local.ephemerals("C1", "W0MIKE")] == ["done"]
    WebhookClient(url).send_dict({"delete_original": True})
    assert local.ephemerals("C1", "W0MIKE") == []
    assert len(local.response_posts) == 3


def test_response_url_replaces_its_message(local: LocalSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="card")["ts"]
    url = local.response_url("C1", "W0MIKE", message_ts=ts)
    WebhookClient(url).send(text="card v2", blocks=[section("v2")], replace_original=True)
    assert [(m.text, m.edited) for m in local.messages("C1")] == [("card v2", True)]
    WebhookClient(url).send_dict({"delete_original": True})
    assert local.messages("C1") == []


def test_views(local: LocalSlack, client: WebClient) -> None:
    modal: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "New plan"},
        "blocks": [section("Name it")],
    }
    opened = client.views_open(trigger_id=payloads.new_trigger_id("U0LEX"), view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], view={**modal, "blocks": [section("x")]})
    assert updated["view"]["id"] == opened["id"]
    assert local.views[opened["id"]]["blocks"] == [section("x")]
    home = {"type": "home", "blocks": [section("Your plans")]}
    published = client.views_publish(user_id="U0LEX", view=home)["view"]
    assert local.home_view("U0LEX") == published
    with pytest.raises(SlackApiError):
        client.views_open(
            trigger_id=payloads.new_trigger_id("U0LEX"),
            view={**modal, "title": {"type": "plain_text", "text": "x" * 25}},
        )
    assert any("title" in v for v in local.violations)


def test_users_and_conversations(local: LocalSlack, client: WebClient) -> None:
    user = client.users_info(user="W0MIKE")["user"]
    assert (user["team_id"], user["tz"], user["profile"]["display_name"]) == (
        "T0MONSTERS",
        "America/Los_Angeles",
        "mike",
    )
    assert user["tz_offset"] in (-8 * 3600, -7 * 3600)
    assert (user["is_restricted"], user["is_ultra_restricted"]) == (False, False)
    local.add_user(
        "U0GUEST", team_id="T0LEXCORP", name="gus", is_restricted=True, email="g@x.io", title="CFO"
    )
    guest = client.users_info(user="U0GUEST")["user"]
    assert (guest["is_restricted"], guest["real_name"]) == (True, "Gus")
    assert (guest["profile"]["email"], guest["profile"]["title"]) == ("g@x.io", "CFO")
    with pytest.raises(SlackApiError) as missing:
        client.users_info(user="U404")
    assert missing.value.response["error"] == "user_not_found"
    assert client.conversations_info(channel="C1")["channel"]["is_ext_shared"] is True
    local.add_channel("C2", "internal")
    internal = client.conversations_info(channel="C2")["channel"]
    assert (internal["is_shared"], internal["is_ext_shared"]) == (False, False)
    assert set(client.conversations_members(channel="C1")["members"]) == {
        "U0MAPBOT",
        "U0LEX",
        "U0GUEST",
        "W0MIKE",
    }
    assert local.user_name("U0LEX") == "lex"


def test_on_change_and_wait_for(local: LocalSlack, client: WebClient) -> None:
    seen: list[str] = []
    local.on_change = lambda call: seen.append(call.method)
    client.users_info(user="U0LEX")
    client.chat_postMessage(channel="C1", text="hi")
    assert seen == ["chat.postMessage"]
    assert len(local.wait_for_calls("chat.postMessage", 1, timeout=1)) == 1
    assert local.wait_for(lambda: len(local.messages("C1")) == 2, timeout=0.2) is False
    local.fail_next("chat.postMessage", error="channel_not_found")
    local.reset()
    assert (local.calls, local.messages("C1")) == ([], [])
    assert client.chat_postMessage(channel="C1", text="no fault left")["ok"]


# --- Slack's checks ------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([section(str(i)) for i in range(51)], "at most 50"),
        ([section("x" * 3001)], "section text longer than 3000"),
        ([section("a", "dup"), section("b", "dup")], "duplicate block_id"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "header"),
        ([{"type": "hologram"}], "unknown block type"),
        ([{**section("a"), "accessory": {**BUTTON, "action_id": "a" * 256}}], "action_id"),
        ([{"type": "actions", "elements": [BUTTON] * 26}], "cannot exceed 25 elements"),
    ],
)
def test_invalid_blocks_refused_and_recorded(
    local: LocalSlack, client: WebClient, blocks: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="x", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks"
    assert any(problem in e for e in refused.value.response["errors"])
    assert any(problem in v for v in local.violations)
    assert local.messages("C1") == []


def test_text_too_long(local: LocalSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert refused.value.response["error"] == "msg_too_long"
    assert local.violations == ["chat.postMessage: text: longer than 40000"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"blocks": [section(str(i)) for i in range(101)]}, "at most 100"),
        ({"private_metadata": "m" * 3001}, "private_metadata"),
        ({"title": {"type": "plain_text", "text": "t" * 25}}, "view.title"),
    ],
)
def test_invalid_views_refused_and_recorded(
    local: LocalSlack, client: WebClient, change: dict[str, Any], problem: str
) -> None:
    modal: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Plan"},
        "blocks": [section("1")],
    }
    client.views_open(
        trigger_id=payloads.new_trigger_id("U0LEX"), view={**modal, "blocks": [section("1")] * 100}
    )
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id=payloads.new_trigger_id("U0LEX"), view={**modal, **change})
    assert refused.value.response["error"] == "invalid_arguments"
    assert problem in local.violations[0]  # then slack_sdk's own message for it
    assert all(v.startswith("views.open: ") for v in local.violations)
    assert len(local.views) == 1


def test_button_limits(local: LocalSlack, client: WebClient) -> None:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "b" * 76},
        "value": "v" * 2001,
    }
    with pytest.raises(SlackApiError):
        client.chat_postMessage(
            channel="C1", text="x", blocks=[{"type": "actions", "elements": [button]}]
        )
    assert any("button text" in v for v in local.violations)
    assert any("button value" in v for v in local.violations)


# --- injected faults -------------------------------------------------------------


def test_429_retried_after_retry_after(local: LocalSlack) -> None:
    local.fail_next("chat.postMessage", status=429, retry_after=1)
    client = WebClient(
        token=TOKEN, base_url=local.base_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    start = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert time.monotonic() - start >= 1
    assert [c.status for c in local.calls_to("chat.postMessage")] == [429, 200]
    assert len(local.messages("C1")) == 1


def test_500_then_success(local: LocalSlack) -> None:
    local.fail_next("chat.update", status=500)
    local.fail_next("chat.postMessage", status=503)
    handler = ServerErrorRetryHandler(
        max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.05)
    )
    client = WebClient(token=TOKEN, base_url=local.base_url, retry_handlers=[handler])
    ts = client.chat_postMessage(channel="C1", text="a")["ts"]
    client.chat_update(channel="C1", ts=ts, text="b")
    assert [c.status for c in local.calls] == [503, 200, 500, 200]
    assert local.messages("C1")[0].text == "b"


def test_error_injection_ok_false(local: LocalSlack, client: WebClient) -> None:
    local.fail_next("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C1", text="x")
        assert (err.value.response.status_code, err.value.response["error"]) == (
            200,
            "channel_not_found",
        )
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_delay_makes_client_time_out(local: LocalSlack) -> None:
    local.delay_next("chat.postMessage", 3)
    client = WebClient(token=TOKEN, base_url=local.base_url, timeout=1, retry_handlers=[])
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow")
    assert client.chat_postMessage(channel="C1", text="fast")["ok"]


# --- text rendering ------------------------------------------------------------


def names(user_id: str) -> str:
    return {"U1": "lex", "W2": "mike"}.get(user_id, user_id)


def test_mrkdwn_unescaping() -> None:
    text = (
        "<@U1> &amp; <@W2|old> see <https://x.io/a?b=1&amp;c=2|the plan> <!channel> &lt;3 &amp;lt;"
    )
    assert (
        mrkdwn(text, names) == "@lex & @mike see the plan (https://x.io/a?b=1&c=2) @channel <3 &lt;"
    )


def test_render_numbers_elements() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Acme MAP"}},
        section("`#1` Kickoff — <@U1>", "t1"),
        {
            "type": "actions",
            "block_id": "a1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "task.complete",
                    "value": "7:1",
                    "text": {"type": "plain_text", "text": "Complete"},
                },
                {
                    "type": "overflow",
                    "action_id": "task.more",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Edit"}, "value": "edit:1"},
                        {"text": {"type": "plain_text", "text": "Delete"}, "value": "del:1"},
                    ],
                },
            ],
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Due *Fri* · owner <@W2>"}]},
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input"},
        },
    ]
    out = render_blocks(blocks, names, start=3)
    lines = out.text.splitlines()
    assert lines[:3] == ["Acme MAP", "========", "`#1` Kickoff — @lex"]
    assert lines[3] == "[3] Complete  ⋯ [4] Edit  [5] Delete", "a menu is one line"
    assert lines[4].startswith("─") and "owner @mike" in lines[5]
    assert lines[6] == "Title: <plain_text_input>"
    assert [(e.number, e.action_id, e.value, e.block_id) for e in out.elements] == [
        (3, "task.complete", "7:1", "a1"),
        (4, "task.more", "edit:1", "a1"),
        (5, "task.more", "del:1", "a1"),
    ]
    delete = {"text": {"type": "plain_text", "text": "Delete"}, "value": "del:1"}
    assert out.elements[2].action() == {
        "action_id": "task.more",
        "block_id": "a1",
        "type": "overflow",
        "selected_option": delete,
    }
    assert [e.block_index for e in out.elements] == [2, 2, 2]
    assert out.elements[0].action() == {
        "action_id": "task.complete",
        "block_id": "a1",
        "type": "button",
        "value": "7:1",
        "text": {"type": "plain_text", "text": "Complete", "emoji": True},
    }


def test_render_view() -> None:
    picker = {
        **section("Pick a date", "d"),
        "accessory": {"type": "datepicker", "action_id": "due"},
    }
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "New task"},
        "submit": {"type": "plain_text", "text": "Add"},
        "blocks": [picker],
    }
    out = render_blocks(view, names)
    assert out.text.splitlines()[0] == "New task"
    assert "[1] datepicker\n" in out.text and out.text.endswith("<Add>")
    assert out.elements[0].type == "datepicker"


# --- payload builders ------------------------------------------------------------


def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def _payload(body: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(parse_qs(body)["payload"][0])
    return data


def _verified(body: str, json_body: bool = False) -> bool:
    headers = payloads.signed_headers(body, SECRET)
    assert headers["Content-Type"] == (
        "application/json" if json_body else "application/x-www-form-urlencoded"
    )
    return SignatureVerifier(SECRET).is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


def test_signatures() -> None:
    body = payloads.slash_command_body(text="x", user_id="U1", team_id="T1", channel_id="C1")
    assert _verified(body) and _verified("{}", json_body=True)
    stale = payloads.signed_headers(body, SECRET, int(time.time()) - 600)
    verifier = SignatureVerifier(SECRET)
    assert not verifier.is_valid(
        body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"]
    )
    assert not SignatureVerifier("other").is_valid(
        body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"]
    )


def test_slash_command_fields() -> None:
    body = payloads.slash_command_body(
        text="create Acme", user_id="U1", team_id="T1", channel_id="C1", response_url="http://r"
    )
    fields = {k: v[0] for k, v in parse_qs(body).items()}
    assert (fields["command"], fields["text"], fields["response_url"]) == (
        "/map",
        "create Acme",
        "http://r",
    )
    assert {"team_id", "channel_id", "user_id", "trigger_id", "api_app_id"} <= set(fields)


def test_block_actions_matches_sample() -> None:
    action = {"action_id": "a", "block_id": "b", "value": "1", "type": "button"}
    body = payloads.block_actions_body(
        user_id="W0MIKE",
        user_team_id="T0MONSTERS",
        team_id="T0LEXCORP",
        channel_id="C1",
        action=action,
        message={"ts": "1.2", "text": "t"},
        message_ts="1.2",
        is_ephemeral=True,
    )
    assert _verified(body)
    payload, sample = _payload(body), _sample("block_actions.json")
    assert set(sample) <= set(payload)
    assert set(sample["user"]) <= set(payload["user"]) and set(sample["container"]) <= set(
        payload["container"]
    )
    assert payload["user"]["team_id"] == "T0MONSTERS" and payload["team"]["id"] == "T0LEXCORP"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1.2",
        "channel_id": "C1",
        "is_ephemeral": True,
    }
    assert payload["actions"][0]["value"] == "1" and "action_ts" in payload["actions"][0]
    assert payload["message"]["ts"] == "1.2"


def test_view_submission_matches_sample() -> None:
    body = payloads.view_submission_body(
        user_id="W0MIKE",
        user_team_id="T0MONSTERS",
        team_id="T0MONSTERS",
        view={"id": "V1", "callback_id": "plan.new", "private_metadata": "7"},
        values={"b": {"a": {"type": "plain_text_input", "value": "Acme"}}},
        app_installed_team_id="T0LEXCORP",
    )
    payload, sample = _payload(body), _sample("view_submission.json")
    assert set(sample) <= set(payload) and set(sample["view"]) <= set(payload["view"])
    assert payload["view"]["app_installed_team_id"] == "T0LEXCORP"
    assert payload["view"]["state"]["values"]["b"]["a"]["value"] == "Acme"
    assert payload["view"]["callback_id"] == "plan.new"


def test_message_shortcut_and_event_match_samples() -> None:
    message = {"type": "message", "ts": "9.1", "text": "hi", "user": "U1"}
    shortcut = _payload(
        payloads.message_shortcut_body(
            user_id="U1",
            user_team_id="T1",
            team_id="T1",
            channel_id="C1",
            message=message,
            callback_id="s",
        )
    )
    assert set(_sample("shortcut-message_shortcut.json")) <= set(shortcut)
    assert shortcut["message_ts"] == "9.1"
    body = payloads.event_body(
        team_id="T_SOURCE",
        event={"type": "member_joined_channel", "user": "U9", "channel": "C1"},
        authorizations_team_id="T_INSTALLED",
    )
    assert _verified(body, json_body=True)
    event, sample = json.loads(body), _sample("connect-join_event-member_joined_channel.json")
    assert set(sample) - {"enterprise_id"} <= set(event)
    assert set(sample["authorizations"][0]) <= set(event["authorizations"][0])
    assert event["authorizations"][0]["team_id"] == "T_INSTALLED" and event["team_id"] == "T_SOURCE"


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}], "must be plain_text"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "a",
                            "text": {"type": "mrkdwn", "text": "x"},
                        }
                    ],
                }
            ],
            "must be plain_text",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "overflow",
                            "action_id": "o",
                            "options": [_option(str(i), str(i)) for i in range(6)],
                        }
                    ],
                }
            ],
            "an overflow takes 2 to 5",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "overflow",
                            "action_id": "o",
                            "options": [_option("a", "v" * 151), _option("b", "w")],
                        }
                    ],
                }
            ],
            "longer than 150",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "overflow",
                            "action_id": "o",
                            "options": [_option("a" * 76, "v"), _option("b", "w")],
                        }
                    ],
                }
            ],
            "longer than 75",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}],
            "longer than 2000",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}],
            "at most 10",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "action_id": "same", "text": _plain("x")},
                        {"type": "button", "action_id": "same", "text": _plain("y")},
                    ],
                }
            ],
            "twice in one block",
        ),
    ],
)
def test_what_slack_refuses_and_slack_sdk_lets_through(
    local: LocalSlack, client: WebClient, blocks: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="x", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks"
    assert any(problem in v for v in local.violations), local.violations


def test_the_same_action_id_in_two_blocks_is_fine(local: LocalSlack, client: WebClient) -> None:
    button = {"type": "button", "action_id": "same", "text": _plain("x")}
    blocks = [{"type": "actions", "elements": [button]}, {"type": "actions", "elements": [button]}]
    client.chat_postMessage(channel="C1", text="x", blocks=blocks)
    assert local.violations == []


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        ({"type": "modal", "blocks": []}, "needs a title"),
        (
            {
                "type": "modal",
                "title": _plain("Add"),
                "blocks": [
                    {
                        "type": "input",
                        "label": _plain("Title"),
                        "element": {"type": "plain_text_input", "action_id": "t"},
                    }
                ],
            },
            "needs a submit",
        ),
    ],
)
def test_modals_slack_refuses(
    local: LocalSlack, client: WebClient, view: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id=payloads.new_trigger_id("U0LEX"), view=view)
    assert any(problem in v for v in local.violations), local.violations
