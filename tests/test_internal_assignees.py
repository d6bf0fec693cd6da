"""An internal task is never held by a buyer-side person: every path that assigns
or marks internal refuses it, with the reason, and changes nothing. The side comes
from the person row (a side set by hand, home team, guest); someone we have no
row for counts as the buyer's (fail closed)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from reminders.due import due_messages
from reminders.snapshot import load_state
from storage import collab_services, services
from storage.db import Database
from storage.models import Base, Person, Plan, Task
from storage.rules import Actor, PersonFacts, can_hold_internal, person_side, visible_to
from tests.harness import BUYER_TEAM, SELLER_TEAM, Harness
from tests.test_modals import SELLER, errors, last_view, menu, ok, setup_plan, state_of, submit
from tests.test_modals import click as click_card

TEAM = SELLER_TEAM
LEX = Actor("U0LEX", "seller", TEAM)


# --- the rule, as a pure function --------------------------------------------------


def test_person_side_from_the_person_row() -> None:
    assert person_side(TEAM, None) == "buyer", "unknown: fail closed"
    assert person_side(TEAM, PersonFacts(TEAM, False, None)) == "seller"
    assert person_side(TEAM, PersonFacts(None, False, None)) == "seller", "no home team: ours"
    assert person_side(TEAM, PersonFacts(BUYER_TEAM, False, None)) == "buyer", "another team"
    assert person_side(TEAM, PersonFacts(TEAM, True, None)) == "buyer", "a guest"
    assert person_side(TEAM, PersonFacts(BUYER_TEAM, True, "seller")) == "seller", "by hand"
    assert person_side(TEAM, PersonFacts(TEAM, False, "buyer")) == "buyer", "by hand"
    assert person_side(TEAM, PersonFacts(TEAM, False, "nonsense")) == "seller"
    assert person_side(TEAM, PersonFacts(BUYER_TEAM, False, "nonsense")) == "buyer"


def test_can_hold_internal() -> None:
    ours, theirs = PersonFacts(TEAM, False, None), PersonFacts(BUYER_TEAM, False, None)
    assert can_hold_internal(False, "W0MIKE", theirs, TEAM) is None, "not internal: anyone"
    assert can_hold_internal(False, "U0X", None, TEAM) is None
    assert can_hold_internal(True, None, None, TEAM) is None, "unassigned"
    assert can_hold_internal(True, "U0MERCY", ours, TEAM) is None
    assert can_hold_internal(True, "W0MIKE", theirs, TEAM) == (
        "<@W0MIKE> is on the buyer side: an internal task is the seller's alone. "
        "Assign it to your team, or make it not internal."
    )
    assert can_hold_internal(True, "U0GHOST", None, TEAM) == (
        "I don't know <@U0GHOST> yet: an internal task only goes to someone I know is "
        "on the seller team. Place them with `/map people` first."
    )
    # An id that isn't one is never echoed as a mention.
    odd = can_hold_internal(True, "<!channel>", None, TEAM)
    assert odd is not None and odd.startswith("I don't know that person yet")
    assert can_hold_internal(True, "U1", None, TEAM) is not None
    assert "that person" in (can_hold_internal(True, "x" + "U0ABC", theirs, TEAM) or "")
    assert "<@W0AB>" in (can_hold_internal(True, "W0AB", theirs, TEAM) or "")
    assert "<@U0A>" in (can_hold_internal(True, "U0A", None, TEAM) or "")
    assert "that person" in (can_hold_internal(True, "U0A\n", None, TEAM) or "")


# --- every path that assigns or marks internal, over HTTP ------------------------------


def _tasks(db: Database) -> dict[int, tuple[str, bool, str | None]]:
    with db.read() as s:
        return {
            n: (title, internal, who)
            for n, title, internal, who in s.execute(
                select(Task.number, Task.title, Task.internal, Task.assignee_id)
            )
        }


def test_slash_commands_refuse_an_internal_task_for_a_buyer(h: Harness, db: Database) -> None:
    assert h.command("create Deal go-live 2027-06-01").status == 200
    h.command("help", user="U0GUEST")  # the guest is known: a guest of the seller team
    h.command("help", user="U0MERCY")  # Mercy is known: a member of the seller team
    before = _tasks(db)

    # A mention we never saw is looked up first; while Slack can't say who it is,
    # the task is refused (fail closed), never given to a stranger.
    h.local.fail_next("users.info", status=500)  # one try: a lookup is never retried inline
    body = h.command("add SECRET margin internal <@W0MIKE|mike> due 2027-05-01").body
    assert "I don't know <@W0MIKE> yet" in body, "never seen: fail closed"
    h.command("help", user="W0MIKE", team=BUYER_TEAM)  # now he is known (users.info)
    body = h.command("add SECRET margin internal <@W0MIKE|mike> due 2027-05-01").body
    assert "<@W0MIKE> is on the buyer side" in body
    assert "I don't know <@U0NOBODY> yet" in h.command("add SECRET x internal <@U0NOBODY>").body
    assert "is on the buyer side" in h.command("add SECRET y internal <@U0GUEST|guest>").body
    assert _tasks(db) == before, "refused: nothing added"

    assert "Added" in h.command("add SECRET margin internal <@U0MERCY|mercy>").body
    assert "Added" in h.command("add Pricing call <@W0MIKE|mike>").body, "not internal: fine"
    assert "Added" in h.command("add SECRET mine internal <@U0LEX|lex>").body
    tasks = _tasks(db)
    (margin,) = [n for n, t in tasks.items() if t[0] == "SECRET margin"]
    for who in ("<@W0MIKE|mike>", "<@U0GUEST|guest>", "<@U0NOBODY>"):
        assert "internal task" in h.command(f"assign #{margin} {who}").body
    assert _tasks(db) == tasks, "refused: nobody reassigned"
    assert "is now <@U0LEX>'s" in h.command(f"assign #{margin} <@U0LEX|lex>").body
    assert "unassigned" in h.command(f"assign #{margin} nobody").body


def test_the_task_modal_refuses_internal_for_a_buyer(h: Harness, db: Database) -> None:
    setup_plan(h)  # #1 is the buyer's (assigned to Mike), #3 is internal
    # Making #1 internal while Mike holds it: refused, in the assignee field.
    click_card(h, menu(h, "edit", 1), SELLER)
    view = last_view(h)
    before = _tasks(db)
    assert (
        "buyer side"
        in errors(submit(h, view, state_of(view, f_internal=True), SELLER))["f.assignee"]
    )
    # Both at once (internal, and assigned to a buyer): refused.
    values = state_of(view, f_internal=True, f_assignee="W0SULLEY")
    assert "f.assignee" in errors(submit(h, view, values, SELLER))
    assert _tasks(db) == before
    # Internal and handed to someone on the seller team instead: fine.
    h.command("help", user="U0MERCY")
    ok(submit(h, view, state_of(view, f_internal=True, f_assignee="U0MERCY"), SELLER))
    assert _tasks(db)[1][1:] == (True, "U0MERCY")


def test_services_refuse_every_way_round(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, LEX, "C1", "Deal")
        s.add(Person(team_id=TEAM, user_id="W0MIKE", home_team_id=BUYER_TEAM, name="mike"))
        s.add(Person(team_id=TEAM, user_id="U0MERCY", home_team_id=TEAM, name="mercy"))
        open_task = services.add_task(s, LEX, plan, "Open", assignee_id="W0MIKE")
        secret = services.add_task(s, LEX, plan, "SECRET", internal=True)
        plan_id, open_id, secret_id = plan.id, open_task.id, secret.id
    # The asker holding it themselves needs no person row.
    with db.write() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        services.add_task(s, LEX, plan, "SECRET self", internal=True, assignee_id="U0LEX")
    attempts = {
        "assign": lambda s, p: services.assign_task(s, LEX, p, s.get(Task, secret_id), "W0MIKE"),
        "form assign": lambda s, p: collab_services.save_task(
            s,
            LEX,
            p,
            s.get(Task, secret_id),
            collab_services.TaskForm(fields=frozenset({"assignee"}), assignee_id="W0MIKE"),
        ),
        "form internal": lambda s, p: collab_services.save_task(
            s,
            LEX,
            p,
            s.get(Task, open_id),
            collab_services.TaskForm(fields=frozenset({"internal"}), internal=True),
        ),
        "form create": lambda s, p: collab_services.save_task(
            s,
            LEX,
            p,
            None,
            collab_services.TaskForm(
                fields=frozenset({"title", "internal", "assignee"}),
                title="SECRET new",
                internal=True,
                assignee_id="W0MIKE",
            ),
        ),
        "a side set by hand": lambda s, p: (
            collab_services.set_person(s, LEX, p, "U0MERCY", role="", side="buyer"),
            services.assign_task(s, LEX, p, s.get(Task, secret_id), "U0MERCY"),
        ),
    }
    for name, attempt in attempts.items():
        try:
            with db.write() as s:
                plan = s.get(Plan, plan_id)
                attempt(s, plan)
        except services.DomainError as e:
            assert "internal task" in e.message, name
            if name.startswith("form"):  # shown under the form's assignee field
                assert isinstance(e, collab_services.FieldInvalid) and e.field == "assignee"
        else:
            raise AssertionError(f"{name}: an internal task went to a buyer")
    with db.read() as s:
        rows = s.execute(select(Task.title, Task.internal, Task.assignee_id)).all()
    assert not [r for r in rows if r[1] and r[2] not in (None, "U0LEX")], rows


# --- legacy data: no reminder about an internal task reaches a buyer -----------------

PEOPLE = {
    # user → (home team, guest, side set by hand); U0GHOST has no person row.
    "U0LEX": (TEAM, False, None),
    "U0MERCY": (TEAM, False, None),
    "W0MIKE": (BUYER_TEAM, False, None),
    "U0GUEST": (TEAM, True, None),
    "U0TURNED": (TEAM, False, "buyer"),  # a seller-team member placed on the buyer side
}
SELLERS = {"U0LEX", "U0MERCY"}
WHO = st.sampled_from([*PEOPLE, "U0GHOST", None])


def _wipe(db: Database) -> None:
    with db.write() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(table.delete())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tasks=st.lists(
        st.tuples(
            st.integers(-11, 4),  # due, days from the Monday
            st.sampled_from(["buyer", "seller", "mutual"]),
            WHO,
            st.booleans(),  # internal
            st.sampled_from(["not_started", "in_progress"]),
        ),
        min_size=1,
        max_size=12,
    ),
    rep=st.sampled_from(["U0LEX", "U0TURNED", "U0GHOST"]),
    hour=st.sampled_from([14, 18, 23]),
)
def test_legacy_internal_tasks_held_by_buyers_are_never_sent_to_them(
    db: Database,
    tasks: list[tuple[int, str, str | None, bool, str]],
    rep: str,
    hour: int,
) -> None:
    """Rows written straight into the database, as data from before the rule:
    whatever is due, no message into the channel or to anyone not on the seller
    side names an internal task."""
    _wipe(db)
    monday = date(2026, 3, 16)
    at = datetime(2026, 3, 16, hour, 0, tzinfo=UTC)
    with db.write() as s:
        for uid, (home, guest, override) in PEOPLE.items():
            s.add(
                Person(
                    team_id=TEAM,
                    user_id=uid,
                    home_team_id=home,
                    is_guest=guest,
                    side_override=override,
                    name=uid.lower(),
                    tz="America/New_York",
                )
            )
        plan = Plan(
            team_id=TEAM,
            channel_id="C0DEAL",
            title="Deal",
            tz="America/New_York",
            created_by=rep,
            created_at=at - timedelta(days=30),
            updated_at=at,
            target_date=monday + timedelta(days=40),
        )
        s.add(plan)
        s.flush()
        milestone_id = s.execute(
            insert(Base.metadata.tables["milestone"]).values(
                plan_id=plan.id, position=1, title="Phase"
            )
        ).inserted_primary_key[0]
        for n, (days, owner, who, internal, status) in enumerate(tasks, start=1):
            s.add(
                Task(
                    plan_id=plan.id,
                    milestone_id=milestone_id,
                    number=n,
                    position=n,
                    title=f"{'SECRET' if internal else 'Open'} {n}",
                    owner_side=owner,
                    assignee_id=who,
                    status=status,
                    internal=internal,
                    due_date=monday + timedelta(days=days),
                    created_at=at,
                    updated_at=at,
                )
            )
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Task)) == len(tasks)
        state = load_state(s, at, digest_plan_ids={plan.id})
    sent = due_messages(state)
    for o in sent:
        body = o.text + json.dumps(o.blocks)
        if o.recipient.startswith("C") or o.recipient not in SELLERS:
            assert "SECRET" not in body, (o.kind, o.recipient)
    # Sellers still hear about internal work that is theirs (a check that can fail).
    mine = [
        n
        for n, (days, owner, who, internal, status) in enumerate(tasks, start=1)
        if internal and who in SELLERS and days == 0
    ]
    if mine and hour >= 14:
        dms = "".join(o.text for o in sent if o.recipient in SELLERS)
        assert f"SECRET {mine[0]}" in dms


def test_visible_to_is_the_one_rule() -> None:
    assert visible_to("seller", True) and visible_to("seller", False)
    assert visible_to("buyer", False) and not visible_to("buyer", True)


def test_a_buyer_cannot_snooze_or_reach_an_internal_task(db: Database) -> None:
    from storage import reminder_services

    buyer = Actor("W0MIKE", "buyer", TEAM)
    with db.write() as s:
        plan = services.create_plan(s, LEX, "C1", "Deal")
        secret = services.add_task(s, LEX, plan, "SECRET", internal=True)
        shown = services.add_task(s, LEX, plan, "Open")
        secret_id, shown_id = secret.id, shown.id
    until = date(2027, 1, 1)
    try:
        with db.write() as s:
            reminder_services.snooze(s, buyer, secret_id, until)
    except services.NotFound as e:
        assert "isn't in this workspace" in e.message
    else:
        raise AssertionError("a buyer snoozed an internal task")
    with db.write() as s:
        assert reminder_services.snooze(s, buyer, shown_id, until).id == shown_id
        assert reminder_services.snooze(s, LEX, secret_id, until).id == secret_id
