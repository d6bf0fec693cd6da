"""The manager's pipeline: scoped to the workspace and to the viewer (own plans, or
every plan for a manager), never a buyer's; riskiest first; within Block Kit's
limits with many plans; the CSV by DM; a fixed number of SQL statements."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot import ids
from bot.local_slack import payloads
from bot.local_slack.checks import check_message
from bot.render.pipeline import PAGE, pipeline_csv, pipeline_message
from commands import pipeline_commands
from storage import clock, services
from storage.db import Database
from storage.models import Manager, Outbox
from storage.pipeline import pipeline
from storage.rules import Actor
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness

LEX = Actor("U0LEX", "seller", SELLER_TEAM)
MERCY = Actor("U0MERCY", "seller", SELLER_TEAM)
INTERNAL = "Internal: approve discount"


def make_plan(
    db: Database,
    owner: Actor,
    channel: str,
    title: str,
    *,
    overdue: int = 0,
    internal: bool = False,
) -> int:
    today = clock.now().date()
    with db.write() as s:
        plan = services.create_plan(
            s, owner, channel, title, target_date=today + timedelta(days=60)
        )
        m = services.add_milestone(s, owner, plan, "Legal review")
        services.add_task(
            s,
            owner,
            plan,
            "Sign the DPA",
            milestone=m,
            owner_side="buyer",
            due=today + timedelta(5),
        )
        for n in range(overdue):
            services.add_task(
                s,
                owner,
                plan,
                f"Late {n}",
                milestone=m,
                owner_side="buyer",
                due=today - timedelta(days=10),
            )
        if internal:
            services.add_task(
                s,
                owner,
                plan,
                INTERNAL,
                milestone=m,
                owner_side="seller",
                internal=True,
                due=today - timedelta(days=20),
            )
        return plan.id


def reply_of(h: Harness) -> str:
    """What the asker was shown (the ack's body, or the response_url's post)."""
    said = [r.body for r in h.responses if r.body]
    said += [json.dumps(c.params, ensure_ascii=False) for c in h.local.response_posts]
    return "\n".join(said)


def test_without_managers_each_seller_sees_their_own_plans(h: Harness, db: Database) -> None:
    make_plan(db, LEX, CHANNEL, "Lex's deal")
    make_plan(db, MERCY, "C0OTHER", "Mercy's deal")
    h.command("pipeline")
    said = reply_of(h)
    assert "Lex&#39;s deal" in said or "Lex's deal" in said
    assert "Mercy" not in said


def test_a_manager_sees_every_plan_of_the_workspace_only(h: Harness, db: Database) -> None:
    make_plan(db, LEX, CHANNEL, "Lex deal")
    make_plan(db, MERCY, "C0OTHER", "Mercy deal")
    make_plan(db, Actor("U0ELSE", "seller", "T0ELSEWHERE"), "C0FAR", "Another workspace deal")
    h.command("managers add <@U0LEX|lex>")
    h.command("pipeline")
    said = reply_of(h)
    assert "Lex deal" in said and "Mercy deal" in said
    assert "Another workspace deal" not in said
    mine = h.command("pipeline mine").body
    assert "Lex deal" in mine and "Mercy deal" not in mine


def test_buyers_never_see_a_pipeline(h: Harness, db: Database) -> None:
    """A guest of the seller's workspace can type `/map` (buyers in Slack Connect
    cannot): refused, with nothing of any plan in the answer."""
    make_plan(db, LEX, CHANNEL, "Secret pipeline deal")
    with db.write() as s:  # even named a manager behind our back
        s.add(Manager(team_id=SELLER_TEAM, user_id="U0GUEST", added_by="x", added_at=clock.now()))
    h.command("pipeline", user="U0GUEST")
    h.command("pipeline csv", user="U0GUEST")
    h.command("managers", user="U0GUEST")
    said = reply_of(h)
    assert "Secret pipeline deal" not in said
    assert "seller team" in said
    h.settle()
    assert h.local.files.shared() == []


def test_a_buyer_clicking_a_crafted_csv_button_gets_nothing(h: Harness, db: Database) -> None:
    make_plan(db, LEX, CHANNEL, "Secret pipeline deal")
    action = {"action_id": ids.PIPELINE_CSV, "block_id": "b", "value": "all", "type": "button"}
    h.signed(h.card_click_body(action, ("W0MIKE", BUYER_TEAM)))
    h.settle()
    with db.read() as s:
        rows = s.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.kind == "upload.pipeline_csv")
        )
    assert rows == 0
    assert h.local.files.shared() == []
    told = [e.text for e in h.local.ephemerals(CHANNEL, "W0MIKE")]
    assert any("seller team" in t for t in told)


def test_only_people_of_the_seller_team_become_managers(h: Harness) -> None:
    h.command("managers add <@W0MIKE|mike>")
    h.command("managers add <@U0GUEST|guest>")
    h.command("managers")
    said = reply_of(h)
    assert "Only someone of your own team" in said
    assert "No managers yet" in said


def test_managers_add_list_remove(h: Harness) -> None:
    assert "is now a manager" in h.command("managers add <@U0MERCY|mercy>").body
    assert "<@U0MERCY>" in h.command("managers").body
    assert "no longer a manager" in h.command("managers remove <@U0MERCY|mercy>").body
    assert "No managers yet" in h.command("managers").body


def test_riskiest_first_and_filters(db: Database, fixed_clock: object) -> None:
    calm = make_plan(db, LEX, "C1", "Calm deal")
    late = make_plan(db, LEX, "C2", "Late deal", overdue=3)
    with db.read() as s:
        rows = pipeline(s, LEX).rows
        at_risk = pipeline(s, LEX, "at-risk").rows
    assert [r.plan_id for r in rows] == [late, calm]
    assert rows[0].health.state == "at_risk" and "3 buyer tasks overdue" in rows[0].health.line()
    assert [r.plan_id for r in at_risk] == [late]
    assert rows[1].next_buyer_step is not None and rows[1].next_buyer_step.title == "Sign the DPA"


def test_owner_filter_never_widens_a_sellers_scope(db: Database) -> None:
    make_plan(db, MERCY, "C2", "Mercy deal")
    with db.read() as s:
        assert pipeline(s, LEX, "owner", "U0MERCY").rows == ()
    with db.write() as s:
        s.add(Manager(team_id=SELLER_TEAM, user_id="U0LEX", added_by="x", added_at=clock.now()))
    with db.read() as s:
        assert [r.title for r in pipeline(s, LEX, "owner", "U0MERCY").rows] == ["Mercy deal"]


def test_many_plans_stay_within_block_kit_limits(h: Harness, db: Database) -> None:
    for n in range(PAGE + 15):
        make_plan(db, LEX, f"C{n:04d}", f"Deal {n} " + "x" * 140)
    reply = h.command("pipeline").json()
    assert check_message(reply) == [], "valid Block Kit within a message's limits"
    blocks = reply["blocks"]
    assert len(blocks) <= 50
    assert "+ 15 more plans not shown" in json.dumps(blocks)
    # App Home with the pipeline section: valid (the stand-in checks) and within 100.
    h.bot.deps.home.refresh_user(SELLER_TEAM, "U0LEX")
    h.settle()
    home = h.local.home_view("U0LEX")
    assert home is not None and len(home["blocks"]) <= 100
    assert any(b.get("block_id") == f"{ids.BLOCK_HOME_PIPELINE}.more" for b in home["blocks"])


def test_the_home_pipeline_is_for_sellers_only(h: Harness, db: Database) -> None:
    make_plan(db, LEX, CHANNEL, "Secret pipeline deal")
    for user in ("U0LEX", "W0MIKE"):
        h.bot.deps.home.refresh_user(SELLER_TEAM, user)
    h.settle()
    seller, buyer = h.local.home_view("U0LEX"), h.local.home_view("W0MIKE")
    assert seller is not None and "Pipeline" in json.dumps(seller)
    assert buyer is not None and "Pipeline" not in json.dumps(buyer)
    assert "Secret pipeline deal" not in json.dumps(buyer)


def test_the_csv_goes_to_the_asker_by_dm(h: Harness, db: Database) -> None:
    make_plan(db, LEX, CHANNEL, '=HYPERLINK("http://evil")', internal=True)
    h.command("pipeline csv")
    h.settle()
    (shared,) = h.local.files.shared("DU0LEX")
    assert shared.data is not None
    rows = list(csv.reader(io.StringIO(shared.data.decode())))
    assert rows[0][0] == "plan" and len(rows) == 2
    assert rows[1][0].startswith("'="), "a formula is neutralised"
    assert [c.method for c in h.local.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


def test_reasons_and_titles_are_escaped(db: Database) -> None:
    make_plan(db, LEX, "C1", "<!channel> deal", overdue=1)
    with db.write() as s:
        from storage.models import Milestone

        m = s.scalars(select(Milestone)).first()
        assert m is not None
        m.title = "<!here> review"
    with db.read() as s:
        message = pipeline_message(pipeline(s, LEX))
    said = json.dumps(message.blocks)
    assert "<!channel>" not in said and "<!here>" not in said
    assert "&lt;!channel&gt; deal" in said


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_statements_do_not_grow_with_the_number_of_plans(db: Database) -> None:
    def statements_for(n: int) -> int:
        for i in range(n):
            make_plan(db, LEX, f"C{n}-{i}", f"Deal {i}", overdue=i % 3)
        with db.read() as s, counted(db) as seen:
            view = pipeline(s, LEX, rows=None)
            pipeline_csv(view)
        assert len(view.rows) >= n
        return len(seen)

    assert statements_for(10) == statements_for(100)


def test_a_big_pipeline_comes_after_the_ack(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack waits 3 seconds for the ack: a pipeline of more plans than can be worked
    out in that time is posted (ephemeral, to the asker) by the worker."""
    monkeypatch.setattr(pipeline_commands, "SYNC_MAX_PLANS", 2)
    for n in range(3):
        make_plan(db, LEX, f"C{n:04d}", f"Deal {n}")
    resp = h.command("pipeline at-risk")
    assert "Working out the pipeline of 3 plans" in resp.body
    h.command("pipeline", user="U0GUEST")  # refused at once, nothing queued for later
    h.settle()
    # The ack's "working it out" (as the stand-in shows a command's answer), then the list.
    told = [e for e in h.local.ephemerals(CHANNEL, user="U0LEX") if "Pipeline" in e.text]
    assert len(told) == 1 and "at risk or stalled" in json.dumps(told[0].blocks)
    # The guest (looked up first, after the ack) was told no, and nothing else.
    for told in h.local.ephemerals(CHANNEL, user="U0GUEST"):
        assert "at risk or stalled" not in json.dumps(told.blocks) + told.text


