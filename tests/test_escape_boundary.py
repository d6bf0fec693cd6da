"""The escape boundary, end to end: hostile titles, names and typed words go
through every `/map` command (error paths included: not found, ambiguous,
unknown words), the card, the Full plan and task modals, comments in the card's
thread, overview and people, App Home, nudges and digests; then EVERY Web API call
the Slack stand-in received and EVERY HTTP answer of our app is scanned.

Where Slack parses text as mrkdwn (a message's `text`, `mrkdwn` text objects) no
raw `<!channel`, `<!here`, `<@UEVIL`, `<https://evil` or `<#C0EVIL` may appear and
every `<` must open a token we wrote ourselves; `plain_text` objects, input values
and view errors are not parsed by Slack, so there the text shows as typed, never as
a visible `&lt;`. Nowhere a NUL, a lone surrogate or another control character.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import ids
from bot.local_slack import payloads
from reminders.tick import tick
from storage.db import Database
from storage.models import Plan, Task
from tests.conftest import FixedClock
from tests.harness import BUYER_TEAM, SELLER_TEAM, Harness, Response, running_app
from tests.test_home_events import open_home
from tests.test_modals import BUYER, SELLER, button, state_of, submit

RAW_MARKUP = ("<!channel", "<!here", "<@UEVIL", "<https://evil", "<#C0EVIL")
# What we write ourselves into mrkdwn: mentions of real ids, channel links, our links.
OWN_TOKEN = re.compile(
    r"<(?:@[UW][A-Z0-9]+|#[CG][A-Z0-9]+|https?://[^\s<>|]+(?:\|[^<>]*)?|!date\^[^<>]*)>"
)
UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")
STRAY_AMP = re.compile(r"&(?!amp;|lt;|gt;)")
LINK_URL = re.compile(r"<https?://[^\s<>|]+")
DOUBLE_ESCAPED = ("&amp;amp;", "&amp;lt;", "&amp;gt;")
VISIBLE_ENTITY = ("&amp;", "&lt;", "&gt;")

# (as typed, as Slack sends it in a slash command's text). Slack turns @here into
# <!here>, a picked mention into <@U…>, and escapes a typed &, < and >; a form body
# cannot carry a lone surrogate (it is not UTF-8), a JSON payload can.
FRAGMENTS = [
    ("<!channel>", "<!channel>"),
    ("<!here>", "<!here>"),
    ("<@UEVIL>", "<@UEVIL>"),
    ("<https://evil.example|x>", "<https://evil.example|x>"),
    ("<#C0EVIL>", "<#C0EVIL>"),
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("a&b<c>", "a&amp;b&lt;c&gt;"),
    ("\x00", "\x00"),
    ("x\x1by", "x\x1by"),
    ("\ud800", ""),
    ("\udfff", ""),
    ("review", "review"),
    ("pricing", "pricing"),
    ("Security", "Security"),
]


@st.composite
def hostile(draw: st.DrawFn) -> tuple[str, str]:
    """A phrase: (as typed, as a slash command carries it)."""
    parts = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4))
    return " ".join(p[0] for p in parts), " ".join(p[1] for p in parts)


# --- the scan ------------------------------------------------------------------------


def _parsed(value: Any) -> Any:
    """Form-encoded Web API arguments carry blocks and views as JSON strings."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _check_string(where: str, text: str, mode: str, out: list[str]) -> None:
    if UNWANTED.search(text):
        out.append(f"{where}: control character or lone surrogate in {text!r}")
    if mode == "mrkdwn":
        out.extend(f"{where}: raw {m!r} in {text!r}" for m in RAW_MARKUP if m in text)
        for at in (i for i, ch in enumerate(text) if ch == "<"):
            if not OWN_TOKEN.match(text, at):
                out.append(f"{where}: unescaped '<' at {at} in {text!r}")
        out.extend(
            f"{where}: double escaped {d!r} in {text!r}" for d in DOUBLE_ESCAPED if d in text
        )
        if STRAY_AMP.search(LINK_URL.sub("<", text)):  # a stored URL's `&` is left as is
            out.append(f"{where}: '&' that is no entity (unescaped, or an entity cut) in {text!r}")
    elif mode == "plain":
        out.extend(
            f"{where}: visible {e!r} in plain text {text!r}" for e in VISIBLE_ENTITY if e in text
        )


