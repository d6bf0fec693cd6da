"""The bulk forms (storage.bulk) answer as the plain ones do, on both databases:
`among` as `IN` (an empty list matches nothing), and the outbox's bulk insert
leaves a key already queued alone, counts only the new rows, and keeps two equal
keys in one batch to one row."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from reminders.delivery import enqueue
from reminders.delivery.outgoing import Outgoing
from storage import bulk, services
from storage.db import Database
from storage.models import Outbox, Plan
from storage.rules import Actor

LEX = Actor("U0LEX", "seller", "T0LEXCORP")
AT = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
DAY = date(2026, 12, 7)


def _digest(plan: int, text: str = "digest") -> Outgoing:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return Outgoing("digest.plan_weekly", "T0LEXCORP", "C0DEAL", f"plan:{plan}", DAY, text, blocks)


def test_among_matches_what_in_matches(db: Database) -> None:
    with db.write() as s:
        made = [services.create_plan(s, LEX, f"C0{i}", f"Deal {i}").id for i in range(4)]
    with db.read() as s:
        wanted = [made[0], made[2], 999_999]
        found = s.scalars(select(Plan.id).where(bulk.among(s, Plan.id, wanted))).all()
        assert sorted(found) == [made[0], made[2]]
        assert s.scalars(select(Plan.id).where(bulk.among(s, Plan.id, []))).all() == []
        names = s.scalars(select(Plan.title).where(bulk.among(s, Plan.channel_id, {"C01"}))).all()
        assert names == ["Deal 1"]


def test_the_bulk_insert_queues_each_key_once(db: Database) -> None:
    with db.write() as s:
        assert enqueue(s, [_digest(1)], AT) == 1
    with db.write() as s:
        # Plan 1's key is queued already; plan 2's comes twice in one batch.
        queued = enqueue(s, [_digest(1, "again"), _digest(2), _digest(2, "twice"), _digest(3)], AT)
    assert queued == 2
    with db.read() as s:
        rows = {r.subject: r for r in s.scalars(select(Outbox))}
        assert s.scalar(select(func.count()).select_from(Outbox)) == 3
    assert rows["plan:1"].text == "digest", "a key already queued is left alone"
    third = rows["plan:3"]
    assert (third.state, third.attempts, third.local_date, third.generation) == (
        "pending",
        0,
        DAY,
        0,
    )
    assert '"mrkdwn"' in third.blocks and third.thread_of_plan is None


def test_a_batch_of_thousands_queues_each_key_once(db: Database) -> None:
    """On PostgreSQL a batch this large goes by COPY (bulk.copy_insert), on SQLite
    in chunks: the same answers as a small batch, twice in one transaction too."""
    many = bulk.COPY_AT_LEAST + 200
    with db.write() as s:
        assert enqueue(s, [_digest(1)], AT) == 1
    with db.write() as s:
        # Plan 1 already queued, plan 2 twice in the batch, then plans 3 … many.
        batch = [_digest(1, "again"), _digest(2), _digest(2, "twice")]
        batch += [_digest(p, f'digest {p} ✓ "quoted"\ttab') for p in range(3, many)]
        assert enqueue(s, batch, AT) == many - 2
        # A second large batch in the same transaction: only its new keys count.
        assert enqueue(s, [_digest(p) for p in range(many - 10, many + 1500)], AT) == 1500
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)) == many + 1499
        rows = {
            r.subject: r
            for r in s.scalars(
                select(Outbox).where(Outbox.subject.in_(["plan:1", "plan:2", "plan:7"]))
            )
        }
    assert rows["plan:1"].text == "digest", "a key already queued is left alone"
    seventh = rows["plan:7"]
    assert seventh.text == 'digest 7 ✓ "quoted"\ttab', "text as it was, through COPY"
    assert json.loads(seventh.blocks)[0]["text"]["text"] == seventh.text
    assert (seventh.state, seventh.attempts, seventh.local_date, seventh.next_attempt_at) == (
        "pending",
        0,
        DAY,
        AT if db.engine.dialect.name == "postgresql" else AT.replace(tzinfo=None),
    )