def test_a_big_pipeline_is_only_pointed_to_in_app_home(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Homes are rendered by the refresh worker: a manager's thousands of plans are
    not worked out on every refresh while cards wait."""
    from reminders.delivery import home as home_publisher

    monkeypatch.setattr(home_publisher, "HOME_MAX_PLANS", 2)
    for n in range(3):
        make_plan(db, LEX, f"C{n:04d}", f"Deal {n}")
    h.bot.deps.home.refresh_user(SELLER_TEAM, "U0LEX")
    h.settle()
    home = json.dumps(h.local.home_view("U0LEX"))
    assert "3 plans: `/map pipeline` shows the riskiest" in home
    assert f"{ids.BLOCK_HOME_PIPELINE}.1" not in home
    assert ids.PIPELINE_CSV in home
    # Once the tick's health pass has assessed them, the Home ranks them from it.
    from reminders import health_pass

    health_pass.run(db, clock.now())
    h.bot.deps.home.refresh_user(SELLER_TEAM, "U0LEX")
    h.settle()
    home = json.dumps(h.local.home_view("U0LEX"))
    assert f"{ids.BLOCK_HOME_PIPELINE}.1" in home and "3 plans (your plans)" in home


def test_ranking_reads_the_health_the_tick_recorded(db: Database, fixed_clock: object) -> None:
    """After the tick's health pass, every plan is ranked and counted from
    plan_health; only the rows shown are read in full — in the same statements
    however many plans there are."""
    from reminders import health_pass

    def statements_for(n: int) -> tuple[int, int, list[str]]:
        for i in range(n):
            make_plan(db, LEX, f"C{n}-{i}", f"Deal {n}-{i}", overdue=2 if i == n - 1 else 0)
        health_pass.run(db, clock.now())
        with db.read() as s, counted(db) as seen:
            view = pipeline(s, LEX, "at-risk", rows=1)
        return len(seen), view.total, [r.title for r in view.rows]

    small = statements_for(10)
    big = statements_for(100)
    assert small[1:] == (1, ["Deal 10-9"])
    assert big[1] == 2 and big[2] == ["Deal 10-9"], "ties go by plan id"
    assert small[0] == big[0]


def test_a_plan_is_ranked_by_its_recorded_health(db: Database, fixed_clock: object) -> None:
    from sqlalchemy import update

    from reminders import health_pass
    from storage.models import PlanHealth

    calm = make_plan(db, LEX, "C1", "Calm deal")
    health_pass.run(db, clock.now())
    with db.write() as s:  # as a pass that found it stalled would have left it
        s.execute(update(PlanHealth).where(PlanHealth.plan_id == calm).values(state="stalled"))
    with db.read() as s:
        assert pipeline(s, LEX, "stalled", rows=0).total == 1
        (row,) = pipeline(s, LEX, "stalled").rows
    assert row.health.state == "on_track", "the row shown is assessed afresh"


def test_download_csv_from_app_home(h: Harness, db: Database) -> None:
    make_plan(db, LEX, CHANNEL, "Lex deal")
    h.bot.deps.home.refresh_user(SELLER_TEAM, "U0LEX")
    h.settle()
    home = h.local.home_view("U0LEX")
    assert home is not None
    (button,) = [
        e
        for b in home["blocks"]
        if b.get("block_id") == f"{ids.BLOCK_HOME_PIPELINE}.actions"
        for e in b["elements"]
    ]
    action = {"action_id": button["action_id"], "block_id": "b", "value": button["value"]}
    body = payloads.view_block_actions_body(
        user_id="U0LEX", user_team_id=SELLER_TEAM, team_id=SELLER_TEAM, view=home, action=action
    )
    assert h.signed(body).status == 200
    h.settle()
    (shared,) = h.local.files.shared("DU0LEX")
    assert shared.data is not None and b"Lex deal" in shared.data
    home = h.local.home_view("U0LEX")
    assert home is not None and "CSV file in a DM" in json.dumps(home)
