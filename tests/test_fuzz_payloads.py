"""1,000 signed but malformed payloads, for every action_id and callback_id in
bot.ids, through the real app over HTTP on both databases: not one HTTP 500, not
one listener failure (the error handler would hide it behind a polite 200), and
nothing in the database changed.

Each case starts from a payload the app would carry out (a real plan, real ids, the
shapes in bot.local_slack.payloads and views the app really opened), then breaks a
field the request depends on — the ids in a button's value or a modal's
private_metadata, the action, the user, the trigger — with a wrong type, a missing
key, an id too large for the database, digits of another script, deep nesting or
stray unicode; and adds noise elsewhere. A seeded generator: every run is the same
1,000 cases, and a failure names its case.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from sqlalchemy import select

from bot import error_reply, ids
from bot.local_slack import payloads
from reminders.delivery import refreshes
from storage.db import Database
from storage.models import Base, Outbox, Task
from tests.harness import CHANNEL, SELLER_TEAM, Harness
from tests.test_modals import BUYER, SELLER, button, click, last_view, menu, plan_id, setup_plan
from tests.test_modals import state_of as state_values

CASES = 1000
SEED = 20261201
# A cache of users.info (written when anyone clicks) and the replay claims change
# with every request by design; everything else must stay as it was.
# Delivery bookkeeping, not data: people looked up, requests seen, Slack's pace.
NOT_COMPARED = {"person", "seen_request", "pace"}

Payload = dict[str, Any]
Path = tuple[str | int, ...]

HUGE_IDS = ["99999999999999999999", str(2**31), str(2**63), "0", "-1", "1e9", "0x10"]
ODD_DIGITS = ["١٢", "²", "𝟙", "１", "٣:٤", "1\u200b", " 1", "1 ", "+1", "1_0"]
JUNK_TEXT = ["", ":", "::", "\x00", "\ud800", "\u202e1:2", "💥", "ǅ" * 3000, "<!channel>", "%s"]


def bad_scalars(rng: random.Random) -> Any:
    """A value of the wrong type, or a string that names nothing."""
    pool: list[Any] = [
        None,
        True,
        0,
        -1,
        2**64,
        1.5,
        [],
        ["1:1"],
        {},
        {"value": "1:1"},
        nested(rng.randint(3, 40)),
        *HUGE_IDS,
        *ODD_DIGITS,
        *JUNK_TEXT,
    ]
    return rng.choice(pool)


def nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def bad_id(rng: random.Random) -> str:
    return str(rng.choice(HUGE_IDS + ODD_DIGITS + JUNK_TEXT))


# --- valid payloads the app would carry out ---------------------------------------


def click_payload(h: Harness, action: Payload, who: tuple[str, str] = SELLER) -> Payload:
    raw = h.card_click_body(action, who)
    return dict(json.loads(parse_qs(raw)["payload"][0]))


def submission_payload(view: Payload, values: Payload, who: tuple[str, str] = SELLER) -> Payload:
    raw = payloads.view_submission_body(
        user_id=who[0],
        user_team_id=who[1],
        team_id=who[1],
        view={k: v for k, v in view.items() if k not in ("state", "app_installed_team_id")},
        values=values,
        app_installed_team_id=SELLER_TEAM,
    )
    return dict(json.loads(parse_qs(raw)["payload"][0]))


def opened(h: Harness, open_it: Callable[[], object]) -> Payload:
    before = len(h.local.calls_to("views.open"))
    open_it()
    assert len(h.local.calls_to("views.open")) == before + 1, "the view did not open"
    return last_view(h)


# Where each kind of payload carries what it depends on: breaking any one of these
# must leave the request refused. (Never a valid other id: that would be a request.)
def break_value_ids(value: str) -> Callable[[random.Random], Any]:
    def breaker(rng: random.Random) -> Any:
        parts = value.split(":")
        if rng.random() < 0.3:
            return bad_scalars(rng)
        # Keep the shape, break the ids ("12:<bad>"), or the plan id for plan buttons.
        index = next((i for i, p in enumerate(parts) if p.isdigit()), 0)
        parts[index] = bad_id(rng)
        return ":".join(parts)

    return breaker


def break_metadata(meta: str) -> Callable[[random.Random], Any]:
    def breaker(rng: random.Random) -> Any:
        if rng.random() < 0.3:
            return bad_scalars(rng)
        data = json.loads(meta)
        choice = rng.random()
        if choice < 0.3:
            data.pop("p", None)
        else:
            data["p"] = rng.choice(
                [2**31, 2**63, 10**30, 0, -5, "1", 1.0, True, None, [1], {"p": 1}]
            )
        return json.dumps(data)

    return breaker


class Base_:
    """One valid payload and the fields whose breaking refuses it."""

    def __init__(self, name: str, payload: Payload, critical: dict[Path, Any]) -> None:
        self.name = name
        self.payload = payload
        self.critical = critical


def action_base(h: Harness, name: str, action: Payload, value_path: Path) -> Base_:
    payload = click_payload(h, action)
    value: Any = payload
    for key in value_path:
        value = value[key]
    return Base_(
        name,
        payload,
        {
            value_path: break_value_ids(str(value)),
            ("actions", 0, "action_id"): None,
            ("user",): None,
            ("user", "id"): None,
            ("trigger_id",): None,
            ("actions",): None,
        },
    )


def view_base(name: str, view: Payload, values: Payload, who: tuple[str, str]) -> Base_:
    payload = submission_payload(view, values, who)
    meta = str(payload["view"]["private_metadata"])
    return Base_(
        name,
        payload,
        {
            ("view", "private_metadata"): break_metadata(meta),
            ("user",): None,
            ("user", "id"): None,
            ("view",): None,
            ("view", "id"): None,
        },
    )


def bases(h: Harness, db: Database) -> list[Base_]:
    setup_plan(h)
    pid = plan_id(db)
    with db.read() as s:
        tasks = {t.number: t for t in s.scalars(select(Task))}
    t1, t2 = tasks[1], tasks[2]
    mid = t1.milestone_id
    out: list[Base_] = []
    value = ("actions", 0, "value")
    for action_id in (*ids.TASK_ACTIONS, ids.NUDGE_DONE):
        out.append(action_base(h, action_id, button(action_id, ids.task_value(pid, t2.id)), value))
    for action_id, v in (
        (ids.REMOVE_CONFIRM, f"{pid}:task:{t2.id}"),
        (ids.REMOVE_CANCEL, f"{pid}:task:{t2.id}"),
        (ids.PLAN_ADD_TASK, str(pid)),
        (ids.PLAN_FULL, str(pid)),
        (ids.PLAN_SUMMARY, str(pid)),
        (ids.PLAN_PAGE, f"{pid}:1"),
        (ids.PLAN_ADD_MILESTONE, str(pid)),
        (ids.MILESTONE_EDIT, f"{pid}:{mid}"),
        (ids.GOLIVE_APPLY, f"{pid}:2027-04-01"),
        (ids.GOLIVE_CANCEL, f"{pid}:2027-04-01"),
        (ids.NUDGE_SNOOZE, f"{t2.id}:1"),
        (ids.PIPELINE_CSV, "all"),
    ):
        out.append(action_base(h, action_id, button(action_id, v), value))
    for verb in ids.TASK_MENU_VERBS:
        option = {
            "text": {"type": "plain_text", "text": verb},
            "value": ids.menu_value(verb, pid, t2.id),
        }
        action = {
            "action_id": ids.TASK_MENU,
            "block_id": "x",
            "type": "overflow",
            "selected_option": option,
        }
        out.append(
            action_base(
                h, f"{ids.TASK_MENU}:{verb}", action, ("actions", 0, "selected_option", "value")
            )
        )

    # Views the app really opened, submitted with values it would save.
    add = opened(h, lambda: click(h, button(ids.PLAN_ADD_TASK, str(pid)), SELLER))
    edit = opened(h, lambda: click(h, menu(h, "edit", 2), SELLER))
    comment = opened(h, lambda: click(h, menu(h, "comment", 1), BUYER))
    milestone = opened(h, lambda: click(h, button(ids.PLAN_ADD_MILESTONE, str(pid)), SELLER))
    overview = opened(h, lambda: h.command("overview"))
    people = opened(h, lambda: h.command("people"))
    full = opened(h, lambda: click(h, button(ids.PLAN_FULL, str(pid)), SELLER))
    out += [
        view_base(ids.VIEW_TASK, add, state_values(add, f_title="Fuzzed task"), SELLER),
        view_base(f"{ids.VIEW_TASK}:edit", edit, state_values(edit, f_title="Renamed"), SELLER),
        view_base(ids.VIEW_COMMENT, comment, state_values(comment, f_comment="Hi"), BUYER),
        view_base(ids.VIEW_MILESTONE, milestone, state_values(milestone, f_ms_title="M"), SELLER),
        view_base(ids.VIEW_OVERVIEW, overview, state_values(overview, f_why="Because"), SELLER),
        view_base(ids.VIEW_PEOPLE, people, state_values(people), SELLER),
        view_base(ids.VIEW_FULL_PLAN, full, {}, SELLER),
        view_base(ids.VIEW_NOTICE, {**full, "callback_id": ids.VIEW_NOTICE}, {}, SELLER),
        view_base(ids.VIEW_SUMMARY, {**full, "callback_id": ids.VIEW_SUMMARY}, {}, SELLER),
    ]
    # The create form: its metadata is the channel, its title what it depends on.
    create = opened(h, lambda: h.command("create", channel="C0NOPLAN"))
    create_payload = submission_payload(create, state_values(create, create_title="New deal"))
    title = ("view", "state", "values", ids.CREATE_TITLE)
    out.append(
        Base_(
            ids.CREATE_VIEW,
            create_payload,
            {
                title: None,
                (*title, ids.CREATE_TITLE): None,
                (*title, ids.CREATE_TITLE, "value"): lambda rng: rng.choice(
                    [None, "", " ", 5, [], {}, nested(40)]
                ),
                ("user",): None,
                ("user", "id"): None,
            },
        )
    )
    for field in field_ids():  # unhandled: fewer cases each, by weight in the test
        out.append(action_base(h, field, button(field, "x"), value))
    # The message shortcut (it only opens a form: nothing may change either way).
    card = h.card()
    assert card is not None
    shortcut = payloads.message_shortcut_body(
        user_id=SELLER[0],
        user_team_id=SELLER[1],
        team_id=SELLER_TEAM,
        channel_id=CHANNEL,
        message={"ts": card["ts"], "text": "Send the DPA", "user": "U0LEX", "type": "message"},
        callback_id=ids.SHORTCUT_ADD_FROM_MESSAGE,
    )
    out.append(
        Base_(
            ids.SHORTCUT_ADD_FROM_MESSAGE,
            dict(json.loads(parse_qs(shortcut)["payload"][0])),
            {
                ("message",): None,
                ("message", "ts"): None,
                ("channel",): None,
                ("callback_id",): None,
                ("user",): None,
                ("trigger_id",): None,
            },
        )
    )
    out += drafting_bases(h, pid, t2.id)
    h.settle()
    return out


def drafting_bases(h: Harness, pid: int, task_id: int) -> list[Base_]:
    """The drafting forms and shortcut, and a plan link's Complete button."""
    notes = "Next steps\n- we will send the DPA by Friday"
    form = opened(h, lambda: h.command("draft"))
    form_values = state_values(form, **{ids.F_DRAFT_NOTES: notes})
    notes_value = ("view", "state", "values", ids.F_DRAFT_NOTES, ids.F_DRAFT_NOTES, "value")
    review = submission_payload(form, form_values)["view"]
    answer = h.signed(urlencode({"payload": json.dumps(submission_payload(form, form_values))}))
    review = {**answer.json()["view"], "id": review["id"]}  # a draft of its own, kept
    review_values = state_values(review)
    for b in review["blocks"]:
        if b.get("block_id", "").startswith(ids.BLOCK_DRAFT_KEEP + "."):
            review_values[b["block_id"]] = {
                ids.DRAFT_KEEP: {
                    "type": "checkboxes",
                    "selected_options": b["accessory"]["options"],
                }
            }
    junk = lambda rng: rng.choice([*JUNK_TEXT, *HUGE_IDS, True, 12, [], {}])  # noqa: E731
    drafted = [
        Base_(
            ids.VIEW_DRAFT_NOTES,
            submission_payload(form, form_values),
            {
                ("view", "private_metadata"): junk,  # the channel
                notes_value: lambda rng: rng.choice([None, "", " ", 5, [], {}, nested(40)]),
                ("user",): None,
                ("user", "id"): None,
            },
        ),
        Base_(
            ids.VIEW_DRAFT_REVIEW,
            submission_payload(review, review_values),
            {
                ("view", "private_metadata"): lambda rng: rng.choice(
                    [json.dumps({"draft": v}) for v in (0, -1, 2**31, "1", None, [1], 99999)]
                    + [None, "", "{", "[]", 12]
                ),
                ("user",): None,
                ("user", "id"): None,
            },
        ),
        view_base(
            ids.VIEW_DRAFT_WORKING, {**review, "callback_id": ids.VIEW_DRAFT_WORKING}, {}, SELLER
        ),
    ]
    shortcut = payloads.message_shortcut_body(
        user_id=SELLER[0],
        user_team_id=SELLER[1],
        team_id=SELLER_TEAM,
        channel_id=CHANNEL,
        message={"ts": "1.000001", "text": notes, "user": "U0LEX", "type": "message"},
        callback_id=ids.SHORTCUT_DRAFT_FROM_MESSAGE,
    )
    drafted.append(
        Base_(
            ids.SHORTCUT_DRAFT_FROM_MESSAGE,
            dict(json.loads(parse_qs(shortcut)["payload"][0])),
            {
                ("message",): None,
                ("message", "text"): None,
                ("channel",): None,
                ("channel", "id"): junk,
                ("callback_id",): None,
                ("user",): None,
                ("trigger_id",): None,
            },
        )
    )
    complete = button(ids.UNFURL_COMPLETE, ids.task_value(pid, task_id))
    drafted.append(action_base(h, ids.UNFURL_COMPLETE, complete, ("actions", 0, "value")))
    return drafted


