"""Drafting a plan from call notes, end to end: `/map draft` and the message
shortcut, the review modal, what its submission creates (exactly what was kept),
and every refusal — through signed HTTP requests into the real app, Slack's Web
API stood in on loopback, both databases."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import func, select

from bot import ids
from bot.local_slack import payloads
from storage.db import Database
from storage.models import Draft, Milestone, Plan, Task
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, Response
from tests.test_modals import check_view, errors, last_view, ok, state_of, submit

SELLER = ("U0LEX", SELLER_TEAM)
OTHER_SELLER = ("U0MERCY", SELLER_TEAM)
BUYER = ("W0MIKE", BUYER_TEAM)

NOTES = """Next steps
- Lex to send the recap deck by Friday
- Mike will share their current MAP spreadsheet by Nov 10
- Both teams to agree on pilot success criteria on 11/13
- We'll send the SOC 2 report before the security review
Target go-live is Feb 1, 2027.
"""
CALL = date(2026, 11, 3)  # a Tuesday


def count(db: Database, model: type) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def tasks(db: Database) -> dict[str, Task]:
    with db.read() as s:
        return {t.title: t for t in s.scalars(select(Task))}


def open_notes(h: Harness) -> dict[str, Any]:
    for user, team in (BUYER, ("W0SULLEY", BUYER_TEAM)):  # people we have seen have names
        h.command("help", user=user, team=team)
    assert h.command("draft").status == 200
    view = last_view(h)
    assert view["callback_id"] == ids.VIEW_DRAFT_NOTES
    check_view(view)
    return view


def draft(h: Harness, notes: str = NOTES, who: tuple[str, str] = SELLER) -> dict[str, Any]:
    """Paste `notes` in the form; the review it turns into (a view Slack would show)."""
    view = open_notes(h)
    values = state_of(view, **{ids.F_DRAFT_NOTES: notes, ids.F_DRAFT_CALL_DATE: CALL.isoformat()})
    resp = submit(h, view, values, who)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["response_action"] == "update", body
    review = {**body["view"], "id": view["id"]}
    check_view(review)
    return dict(review)


def review_tasks(view: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, title line) of each task the review offers to keep."""
    out = []
    for b in view["blocks"]:
        if b["type"] == "section" and b.get("block_id", "").startswith(ids.BLOCK_DRAFT_KEEP + "."):
            out.append((int(b["block_id"].rsplit(".", 1)[1]), b["text"]["text"]))
    return out


