"""/healthz and /metrics through the real app over HTTP: health fails when the
database does not answer, the outbox backlog is read from the database, and
requests, deliveries and Slack's 429s are counted."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from urllib.parse import urlencode

from prometheus_client.parser import text_string_to_metric_families

from bot import logs, observability
from bot.app import web_client
from bot.config import Settings
from reminders import delivery
from reminders.delivery.outgoing import Outgoing
from storage.db import Database
from tests.conftest import FixedClock
from tests.harness import CHANNEL, SELLER_TEAM, TOKEN, Harness, serve_wsgi

Values = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _metrics(h: Harness) -> Values:
    resp = h.get("/metrics")
    assert resp.status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(resp.body)
        for sample in family.samples
    }


def _requests(values: Values, kind: str, outcome: str) -> float:
    key = ("mapbot_slack_requests_seconds_count", (("kind", kind), ("outcome", outcome)))
    return values.get(key, 0.0)


def _kind_total(values: Values, kind: str) -> float:
    return sum(
        v
        for (name, labels), v in values.items()
        if name == "mapbot_slack_requests_seconds_count" and ("kind", kind) in labels
    )


def _queue(db: Database, at: FixedClock, *ages_minutes: int) -> None:
    for n, minutes in enumerate(ages_minutes):
        with db.write() as s:
            # Overdue nudges: a weekly digest would queue its timeline picture after it.
            item = Outgoing(
                "nudge.overdue",
                SELLER_TEAM,
                CHANNEL,
                f"task:{n}",
                at.at.date(),
                "This week on the deal",
            )
            delivery.enqueue(s, [item], at.at - timedelta(minutes=minutes))


def test_health_reports_the_database_and_the_outbox_backlog(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    resp = h.get("/healthz")
    assert resp.status == 200
    assert resp.json() == {
        "status": "ok",
        "database": "ok",
        "outbox": {"backlog": 0, "oldest_pending_seconds": None},
    }
    _queue(db, fixed_clock, 10, 1)
    outbox = h.get("/healthz").json()["outbox"]
    assert outbox == {"backlog": 2, "oldest_pending_seconds": 600.0}
    metrics = _metrics(h)
    assert metrics[("mapbot_outbox_backlog", ())] == 2
    assert metrics[("mapbot_outbox_oldest_pending_seconds", ())] == 600
    assert metrics[("mapbot_database_up", ())] == 1

    # Delivered: no longer a backlog, and counted by result.
    sent_before = metrics.get(("mapbot_outbox_deliveries_total", (("result", "sent"),)), 0.0)
    result = delivery.deliver(db, h.bot.deps.workspaces.client_for, "w1", pace=0, now=fixed_clock)
    assert result.sent == 2
    assert h.get("/healthz").json()["outbox"] == {"backlog": 0, "oldest_pending_seconds": None}
    metrics = _metrics(h)
    assert metrics[("mapbot_outbox_deliveries_total", (("result", "sent"),))] == sent_before + 2
    assert metrics[("mapbot_outbox_backlog", ())] == 0


def test_health_is_503_when_the_database_does_not_answer() -> None:
    down = Database("postgresql+psycopg://mapbot:secret@127.0.0.1:1/mapbot?connect_timeout=2")
    try:
        with serve_wsgi(observability.endpoints(down)) as port:
            probe = Harness(None, None, port)  # type: ignore[arg-type]
            resp = probe.get("/healthz")
            assert resp.status == 503
            assert resp.json() == {"status": "unavailable", "database": "error: OperationalError"}
            assert "secret" not in resp.body and "127.0.0.1" not in resp.body
            metrics = probe.get("/metrics")
            assert metrics.status == 200 and "mapbot_database_up 0.0" in metrics.body
            assert probe.get("/slack/events").status == 404
    finally:
        down.dispose()


def test_requests_are_counted_by_kind_and_outcome(h: Harness) -> None:
    before = _metrics(h)
    assert h.command("help").status == 200
    assert (
        h.post(
            "command=%2Fmap&text=help", {"Content-Type": "application/x-www-form-urlencoded"}
        ).status
        == 401
    )
    # A signed payload of a type nobody sends: counted, under a fixed label.
    crafted = urlencode({"payload": json.dumps({"type": "x" * 300, "user": {"id": "U0LEX"}})})
    h.signed(crafted)
    after = _metrics(h)
    assert _requests(after, "command", "ok") == _requests(before, "command", "ok") + 1
    assert (
        _requests(after, "unverified", "refused") == _requests(before, "unverified", "refused") + 1
    )
    # The guard refuses it (an unknown payload type): counted as malformed, unread.
    assert _kind_total(after, "malformed") == _kind_total(before, "malformed") + 1
    kinds = {dict(labels).get("kind") for name, labels in after if name.startswith("mapbot_slack")}
    assert not [k for k in kinds if k and k.startswith("xxx")]


def test_slack_429s_are_counted_and_still_retried(h: Harness) -> None:
    before = _metrics(h).get(
        ("mapbot_slack_rate_limited_total", (("method", "chat.postMessage"),)), 0.0
    )
    settings = Settings(bot_token=TOKEN, slack_api_url=h.local.base_url)
    h.local.fail_next("chat.postMessage", status=429, retry_after=1)
    sent = web_client(settings).chat_postMessage(channel=CHANNEL, text="hello")
    assert sent["ok"] is True  # the counter took nothing from the retry after it
    assert [c.status for c in h.local.calls_to("chat.postMessage")] == [429, 200]
    after = _metrics(h)[("mapbot_slack_rate_limited_total", (("method", "chat.postMessage"),))]
    assert after == before + 1


def test_json_log_lines_carry_the_traceback() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    try:
        logs.configure("INFO", "json", stream=out)
        logging.getLogger("alembic.runtime.migration").info("Running upgrade 0001 -> 0002")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("bot.test").exception("it broke: %s", "badly")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 1  # the library's INFO line was dropped
    (line,) = lines
    assert (line["level"], line["logger"], line["message"]) == (
        "ERROR",
        "bot.test",
        "it broke: badly",
    )
    assert "Traceback" in line["exc_info"] and "RuntimeError: boom" in line["exc_info"]
    assert line["time"].endswith("+00:00")