ID_PREFIXES = (
    "TASK_",
    "REMOVE_",
    "PLAN_",
    "MILESTONE_",
    "GOLIVE_",
    "NUDGE_",
    "VIEW_",
    "CREATE_",
    "PIPELINE_",
)


def block_kit_ids() -> set[str]:
    """Every action_id and callback_id bot.ids defines (block ids aside)."""
    return {
        v
        for k, v in vars(ids).items()
        if isinstance(v, str) and (k.startswith((*ID_PREFIXES, "F_", "SHORTCUT_")))
    }


def field_ids() -> list[str]:
    """Input elements' action ids: no listener (Slack sends no block_actions for an
    input without dispatch_action), so a click naming one is unhandled (404)."""
    fields = {v for k, v in vars(ids).items() if k.startswith("F_") and isinstance(v, str)}
    return sorted(fields | {ids.CREATE_TITLE, ids.CREATE_TEMPLATE, ids.CREATE_GOLIVE})


BASE_IDS = {
    *ids.TASK_ACTIONS,
    ids.NUDGE_DONE,
    ids.NUDGE_SNOOZE,
    ids.REMOVE_CONFIRM,
    ids.REMOVE_CANCEL,
    ids.PLAN_ADD_TASK,
    ids.PLAN_FULL,
    ids.PLAN_SUMMARY,
    ids.PLAN_PAGE,
    ids.PLAN_ADD_MILESTONE,
    ids.MILESTONE_EDIT,
    ids.GOLIVE_APPLY,
    ids.GOLIVE_CANCEL,
    ids.TASK_MENU,
    ids.VIEW_TASK,
    ids.VIEW_COMMENT,
    ids.VIEW_MILESTONE,
    ids.VIEW_OVERVIEW,
    ids.VIEW_PEOPLE,
    ids.VIEW_FULL_PLAN,
    ids.VIEW_NOTICE,
    ids.VIEW_SUMMARY,
    ids.CREATE_VIEW,
    ids.SHORTCUT_ADD_FROM_MESSAGE,
    ids.VIEW_DRAFT_NOTES,
    ids.VIEW_DRAFT_REVIEW,
    ids.VIEW_DRAFT_WORKING,
    ids.SHORTCUT_DRAFT_FROM_MESSAGE,
    ids.UNFURL_COMPLETE,
    ids.PIPELINE_CSV,
}


