"""The timeline picture: a valid PNG of the expected size, buyer-safe (no internal
task shapes or names anything in it), uploaded through the stand-in's files methods
on `/map timeline` and after the weekly digest."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

import pytest
from matplotlib.text import Text

from bot.render.timeline_png import (
    Bar,
    ForecastRange,
    Timeline,
    alt_text,
    draw,
    render_png,
    timeline_of,
)
from reminders import delivery
from reminders.delivery.outgoing import Outgoing
from reminders.delivery.upload import plan_timeline
from storage import services
from storage.db import Database
from storage.models import Plan
from storage.readmodel import plan_view
from storage.rules import Actor
from tests.harness import CHANNEL, SELLER_TEAM, Harness

LEX = Actor("U0LEX", "seller", SELLER_TEAM)
SECRET = "Approve 40% discount"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's signature and IHDR chunk (RFC 2083)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def twelve_milestones() -> Timeline:
    start = date(2026, 1, 5)
    bars = tuple(
        Bar(f"Milestone {i}", start + timedelta(7 * i), start + timedelta(7 * i + 7), s)
        for i, s in enumerate(["completed"] * 4 + ["in_progress"] * 2 + ["not_started"] * 6)
    )
    forecast = ForecastRange(date(2026, 3, 30), date(2026, 4, 8), date(2026, 4, 24))
    return Timeline("Acme rollout", bars, date(2026, 2, 10), date(2026, 4, 1), forecast)


def test_a_twelve_milestone_timeline_is_a_png_of_its_size() -> None:
    t = twelve_milestones()
    data = render_png(t)
    assert png_size(data) == t.size == (1200, 170 + 44 * 12)
    assert data.rstrip(b"\x00")[-8:-4] == b"IEND", "a complete PNG"


def test_the_picture_says_its_milestones_target_today_and_forecast() -> None:
    texts = {a.get_text() for a in draw(twelve_milestones()).findobj(Text)}
    assert {f"Milestone {i}" for i in range(12)} <= texts
    assert {"Target", "Today", "Forecast", "Forecast P10–P90", "Completed"} <= texts
    alt = alt_text(twelve_milestones())
    assert "4 of 12 milestones completed" in alt and "Forecast go-live Apr 08" in alt
    assert len(alt) <= 1000


def _plan_with_secret(db: Database, *, secret: bool) -> int:
    with db.write() as s:
        plan = services.create_plan(
            s, LEX, CHANNEL, "Monsters rollout", target_date=date(2027, 3, 1)
        )
        legal = services.add_milestone(s, LEX, plan, "Legal review")
        services.add_task(s, LEX, plan, "Send DPA", milestone=legal, due=date(2027, 1, 10))
        if secret:  # internal, and due long after everything the buyer sees
            services.add_task(
                s, LEX, plan, SECRET, milestone=legal, due=date(2027, 6, 30), internal=True
            )
        return plan.id


def test_internal_tasks_shape_nothing_in_the_picture(db: Database) -> None:
    plan_id = _plan_with_secret(db, secret=True)
    with_secret = plan_timeline(db, plan_id, SELLER_TEAM)
    assert with_secret is not None
    texts = " ".join(a.get_text() for a in draw(with_secret).findobj(Text))
    assert SECRET not in texts and SECRET not in alt_text(with_secret)
    assert SECRET.encode() not in render_png(with_secret)
    # The milestone ends where the buyer's last task does, not at the internal one.
    (bar,) = [b for b in with_secret.bars if b.title == "Legal review"]
    assert bar.end == date(2027, 1, 10)


def test_the_picture_is_drawn_from_a_buyer_view_only(db: Database) -> None:
    plan_id = _plan_with_secret(db, secret=True)
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        seller_view = plan_view(s, plan, "seller")
    with pytest.raises(ValueError):
        timeline_of(seller_view, date(2026, 12, 1), date(2026, 11, 1), None)


def _shared_png(h: Harness) -> tuple[bytes, str]:
    (shared,) = h.local.files.shared(CHANNEL)
    assert shared.data is not None
    return shared.data, shared.alt_txt


def test_map_timeline_uploads_the_png_into_the_channel(h: Harness, db: Database) -> None:
    _plan_with_secret(db, secret=True)
    resp = h.command("timeline")
    assert resp.status == 200 and "Drawing the timeline" in resp.body
    h.settle()
    methods = [c.method for c in h.local.calls if c.method.startswith("files.")]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    data, alt = _shared_png(h)
    assert png_size(data)[0] == 1200 and alt.startswith("Timeline of Monsters rollout")
    assert SECRET not in alt


def test_no_plan_no_timeline(h: Harness) -> None:
    resp = h.command("timeline")
    assert "no action plan" in resp.body
    h.settle()
    assert h.local.files.shared() == []


def test_the_weekly_digest_carries_the_timeline(h: Harness, db: Database) -> None:
    plan_id = _plan_with_secret(db, secret=False)
    h.settle()
    at = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    digest = Outgoing(
        "digest.plan_weekly", SELLER_TEAM, CHANNEL, f"plan:{plan_id}", at.date(), "Weekly digest"
    )
    with db.write() as s:
        delivery.enqueue(s, [digest], at)
    sent = delivery.deliver(db, h.bot.deps.workspaces.client_for, "test", now=lambda: at)
    assert sent.sent == 1
    h.settle()
    data, _alt = _shared_png(h)
    assert png_size(data)[0] == 1200
    completes = h.local.calls_to("files.completeUploadExternal")
    posts = [
        c for c in h.local.calls_to("chat.postMessage") if c.params.get("text") == "Weekly digest"
    ]
    assert posts and posts[0].at <= completes[0].at, "the picture comes after the digest"


def test_an_install_without_files_write_fails_once_and_says_so(h: Harness, db: Database) -> None:
    """Workspaces installed before the app asked for files:write: Slack answers
    missing_scope; the upload is given up (not retried for ever) until re-installed."""
    from sqlalchemy import select

    from bot.oauth import BOT_SCOPES
    from storage.models import Outbox
    from tests.harness import TOKEN

    h.local.grant(TOKEN, [s for s in BOT_SCOPES if s != "files:write"])
    _plan_with_secret(db, secret=False)
    h.command("timeline")
    h.settle()
    assert h.local.files.shared() == []
    with db.read() as s:
        state, error = s.execute(
            select(Outbox.state, Outbox.error).where(Outbox.kind == "upload.timeline")
        ).one()
    assert (state, error) == ("failed", "missing_scope")