def scan(where: str, value: Any, mode: str, out: list[str]) -> None:
    """Walk a payload; `mode` is how Slack reads a string found here."""
    value = _parsed(value)
    if isinstance(value, str):
        _check_string(where, value, mode, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            scan(f"{where}[{i}]", v, mode, out)
    elif isinstance(value, dict):
        kind = value.get("type")
        for key, v in value.items():
            if not isinstance(key, str) or UNWANTED.search(key):
                out.append(f"{where}: bad key {key!r}")
                continue
            if key == "text" and kind in ("mrkdwn", "plain_text"):
                child = "mrkdwn" if kind == "mrkdwn" else "plain"
            elif key in ("initial_value", "errors") or mode == "plain":
                child = "plain"  # an input's value and view errors: shown as they are
            else:
                child = "data"
            scan(f"{where}.{key}", v, child, out)


def scan_message(where: str, params: dict[str, Any], out: list[str]) -> None:
    """A message's top-level `text` is mrkdwn (the notification and fallback)."""
    for key, v in params.items():
        mode = "mrkdwn" if key == "text" and params.get("mrkdwn") is not False else "data"
        scan(f"{where}.{key}", v, mode, out)


class Scanner:
    """Everything Slack received and everything our app answered, once each."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.seen_calls = self.seen_posts = self.seen_responses = 0

    def problems(self) -> list[str]:
        out: list[str] = []
        calls = self.h.local.calls[self.seen_calls :]
        posts = self.h.local.response_posts[self.seen_posts :]
        answers: list[Response] = self.h.responses[self.seen_responses :]
        self.seen_calls += len(calls)
        self.seen_posts += len(posts)
        self.seen_responses += len(answers)
        for c in calls:
            scan_message(c.method, c.params, out)
        for p in posts:
            scan_message("response_url", p.params, out)
        for i, a in enumerate(answers):
            assert a.status == 200, a.body
            if "\\u0000" in a.body or UNWANTED.search(a.body):
                out.append(f"answer {i}: control character in {a.body!r}")
            body = a.json() if a.body.startswith("{") else None
            if isinstance(body, dict):
                scan_message(f"answer {i}", body, out)
        return out


# --- driving every surface -------------------------------------------------------------

_channels = itertools.count(1)


def _click(h: Harness, channel: str, action: dict[str, Any], who: tuple[str, str]) -> Response:
    return h.signed(h.card_click_body(action, who, channel))


def _menu(h: Harness, channel: str, verb: str) -> dict[str, Any] | None:
    """The overflow option `verb` of the first task shown on the card."""
    card = h.card(channel)
    for b in card["blocks"] if card else []:
        for option in (b.get("accessory") or {}).get("options", []):
            if option["value"].startswith(verb + ":"):
                return {
                    "action_id": ids.TASK_MENU,
                    "block_id": b["block_id"],
                    "type": "overflow",
                    "selected_option": option,
                }
    return None


def _opened(h: Harness, before: int) -> dict[str, Any] | None:
    calls = h.local.calls_to("views.open")
    return dict(calls[-1].result["view"]) if len(calls) > before and calls[-1].ok else None


def _in_modal(h: Harness, channel: str, verb: str, who: tuple[str, str], **typed: str) -> None:
    """Open the task menu's `verb` modal and submit it with `typed` (raw, as Slack sends
    plain_text_input values), once with a bad link where the form has links."""
    action = _menu(h, channel, verb)
    if action is None:
        return
    before = len(h.local.calls_to("views.open"))
    _click(h, channel, action, who)
    view = _opened(h, before)
    if view is None:
        return
    present = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    wanted = {k: v for k, v in typed.items() if k.replace("_", ".", 1) in present}
    if "f.links" in present:
        bad = dict(wanted, f_links=f"javascript:{typed.get('f_title', 'x')} label")
        submit(h, view, state_of(view, **bad), who)
    submit(h, view, state_of(view, **wanted), who)


def drive(h: Harness, title: tuple[str, str], words: tuple[str, str], ms: tuple[str, str]) -> None:
    """One deal in a channel of its own, through every command and surface."""
    channel = f"C0ESC{next(_channels):04d}"
    h.local.add_channel(channel, channel.lower(), shared=True)
    T, W, M = title[1], words[1], ms[1]  # noqa: N806 - as Slack sends them
    first = W.split()[0] if W.split() else W

    def cmd(text: str) -> None:
        h.command(text, channel=channel)

    cmd(f'create "{T}" go-live 2026-12-18')
    for text in (
        f'milestone add "{M}"',
        f'add "{T}" owner buyer <@W0MIKE|mike> due 2026-11-24',
        f'add "{T} {W}" owner seller <@U0LEX|lex> due 2026-11-20',
        f'add "{W}" internal',
        f'add "{M} {T}" to "{M}" owner mutual due 2026-11-25',
        f"done {first}",
        f"start {W}",
        f"done {W} nowhere",
        f"reopen {T}",
        f"assign {W} nobody",
        f"due {W} tomorrow",
        f"due {W} {W}",
        f'rename {W} to "{T}"',
        f"rename milestone {W} to x",
        f"move {T} to {W}",
        f"move #1 to {W}",
        f"milestone status {W} done",
        f"remove {W}",
        f"remove milestone {W}",
        f"template show {W}",
        f"template delete {W}",
        f"template {W}",
        f"extend {W}",
        f"country {W}",
        f"remind {W}",
        f"remind digest {W}",
        f"remind digest mon {W}",
        f"golive {W}",
        f"help {W}",
        f"{W}",
        f"mine {W}",
        "template save hostile",
        "template show hostile",
        "template export hostile",
        f'template import evil\nname: evil\ntitle: "{T}"\nmilestones:\n  - title: "{M}"\n'
        f'    tasks:\n      - title: "{T}"\n        owner: "{W}"\n        "{W}": 1',
        f"template import evil2\n{T}: [",
        "extend evil",
        "golive 2027-01-20",
        "status",
        "mine",
        "remind",
        f'rename plan to "{T}"',
        "add",
        "overview",
    ):
        cmd(text)
    h.settle()
    with h.bot.deps.db.read() as s:
        plan_id = s.scalar(select(Plan.id).where(Plan.channel_id == channel))
    if plan_id is None:
        return  # the title was all control characters: refused, and scanned as such
    overview = h.local.calls_to("views.open")
    if (
        overview
        and overview[-1].ok
        and overview[-1].result["view"]["callback_id"] == ids.VIEW_OVERVIEW
    ):
        view = dict(overview[-1].result["view"])
        typed = state_of(view, f_why=title[0], f_goals=words[0], f_target="2027-02-01")
        submit(h, view, typed, SELLER)
    cmd("people")
    people = h.local.calls_to("views.open")[-1].result.get("view") or {}
    if people.get("callback_id") == ids.VIEW_PEOPLE:
        submit(h, people, state_of(people, f_person="W0MIKE", f_role=title[0]), SELLER)
    _in_modal(
        h,
        channel,
        "edit",
        SELLER,
        f_title=f"{title[0]} {words[0]}",
        f_notes=words[0],
        f_links=f"https://files.example/q.pdf {title[0]}",
    )
    _in_modal(
        h,
        channel,
        "comment",
        BUYER,
        f_comment=f"{words[0]}\n{title[0]}",
        f_link_url="https://files.example/c.pdf",
        f_link_label=words[0],
    )
    _in_modal(h, channel, "risk", BUYER, f_risk="blocked", f_risk_reason=words[0])
    _in_modal(h, channel, "due", SELLER, f_due_offset=words[0])
    _click(h, channel, button(ids.PLAN_FULL, str(plan_id)), BUYER)
    _click(h, channel, button(ids.PLAN_FULL, str(plan_id)), SELLER)
    _shortcut(h, channel, f"{T} <@UEVIL> {W}\nsecond line")
    _join(h, channel, "W0SULLEY")
    _create_form(h, channel + "N", title[0])
    h.settle()


def _shortcut(h: Harness, channel: str, text: str) -> None:
    """ "Add to action plan" on a message (its text as Slack holds it), then submit
    the task form with what it prefilled."""
    before = len(h.local.calls_to("views.open"))
    message = {"type": "message", "user": "W0MIKE", "ts": "1700000000.000100", "text": text}
    h.signed(
        payloads.message_shortcut_body(
            user_id="U0LEX",
            user_team_id=SELLER_TEAM,
            team_id=SELLER_TEAM,
            channel_id=channel,
            message=message,
            callback_id=ids.SHORTCUT_ADD_FROM_MESSAGE,
            response_url=h.local.response_url(channel, "U0LEX"),
        )
    )
    view = _opened(h, before)
    if view is not None:
        submit(h, view, state_of(view), SELLER)


def _join(h: Harness, channel: str, user: str) -> None:
    """A buyer joins the deal channel: the welcome names the plan."""
    event = {"type": "member_joined_channel", "user": user, "channel": channel, "team": BUYER_TEAM}
    body = payloads.event_body(team_id=SELLER_TEAM, event=event)
    h.signed(body, json_body=True)


def _create_form(h: Harness, channel: str, title: str) -> None:
    """`/map create` with nothing after it opens the form; submit a hostile title."""
    h.local.add_channel(channel, channel.lower(), shared=True)
    before = len(h.local.calls_to("views.open"))
    h.command("create", channel=channel)
    view = _opened(h, before)
    if view is not None:
        submit(h, view, state_of(view, create_title=title, create_golive="2026-12-18"), SELLER)


@settings(
    max_examples=6,  # each example is a whole deal: about 60 requests
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure names its deal
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(title=hostile(), words=hostile(), ms=hostile())
def _examples(
    h: Harness,
    scanner: Scanner,
    title: tuple[str, str],
    words: tuple[str, str],
    ms: tuple[str, str],
) -> None:
    drive(h, title, words, ms)
    problems = scanner.problems()
    assert not problems, "\n".join(problems[:20])


@pytest.fixture
def paced(db: Database) -> Iterator[Harness]:
    """The app as `h`, with the card refreshes coalesced as in production, so that
    many deals in a minute stay under `chat.update`'s workspace limit."""
    with running_app(db, update_interval=1.0) as harness:
        yield harness
        assert harness.local.violations == [], "Slack would have refused something we sent"