def test_every_id_is_fuzzed() -> None:
    """A new action or callback id in bot.ids must be added to the fuzzing."""
    assert block_kit_ids() - BASE_IDS - set(field_ids()) == set()


# --- mutations ---------------------------------------------------------------------


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    found: list[Path] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found.append((*prefix, k))
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.append((*prefix, i))
            found += paths(v, (*prefix, i))
    return found


def put(payload: Payload, path: Path, value: Any, *, delete: bool = False) -> None:
    parent: Any = payload
    for key in path[:-1]:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation removed the way there
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        if delete:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        if delete:
            parent.pop(last)
        else:
            parent[last] = value


def noise(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            "",
            "x" * 5000,
            "\u202e\u200b💥ǅ",
            "\x00",
            "\ud800",
            12,
            -(2**70),
            3.5,
            False,
            [],
            {},
            {"type": "plain_text", "text": "<!channel>"},
            nested(rng.randint(2, 40)),
        ]
    )


def mutate(base: Base_, rng: random.Random) -> tuple[Payload, list[str]]:
    payload = json.loads(json.dumps(base.payload))
    # Mostly the ids the request names (refused by the listeners), else the rest
    # (mostly refused at the door); the first critical field is the ids'.
    critical = list(base.critical.items())
    path, breaker = critical[0] if rng.random() < 0.7 else rng.choice(critical[1:])
    if breaker is None:  # what the request needs present, and of its type
        if rng.random() < 0.5:
            put(payload, path, None, delete=True)
            what = [f"delete {path}"]
        else:
            value = bad_scalars(rng)
            while isinstance(value, str):
                value = bad_scalars(rng)
            put(payload, path, value)
            what = [f"{path} = {str(value)[:60]!r}"]
    else:
        value = breaker(rng)
        put(payload, path, value)
        what = [f"{path} = {str(value)[:60]!r}"]
    for _ in range(rng.choice((0, 0, 1, 2))):
        where = rng.choice(paths(payload))
        if where[: len(path)] == path or path[: len(where)] == where:
            continue  # noise must not touch what was broken (it could only repair it)
        if rng.random() < 0.3:
            put(payload, where, None, delete=True)
            what.append(f"delete {where}")
        else:
            put(payload, where, noise(rng))
            what.append(f"noise at {where}")
    return payload, what


