"""`/map export csv|json`: the plan as a file, uploaded by DM to whoever asked,
through the outbox and the stand-in's files_upload_v2 — internal tasks for the
seller side only, formula cells neutralised, the JSON of a versioned shape."""

from __future__ import annotations

import csv
import io
import json

from reminders.delivery import refreshes
from storage import plan_export
from storage.db import Database
from tests.harness import BUYER_TEAM, SELLER_TEAM, Harness


def say(h: Harness, text: str, **who: str) -> str:
    resp = h.command(text, **who)
    assert resp.status == 200, resp.body
    return json.dumps(resp.json(), ensure_ascii=False)


def _plan(h: Harness) -> None:
    assert "Created" in say(h, "create Monsters rollout go-live 2027-03-05")
    say(h, "add Security questionnaire owner buyer due 2027-02-01")
    assert "#2" in say(h, "add =HYPERLINK(evil) owner seller")
    say(h, "add Pricing floor notes internal")
    h.settle()


def _file(h: Harness, user: str) -> bytes:
    (shared,) = h.local.files.shared(h.local.dm_channel(user))
    assert shared.data is not None
    return shared.data


def test_a_seller_gets_every_task_as_csv_formulas_neutralised(h: Harness) -> None:
    _plan(h)
    assert "CSV file in a DM" in say(h, "export csv")
    h.settle()
    rows = list(csv.reader(io.StringIO(_file(h, "U0LEX").decode("utf-8-sig"))))
    assert rows[0] == list(plan_export.COLUMNS)
    titles = [r[2] for r in rows[1:]]
    assert "Pricing floor notes" in titles  # the seller's own export has internal tasks
    assert any(t.startswith("'=") for t in titles), titles  # never runs as a formula
    assert [c.method for c in h.local.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


def test_a_guest_s_export_holds_no_internal_task(h: Harness) -> None:
    _plan(h)
    h.local.add_user("U0GUEST", team_id=SELLER_TEAM, name="guest", is_restricted=True)
    say(h, "export json", user="U0GUEST")
    h.settle()
    doc = json.loads(_file(h, "U0GUEST"))
    assert doc["schema_version"] == plan_export.SCHEMA_VERSION
    titles = [t["title"] for t in doc["tasks"]]
    assert "Security questionnaire" in titles
    assert "Pricing floor notes" not in titles and all(not t["internal"] for t in doc["tasks"])


def test_a_buyer_outside_the_channel_gets_nothing(h: Harness, db: Database) -> None:
    _plan(h)
    with db.write() as s:  # someone else's deal channel: the buyer is no member of it
        from storage.models import Plan

        plan = s.query(Plan).one()
        from storage import uploads
        from storage.rules import Actor

        outsider = Actor(user_id="W0STRANGER", side="buyer", team_id=SELLER_TEAM)
        h.local.add_user("W0STRANGER", team_id=BUYER_TEAM, name="stranger")
        uploads.request_export(s, outsider, plan, "csv", plan.created_at)
    h.bot.deps.refresher.wake()
    h.settle()
    assert h.local.files.shared(h.local.dm_channel("W0STRANGER")) == []
    with db.read() as s:
        from sqlalchemy import select

        from storage.models import Outbox

        rows = s.scalars(select(Outbox).where(Outbox.kind == refreshes.EXPORT)).all()
        assert rows and all(r.state != "pending" for r in rows)


def test_an_unknown_format_says_how(h: Harness) -> None:
    _plan(h)
    reply = say(h, "export pdf")
    assert "export csv" in reply and "export json" in reply