def test_no_user_text_reaches_slack_unescaped(
    paced: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    h = paced
    scanner = Scanner(h)
    _examples(h, scanner)
    for user in ("U0LEX", "W0MIKE"):
        open_home(h, user)
    # Reminder passes at 09:00 in New York and in Los Angeles on Monday (weekly
    # digests, the rep's overdue digest, overdue nudges by DM) and Tuesday (a buyer
    # task due that day, nudged in the card's thread); paced as in production.
    client = h.bot.deps.workspaces.client_for
    sent = 0
    for at in (
        datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 17, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 17, 0, tzinfo=UTC),
    ):
        fixed_clock.set(at)
        sent += tick(h.bot.deps.db, at, client, pace=1.0).delivery.sent
    assert sent > 0, "no nudge or digest was sent: the scan below would prove nothing"
    problems = scanner.problems()
    assert not problems, "\n".join(problems[:20])
    # The scan covered every surface, error paths included.
    methods = {c.method for c in h.local.calls if c.ok}
    assert {"chat.postMessage", "chat.update", "views.open", "views.publish"} <= methods
    callbacks = {c.result["view"]["callback_id"] for c in h.local.calls_to("views.open") if c.ok}
    assert {
        ids.VIEW_FULL_PLAN,
        ids.VIEW_TASK,
        ids.VIEW_COMMENT,
        ids.VIEW_OVERVIEW,
        ids.VIEW_PEOPLE,
        ids.CREATE_VIEW,
    } <= callbacks
    assert any("Welcome!" in str(c.params.get("text")) for c in h.local.calls), "welcome"
    assert any("moved the target go-live" in str(c.params.get("text")) for c in h.local.calls)
    posted = [c.params for c in h.local.calls_to("chat.postMessage") if c.ok]
    assert any(p.get("thread_ts") for p in posted), "comments and nudges in card threads"
    assert any(str(p.get("channel", ""))[:1] in "UWD" for p in posted), "DMs"
    answers = " ".join(a.body for a in h.responses)
    for said in ("matches more than one task", "No task in this plan matches", "No milestone"):
        assert said in answers, said
    assert '"response_action": "errors"' in answers or '"response_action":"errors"' in answers
    with db.read() as s:
        titles = list(s.scalars(select(Task.title)))
    assert any("<" in t or "&" in t for t in titles), "hostile titles were stored as typed"