def review_state(
    view: dict[str, Any],
    *,
    title: str | None = None,
    drop: set[int] | None = None,
    change: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`state.values` as Slack sends the review: its inputs, every task's Keep box
    and fields with their initial values, then the rep's changes."""
    values = state_of(view, **({ids.F_DRAFT_TITLE: title} if title is not None else {}))
    change, drop = change or {}, drop or set()
    for b in view["blocks"]:
        bid = b.get("block_id", "")
        if b["type"] == "section" and bid.startswith(ids.BLOCK_DRAFT_KEEP + "."):
            i = int(bid.rsplit(".", 1)[1])
            box = b["accessory"]
            picked = [] if i in drop else box.get("initial_options", [])
            values[bid] = {box["action_id"]: {"type": "checkboxes", "selected_options": picked}}
        elif b["type"] == "actions" and bid.startswith(ids.BLOCK_DRAFT_TASK + "."):
            i = int(bid.rsplit(".", 1)[1])
            mine = change.get(i, {})
            state: dict[str, Any] = {}
            for el in b["elements"]:
                a = el["action_id"]
                if el["type"] == "static_select":
                    opt = {"value": mine["side"]} if "side" in mine else el.get("initial_option")
                    state[a] = {"type": "static_select", "selected_option": opt}
                elif el["type"] == "users_select":
                    user = mine["assignee"] if "assignee" in mine else el.get("initial_user")
                    state[a] = {"type": "users_select", "selected_user": user}
                elif el["type"] == "datepicker":
                    when = mine["due"] if "due" in mine else el.get("initial_date")
                    state[a] = {"type": "datepicker", "selected_date": when}
            values[bid] = state
    return values


def index_of(view: dict[str, Any], words: str) -> int:
    return next(i for i, line in review_tasks(view) if words in line)


# --- /map draft, the review, what it creates ---------------------------------------


def test_notes_become_a_review_and_nothing_before_it_is_approved(h: Harness, db: Database) -> None:
    review = draft(h)
    assert review["callback_id"] == ids.VIEW_DRAFT_REVIEW
    titles = [line for _, line in review_tasks(review)]
    assert len(titles) == 4 and "Send the recap deck" in titles[0]
    assert count(db, Plan) == 0 and count(db, Task) == 0  # a proposal only
    # The go-live said in the notes is the picker's value; the title is the rep's to give.
    golive = next(b for b in review["blocks"] if b.get("block_id") == ids.F_DRAFT_GOLIVE)
    assert golive["element"]["initial_date"] == "2027-02-01"
    # Closing the modal sends nothing (no notify_on_close): still nothing created.
    assert count(db, Plan) == 0 and count(db, Task) == 0 and count(db, Milestone) == 0


def test_the_review_creates_exactly_what_was_kept_as_it_was_edited(
    h: Harness, db: Database
) -> None:
    review = draft(h)
    soc2, criteria, deck = (index_of(review, w) for w in ("SOC 2", "success criteria", "recap"))
    values = review_state(
        review,
        title="Monsters rollout",
        drop={soc2},
        change={
            criteria: {"side": "buyer", "assignee": "W0SULLEY", "due": "2026-11-20"},
            deck: {"due": None},
        },
    )
    ok(submit(h, review, values, SELLER))
    h.settle()
    got = tasks(db)
    assert sorted(got) == [
        "Agree on pilot success criteria",
        "Send the recap deck",
        "Share their current MAP spreadsheet",
    ]
    criteria_task = got["Agree on pilot success criteria"]
    assert (criteria_task.owner_side, criteria_task.assignee_id, criteria_task.due_date) == (
        "buyer",
        "W0SULLEY",
        date(2026, 11, 20),
    )
    deck_task = got["Send the recap deck"]
    assert (deck_task.owner_side, deck_task.assignee_id, deck_task.due_date) == (
        "seller",
        "U0LEX",
        None,
    )
    sheet = got["Share their current MAP spreadsheet"]
    assert (sheet.owner_side, sheet.assignee_id, sheet.due_date) == (
        "buyer",
        "W0MIKE",
        date(2026, 11, 10),
    )
    with db.read() as s:
        plan = s.scalars(select(Plan)).one()
        assert (plan.title, plan.target_date) == ("Monsters rollout", date(2027, 2, 1))
        milestones = {m.title for m in s.scalars(select(Milestone))}
        assert "Discovery" in milestones
        assert s.scalars(select(Draft)).one().state == "applied"
    assert h.card() is not None  # the plan card is in the channel
    summary = " ".join(e.text for e in h.local.ephemerals(CHANNEL, "U0LEX"))
    assert "3 task(s)" in summary and "Monsters rollout" in summary
    # The same draft again (a second Create, a crafted replay with other values): nothing more.
    again = review_state(review, title="Again", drop=set())
    assert ids.F_DRAFT_GOLIVE in errors(submit(h, review, again, SELLER))
    assert count(db, Task) == 3


def test_a_draft_merges_into_the_channels_plan_without_duplicates(h: Harness, db: Database) -> None:
    assert h.command("create Monsters rollout go-live 2027-03-01").status == 200
    assert h.command("add Send SOC 2 report owner seller").status == 200
    h.settle()
    review = draft(h)
    assert not any(b.get("block_id") == ids.F_DRAFT_TITLE for b in review["blocks"])
    text = json.dumps(review["blocks"])
    assert "already in the plan as `#1`" in text
    assert all("SOC 2" not in line for _, line in review_tasks(review))  # not offered again
    ok(submit(h, review, review_state(review), SELLER))
    h.settle()
    got = tasks(db)
    assert len(got) == 4 and list(got).count("Send SOC 2 report") == 1
    with db.read() as s:
        plan = s.scalars(select(Plan)).one()
        assert plan.target_date == date(2027, 3, 1)  # a go-live set by hand stays
    assert "go-live stays" in " ".join(e.text for e in h.local.ephemerals(CHANNEL, "U0LEX"))


def test_notes_text_is_escaped_in_the_review(h: Harness, db: Database) -> None:
    review = draft(
        h, "- We will send the <!channel> deck & <https://evil.example|pricing> by Friday"
    )
    blocks = json.dumps(review["blocks"])
    assert "<!channel>" not in blocks and "<https://evil" not in blocks
    ((_, line),) = review_tasks(review)
    assert "deck &amp; pricing" in line  # Slack markup read as its text, user text escaped


def test_notes_without_steps_say_how_to_write_them(h: Harness, db: Database) -> None:
    review = draft(h, "We talked about the weather.")
    assert review_tasks(review) == []
    assert "Next steps" in json.dumps(review["blocks"])
    ok(submit(h, review, review_state(review, title="Empty"), SELLER))
    assert count(db, Task) == 0  # an empty plan, as asked


# --- refusals ---------------------------------------------------------------------


def test_buyers_and_guests_cannot_draft(h: Harness, db: Database) -> None:
    for user, team in (BUYER, ("U0GUEST", SELLER_TEAM)):
        resp = h.command("draft", user=user, team=team)
        assert resp.status == 200 and "seller team" in resp.body
    assert not h.local.calls_to("views.open")


def test_only_the_author_may_submit_a_draft_and_a_buyer_never(h: Harness, db: Database) -> None:
    review = draft(h)
    values = review_state(review, title="Hijack")
    for who in (BUYER, OTHER_SELLER):
        assert ids.F_DRAFT_GOLIVE in errors(submit(h, review, values, who))
    assert count(db, Plan) == 0 and count(db, Task) == 0
    # A buyer's notes submission (a crafted one, since they can't open it) is refused too.
    crafted = {**open_notes(h), "private_metadata": CHANNEL}
    notes = state_of(crafted, **{ids.F_DRAFT_NOTES: NOTES, ids.F_DRAFT_CALL_DATE: CALL.isoformat()})
    assert ids.F_DRAFT_NOTES in errors(submit(h, crafted, notes, BUYER))
    with db.read() as s:
        assert {d.user_id for d in s.scalars(select(Draft))} == {"U0LEX"}


def test_a_crafted_review_names_no_draft_or_a_damaged_field(h: Harness, db: Database) -> None:
    review = draft(h)
    for metadata in ("", "{}", '{"draft": "1"}', '{"draft": 99999}', "[1]", '{"draft": 0}'):
        crafted = {**review, "private_metadata": metadata}
        assert ids.F_DRAFT_GOLIVE in errors(submit(h, crafted, review_state(review), SELLER))
    bad_side = review_state(review, change={0: {"side": "boss"}})
    assert ids.F_DRAFT_GOLIVE in errors(submit(h, review, bad_side, SELLER))
    bad_date = review_state(review, change={0: {"due": "tomorrow"}})
    assert ids.F_DRAFT_GOLIVE in errors(submit(h, review, bad_date, SELLER))
    # A Keep box that never came back keeps nothing (fail closed).
    values = review_state(review, title="Only inputs")
    values = {k: v for k, v in values.items() if not k.startswith(ids.BLOCK_DRAFT_KEEP)}
    ok(submit(h, review, values, SELLER))
    assert count(db, Plan) == 1 and count(db, Task) == 0


def test_changing_a_review_field_is_acknowledged_and_changes_nothing(
    h: Harness, db: Database
) -> None:
    review = draft(h)
    action = {
        "action_id": ids.DRAFT_SIDE,
        "block_id": f"{ids.BLOCK_DRAFT_TASK}.0",
        "type": "static_select",
        "selected_option": {"value": "buyer", "text": {"type": "plain_text", "text": "Buyer"}},
    }
    raw = payloads.view_block_actions_body(
        user_id="U0LEX", user_team_id=SELLER_TEAM, team_id=SELLER_TEAM, view=review, action=action
    )
    assert h.signed(raw).status == 200
    assert count(db, Task) == 0


# --- the message shortcut -----------------------------------------------------------


def shortcut(h: Harness, who: tuple[str, str], text: str) -> Response:
    msg = h.local.add_message(CHANNEL, "U0LEX", text)
    raw = payloads.message_shortcut_body(
        user_id=who[0],
        user_team_id=who[1],
        team_id=SELLER_TEAM,
        channel_id=CHANNEL,
        message={"type": "message", "user": "U0LEX", "ts": msg["ts"], "text": text},
        callback_id=ids.SHORTCUT_DRAFT_FROM_MESSAGE,
        response_url=h.local.response_url(CHANNEL, who[0]),
    )
    return h.signed(raw)


def test_the_shortcut_drafts_from_a_message(h: Harness, db: Database) -> None:
    # As Slack sends message text: a mention as <@U…>, a typed & < > escaped.
    resp = shortcut(h, SELLER, "Next steps:\n- <@W0MIKE> will send the PO &amp; W-9 by Friday")
    assert resp.status == 200
    review = last_view(h)
    assert review["callback_id"] == ids.VIEW_DRAFT_REVIEW
    check_view(review)
    ((i, line),) = review_tasks(review)
    assert "Send the PO &amp; W-9" in line
    actions = next(
        b for b in review["blocks"] if b.get("block_id") == f"{ids.BLOCK_DRAFT_TASK}.{i}"
    )
    assert {e.get("initial_user") for e in actions["elements"]} >= {"W0MIKE"}
    assert count(db, Task) == 0


def test_the_shortcut_is_refused_to_a_buyer(h: Harness, db: Database) -> None:
    assert shortcut(h, BUYER, "- we will send the deck").status == 200
    assert not h.local.calls_to("views.open")
    assert "seller team" in " ".join(e.text for e in h.local.ephemerals(CHANNEL, "W0MIKE"))
    assert count(db, Draft) == 0


def test_an_author_placed_on_the_buyer_side_can_no_longer_submit(h: Harness, db: Database) -> None:
    from bot import identity
    from storage.models import Person

    review = draft(h)
    with db.write() as s:  # `/map people` put them there (a contractor of the buyer, say)
        s.scalars(select(Person).where(Person.user_id == "U0LEX")).one().side_override = "buyer"
    identity.forget(db, SELLER_TEAM, "U0LEX")
    values = review_state(review, title="Still mine?")
    assert ids.F_DRAFT_GOLIVE in errors(submit(h, review, values, SELLER))
    assert count(db, Plan) == 0


def test_a_tick_forgets_call_notes_a_week_old(h: Harness, db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    from reminders.tick import tick
    from storage import drafts

    draft(h)
    draft(h, NOTES.replace("recap deck", "second deck"))
    with db.write() as s:
        old, new = s.scalars(select(Draft).order_by(Draft.id)).all()
        old.created_at = datetime.now(UTC) - drafts.KEEP_FOR - timedelta(minutes=1)
        new_id = new.id
    tick(db, datetime.now(UTC), lambda _t: None, pace=0)
    with db.read() as s:
        assert list(s.scalars(select(Draft.id))) == [new_id]