def snapshot(db: Database) -> dict[str, list[tuple[str, ...]]]:
    """Every stored row, but card and Home refreshes: they re-render what is stored,
    and the refresh worker sends them (changing their state) whenever it runs."""
    with db.read() as s:
        return {
            t.name: sorted(
                tuple(map(repr, row))
                for row in s.execute(
                    t.select().where(Outbox.kind.not_in(refreshes.KINDS))
                    if t.name == "outbox"
                    else t.select()
                )
            )
            for t in Base.metadata.sorted_tables
            if t.name not in NOT_COMPARED
        }


@pytest.mark.parametrize("seed", [SEED])
def test_fuzzed_signed_payloads_never_fail_and_change_nothing(
    h: Harness, db: Database, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    all_bases = bases(h, db)
    # A thousand requests in a minute or two is more than Slack takes from one
    # workspace (refusals are ephemerals, Tier 4): rates are not what this is about.
    for method in ("chat.postEphemeral", "views.open", "users.info"):
        h.local.set_rate_limit(method, 100 * CASES)
    before = snapshot(db)
    caplog.set_level(logging.ERROR)
    rng = random.Random(seed)
    statuses: dict[int, int] = {}
    failures: list[str] = []
    assert {b.name.split(":")[0] for b in all_bases} == BASE_IDS | set(field_ids())
    for n in range(CASES):
        base = all_bases[n % len(all_bases)]
        payload, what = mutate(base, rng)
        if payload.get("trigger_id") == base.payload.get("trigger_id"):
            # Slack sends each interaction with a trigger_id of its own (good once, 3 s)
            payload["trigger_id"] = payloads.new_trigger_id(str(base.payload["user"]["id"]))
        resp = h.signed(urlencode({"payload": json.dumps(payload)}))
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        crashed = [r for r in caplog.records if r.name == error_reply.__name__ or r.exc_info]
        changed = snapshot(db) != before
        if resp.status >= 500 or crashed or changed:
            errors = [
                f"{r.exc_info[0].__name__}: {str(r.exc_info[1])[:200]}"
                for r in crashed
                if r.exc_info and r.exc_info[0]
            ]
            failures.append(
                f"case {n} {base.name} {what}: {resp.status} {resp.body[:200]} {errors}"
                + (" CHANGED THE DATABASE" if changed else "")
            )
            caplog.clear()
            before = snapshot(db)
    h.settle()
    assert failures == [], "\n".join(failures[:20])
    assert snapshot(db) == before
    # 404: an action or view nobody listens for; 409: a case identical to an earlier
    # one within the same second, hence the same signature (a replay).
    assert set(statuses) <= {200, 400, 404, 409}, statuses
    # Many are refused at the door (400), many reach the listeners and are refused there.
    assert statuses.get(400, 0) > CASES // 10 and statuses.get(200, 0) > CASES // 10, statuses