# --- exactly once ----------------------------------------------------------------------


def _section_texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    for b in blocks:
        text = b.get("text") or {}
        if text.get("type") == "mrkdwn":
            yield text["text"]
        for e in b.get("elements") or []:
            if isinstance(e, dict) and e.get("type") == "mrkdwn":
                yield e["text"]


def test_a_title_is_escaped_exactly_once_everywhere(h: Harness, db: Database) -> None:
    assert h.command("create a &amp; b &lt;c&gt; go-live 2027-03-01").status == 200
    added = h.command("add a &amp; b &lt;c&gt; owner buyer")
    assert "a &amp; b &lt;c&gt;" in added.body and "&amp;amp;" not in added.body
    h.command("add a &amp; b &lt;c&gt; two owner buyer")
    h.settle()
    card = h.card()
    assert card is not None
    # The header is plain_text: Slack shows it as written, so it is not escaped.
    header = next(b for b in card["blocks"] if b["type"] == "header")
    assert header["text"]["text"] == "a & b <c>"
    lines = [t for t in _section_texts(card["blocks"]) if "a &amp; b" in t]
    assert lines and all("a &amp; b &lt;c&gt;" in t for t in lines)
    assert not any(d in json.dumps(card) for d in DOUBLE_ESCAPED)
    assert card["text"] == "Action plan: a &amp; b &lt;c&gt;"
    # The ambiguity error lists both, each escaped once, from the lookup's message.
    reply = h.command("done a").json()
    assert "#1 a &amp; b &lt;c&gt;, #2 a &amp; b &lt;c&gt; two" in reply["text"]
    assert not any(d in json.dumps(reply) for d in DOUBLE_ESCAPED)
    # A view error is plain text: what was typed, not an entity.
    click_edit = {
        "action_id": ids.TASK_MENU,
        "block_id": "b",
        "type": "overflow",
        "selected_option": _option(card, "edit:"),
    }
    before = len(h.local.calls_to("views.open"))
    _click(h, "C0DEAL", click_edit, SELLER)
    view = _opened(h, before)
    assert view is not None
    title_input = next(b for b in view["blocks"] if b["block_id"] == ids.F_TITLE)
    assert title_input["element"]["initial_value"] == "a & b <c>"
    errors = submit(h, view, state_of(view, f_links="ftp://<!here> & co"), SELLER).json()
    assert errors["response_action"] == "errors"
    assert (
        errors["errors"][ids.F_LINKS] == "“ftp://<!here>” isn't a web link (http:// or https://)."
    )
    with db.read() as s:
        assert s.scalar(select(Task.title).where(Task.number == 1)) == "a & b <c>"
    # A comment too long for its section is cut between characters: no half entity,
    # no half link.
    before = len(h.local.calls_to("views.open"))
    _click(h, "C0DEAL", dict(click_edit, selected_option=_option(card, "comment:")), BUYER)
    view = _opened(h, before)
    assert view is not None
    typed = state_of(
        view, f_comment="<" * 2000, f_link_url="https://files.example/q.pdf", f_link_label="Q"
    )
    assert submit(h, view, typed, BUYER).status == 200
    assert h.local.wait_for(lambda: any(m.thread_ts for m in h.local.messages("C0DEAL")))
    reply = next(m for m in h.local.messages("C0DEAL") if m.thread_ts)
    text = reply.blocks[0]["text"]["text"]
    assert text.endswith("&lt;…"), "cut after a whole entity"
    problems: list[str] = []
    scan("comment", reply.blocks, "data", problems)
    assert problems == []


