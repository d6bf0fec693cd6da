"""The stand-in answers as Slack does where a guarantee depends on it: rate tiers,
unknown ids, tokens and scopes, other people's messages, triggers, view stacks and
hashes, response URLs. Each test cites the page of docs.slack.dev it follows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.local_slack import LocalSlack, payloads, triggers
from bot.local_slack.api import DEFAULT_TOKEN
from bot.local_slack.rates import TIER_PER_MINUTE

TEAM = "T0LEXCORP"
MODAL: dict[str, Any] = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Plan"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}
HOME: dict[str, Any] = {**MODAL, "type": "home", "title": None}
HOME.pop("title")


@pytest.fixture
def local() -> Iterator[LocalSlack]:
    with LocalSlack(team_id=TEAM) as server:
        server.add_user("U0LEX", team_id=TEAM, name="lex")
        server.add_user("W0MIKE", team_id="T0MONSTERS", name="mike")
        server.add_channel("C1", "deal", shared=True)
        server.add_channel("C2", "other")
        yield server


@pytest.fixture
def client(local: LocalSlack) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=local.base_url, retry_handlers=[])


def refused(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as e:
        call()
    return e.value


# --- rate tiers ----------------------------------------------------------------
# https://docs.slack.dev/apis/web-api/rate-limits: "per API method per workspace/team
# per app"; Tier 1 1+/min, Tier 2 20+, Tier 3 50+, Tier 4 100+; a method over its
# limit answers HTTP 429 with a Retry-After header (seconds).


@pytest.mark.parametrize(
    ("method", "args", "per_minute"),
    [
        ("chat.update", {"channel": "C1", "text": "v"}, TIER_PER_MINUTE[3]),
        ("conversations.info", {"channel": "C1"}, TIER_PER_MINUTE[3]),
        ("users.info", {"user": "U0LEX"}, TIER_PER_MINUTE[4]),
        ("views.publish", {"user_id": "U0LEX", "view": HOME}, TIER_PER_MINUTE[4]),
        # "hundreds of requests per minute" (auth.test's page)
        ("auth.test", {}, 200),
        # 1 a minute for apps outside the Marketplace (since 2025)
        ("conversations.history", {"channel": "C1"}, 1),
    ],
)
def test_each_method_has_its_tier_by_default(
    local: LocalSlack, client: WebClient, method: str, args: dict[str, Any], per_minute: int
) -> None:
    if method == "chat.update":
        args = {**args, "ts": client.chat_postMessage(channel="C1", text="x")["ts"]}
    for _ in range(per_minute):
        assert client.api_call(method, json=args)["ok"]
    limited = refused(lambda: client.api_call(method, json=args))
    assert limited.response.status_code == 429
    assert limited.response["error"] == "ratelimited"
    assert int(limited.response.headers["retry-after"]) >= 1
    assert local.rate_limited == [method]
    local.advance_clock(60)  # the window passes
    assert client.api_call(method, json=args)["ok"]


def test_limits_are_per_workspace_and_counted_per_minute(local: LocalSlack) -> None:
    other = LocalSlack(team_id="T0OTHER").start()
    try:
        other.add_user("U0LEX", team_id="T0OTHER", name="lex")
        mine = WebClient(token=DEFAULT_TOKEN, base_url=local.base_url, retry_handlers=[])
        theirs = WebClient(token=DEFAULT_TOKEN, base_url=other.base_url, retry_handlers=[])
        # All in one minute of the stand-in's clock (a run starting at :55 was not).
        if local.now() % 60 > 45:
            local.advance_rate_clock(60.5 - local.now() % 60)
        for _ in range(100):
            mine.users_info(user="U0LEX")
        assert theirs.users_info(user="U0LEX")["ok"], "another workspace has its own window"
        assert refused(lambda: mine.users_info(user="U0LEX")).response.status_code == 429
    finally:
        other.stop()
    counts = local.rate_counts("users.info")
    ((minute, n),) = counts[TEAM].items()
    assert n == 101
    assert local.rate_counts("users.info", refused=True) == {TEAM: {minute: 1}}
    assert local.rate_counts("users.info", refused=False) == {TEAM: {minute: 100}}
    assert local.rate_peak("users.info") == 101


def test_post_message_one_a_second_per_channel_with_short_bursts(
    local: LocalSlack, client: WebClient
) -> None:
    # "chat.postMessage generally allows posting one message per second per channel";
    # "Short bursts >1 allowed".
    for i in range(5):
        client.chat_postMessage(channel="C1", text=str(i))
    limited = refused(lambda: client.chat_postMessage(channel="C1", text="too fast"))
    assert (limited.response.status_code, limited.response.headers["retry-after"]) == (429, "1")
    assert client.chat_postMessage(channel="C2", text="another channel")["ok"]
    local.advance_clock(1)
    assert client.chat_postMessage(channel="C1", text="a second later")["ok"]
    assert refused(lambda: client.chat_postMessage(channel="C1", text="x")).response.status_code
    assert [m.text for m in local.messages("C1")] == ["0", "1", "2", "3", "4", "a second later"]
    counts = local.rate_counts("chat.postMessage")
    assert sum(counts["C1"].values()) == 8 and sum(counts["C2"].values()) == 1
    assert sum(local.rate_counts("chat.postMessage", refused=True)["C1"].values()) == 2
    # a DM is its own channel, keyed as the DM the post lands in
    assert client.chat_postMessage(channel="U0LEX", text="dm")["ok"]
    assert "DU0LEX" in local.rate_counts("chat.postMessage")


def test_requests_a_fault_answered_count_in_what_the_app_sent(
    local: LocalSlack, client: WebClient
) -> None:
    local.fail_next("chat.postMessage", status=500, times=2)
    for _ in range(2):
        refused(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert sum(local.rate_counts("chat.postMessage")["C1"].values()) == 3
    assert local.rate_peak("chat.postMessage", "C1", seconds=1) == 3


def test_a_test_raises_a_limit_explicitly(local: LocalSlack, client: WebClient) -> None:
    local.set_rate_limit("conversations.history", 3)
    for _ in range(3):
        client.conversations_history(channel="C1")
    assert refused(lambda: client.conversations_history(channel="C1")).response.status_code == 429


# --- ids Slack does not know ------------------------------------------------------


def test_unknown_channel_and_not_in_channel(local: LocalSlack, client: WebClient) -> None:
    # https://docs.slack.dev/reference/methods/chat.postMessage (errors):
    # channel_not_found, not_in_channel.
    assert refused(lambda: client.chat_postMessage(channel="C404", text="x")).response["error"] == (
        "channel_not_found"
    )
    assert (
        refused(lambda: client.chat_postMessage(channel="U404", text="x")).response["error"]
        == "channel_not_found"
    ), "a DM with nobody"
    local.add_channel("C3", "not-invited", bot_member=False)
    local.add_channel("G1", "private", private=True, bot_member=False)
    for channel in ("C3", "G1"):
        error = refused(lambda c=channel: client.chat_postMessage(channel=c, text="x")).response
        assert error["error"] == "not_in_channel"
        history = refused(lambda c=channel: client.conversations_history(channel=c))
        assert history.response["error"] == "not_in_channel"
        local.advance_clock(60)
    assert "U0MAPBOT" not in client.conversations_members(channel="C3")["members"]
    assert client.conversations_info(channel="C3")["channel"]["is_member"] is False
    # chat:write.public lets a bot post in public channels it is not in, never private ones
    local.add_token("xoxb-public", [*local.scopes, "chat:write.public"])
    public = WebClient(token="xoxb-public", base_url=local.base_url, retry_handlers=[])
    assert public.chat_postMessage(channel="C3", text="x")["ok"]
    error = refused(lambda: public.chat_postMessage(channel="G1", text="x")).response
    assert error["error"] == "not_in_channel"
    assert local.messages("C404") == [] and len(local.messages("C3")) == 1


def test_unknown_user(local: LocalSlack, client: WebClient) -> None:
    assert refused(lambda: client.users_info(user="U404")).response["error"] == "user_not_found"
    assert (
        refused(lambda: client.conversations_open(users="U404")).response["error"]
        == "user_not_found"
    )
    eph = refused(lambda: client.chat_postEphemeral(channel="C1", user="U404", text="x"))
    assert eph.response["error"] == "user_not_found"
    published = refused(lambda: client.views_publish(user_id="U404", view=HOME))
    assert published.response["error"] == "user_not_found"
    assert client.conversations_open(users="U0LEX")["channel"]["id"] == "DU0LEX"


# --- tokens and scopes -------------------------------------------------------------


def test_only_issued_tokens_and_revoked_ones(local: LocalSlack) -> None:
    # https://docs.slack.dev/reference/methods/auth.test (errors): invalid_auth,
    # token_revoked, not_authed.
    def auth(token: str | None) -> Any:
        return WebClient(token=token, base_url=local.base_url, retry_handlers=[]).auth_test()

    assert auth(DEFAULT_TOKEN)["ok"]
    assert refused(lambda: auth("xoxb-made-up")).response["error"] == "invalid_auth"
    assert refused(lambda: auth(None)).response["error"] == "not_authed"
    local.add_token("xoxb-second-install")
    assert auth("xoxb-second-install")["ok"]
    local.revoke("xoxb-second-install")
    assert refused(lambda: auth("xoxb-second-install")).response["error"] == "token_revoked"


def test_missing_scope_says_needed_and_provided(local: LocalSlack) -> None:
    # Each method's page lists its required scope; the answer names it: missing_scope
    # with `needed` and `provided`.
    local.add_token("xoxb-narrow", ["commands", "users:read"])
    narrow = WebClient(token="xoxb-narrow", base_url=local.base_url, retry_handlers=[])
    error = refused(lambda: narrow.chat_postMessage(channel="C1", text="x")).response
    assert (error["error"], error["needed"], error["provided"]) == (
        "missing_scope",
        "chat:write",
        "commands,users:read",
    )
    local.add_channel("G2", "private", private=True)
    history = refused(lambda: narrow.conversations_history(channel="G2")).response
    assert (history["error"], history["needed"]) == ("missing_scope", "groups:history")
    assert narrow.users_info(user="U0LEX")["ok"]
    assert local.messages("C1") == []


# --- other people's messages, long texts ----------------------------------------------


def test_cannot_update_or_delete_a_persons_message(local: LocalSlack, client: WebClient) -> None:
    # https://docs.slack.dev/reference/methods/chat.update (errors): cant_update_message;
    # chat.delete: cant_delete_message (a bot token edits only the app's messages).
    theirs = local.add_message("C1", "W0MIKE", "a buyer's message")["ts"]
    update = refused(lambda: client.chat_update(channel="C1", ts=theirs, text="edited"))
    assert update.response["error"] == "cant_update_message"
    delete = refused(lambda: client.chat_delete(channel="C1", ts=theirs))
    assert delete.response["error"] == "cant_delete_message"
    assert [m.text for m in local.messages("C1")] == ["a buyer's message"]
    mine = client.chat_postMessage(channel="C1", text="card")["ts"]
    too_long = refused(lambda: client.chat_update(channel="C1", ts=mine, text="x" * 40_001))
    assert too_long.response["error"] == "msg_too_long"
    assert client.chat_delete(channel="C1", ts=mine)["ok"]


# --- triggers, view stacks, hashes ----------------------------------------------------


def test_trigger_ids_are_issued_used_once_within_3_seconds(client: WebClient) -> None:
    def open_with(trigger_id: str) -> Any:
        return client.views_open(trigger_id=trigger_id, view=MODAL)

    assert refused(lambda: open_with("12345.98765.abcd")).response["error"] == "invalid_trigger_id"
    trigger = payloads.new_trigger_id("U0LEX")
    assert open_with(trigger)["ok"]
    assert refused(lambda: open_with(trigger)).response["error"] == "exchanged_trigger_id"
    late = payloads.new_trigger_id("U0LEX")
    triggers.age(late, 3.1)
    assert refused(lambda: open_with(late)).response["error"] == "expired_trigger_id"
    pointer = payloads.new_trigger_id("U0LEX")
    assert client.views_open(interactivity_pointer=pointer, view=MODAL)["ok"]
    # the builders issue them: a click's trigger opens a modal
    body = payloads.block_actions_body(
        user_id="U0LEX",
        user_team_id=TEAM,
        team_id=TEAM,
        channel_id="C1",
        action={"action_id": "a", "value": "1"},
    )
    click = json.loads(parse_qs(body)["payload"][0])
    assert open_with(click["trigger_id"])["ok"]


def test_push_limit_is_three_views(local: LocalSlack, client: WebClient) -> None:
    # https://docs.slack.dev/reference/methods/views.push: "After a modal is opened, the
    # app is limited to pushing 2 additional views" (push_limit_reached).
    client.views_open(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)
    for _ in range(2):
        assert client.views_push(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)["ok"]
    fourth = refused(
        lambda: client.views_push(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)
    )
    assert fourth.response["error"] == "push_limit_reached"
    # someone else's modal is their own stack; a new views.open starts a new one
    assert client.views_open(trigger_id=payloads.new_trigger_id("W0MIKE"), view=MODAL)["ok"]
    assert client.views_push(trigger_id=payloads.new_trigger_id("W0MIKE"), view=MODAL)["ok"]
    root = client.views_open(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)["view"]
    pushed = client.views_push(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)["view"]
    client.views_push(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)
    # a submitted (closed) view leaves the stack with those above it: room again
    local.close_view("U0LEX", pushed["id"])
    assert client.views_push(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)["ok"]
    local.close_view("U0LEX", root["id"], everything=True)
    assert client.views_push(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)["ok"]


def test_stale_hash_is_a_conflict(local: LocalSlack, client: WebClient) -> None:
    # https://docs.slack.dev/reference/methods/views.update: `hash` "to protect against
    # possible race conditions"; a stale one answers hash_conflict.
    opened = client.views_open(trigger_id=payloads.new_trigger_id("U0LEX"), view=MODAL)["view"]
    first = client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)["view"]
    assert first["hash"] != opened["hash"]
    stale = refused(
        lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    )
    assert stale.response["error"] == "hash_conflict"
    assert client.views_update(view_id=opened["id"], hash=first["hash"], view=MODAL)["ok"]
    published = client.views_publish(user_id="U0LEX", view=HOME)["view"]
    client.views_publish(user_id="U0LEX", view=HOME, hash=published["hash"])
    again = refused(
        lambda: client.views_publish(user_id="U0LEX", view=HOME, hash=published["hash"])
    )
    assert again.response["error"] == "hash_conflict"


# --- response URLs ------------------------------------------------------------------


def test_response_url_takes_five_posts_within_30_minutes(local: LocalSlack) -> None:
    # https://docs.slack.dev/interactivity/handling-user-interaction: a response_url
    # takes up to 5 responses within 30 minutes.
    url = local.response_url("C1", "U0LEX")
    for i in range(5):
        assert WebhookClient(url).send(text=str(i)).status_code == 200
    sixth = WebhookClient(url).send(text="six")
    assert (sixth.status_code, sixth.body) == (404, '{"ok": false, "error": "expired_url"}')
    assert len(local.ephemerals("C1", "U0LEX")) == 5
    later = local.response_url("C1", "U0LEX")
    local.advance_clock(30 * 60 + 1)
    assert WebhookClient(later).send(text="late").status_code == 404
    assert [p.status for p in local.response_posts].count(404) == 2