def _option(card: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(
        o
        for b in card["blocks"]
        for o in (b.get("accessory") or {}).get("options", [])
        if o["value"].startswith(prefix)
    )


def test_scan_catches_what_it_guards() -> None:
    """The scanner itself: each raw form, a stray `<`, double escaping, a visible
    entity in plain text and a control character are reported."""
    out: list[str] = []
    scan_message("m", {"text": "ok <@U0LEX> <#C0DEAL> <https://a.example|a &amp; b>"}, out)
    scan("v", {"type": "plain_text", "text": "a & b <c>"}, "data", out)
    scan("e", {"errors": {"f": "“<!here>” isn't a web link"}}, "data", out)
    assert out == []
    for bad in (*RAW_MARKUP, "x <b> y", "&amp;lt;", "a & b", "cut &l…", "\x00", "\ud800"):
        found: list[str] = []
        scan_message("m", {"text": bad + ">"}, found)
        assert found, bad
    for bad in ("&lt;", "&amp;", "\x07"):
        found = []
        scan("v", {"type": "plain_text", "text": bad}, "data", found)
        assert found, bad
    found = []
    scan("b", {"blocks": json.dumps([{"type": "mrkdwn", "text": "<!here>"}])}, "data", found)
    assert found, "blocks sent as a JSON string are read too"
