"""The calendar feed end to end: `/map calendar` through the real app, the feed
fetched from `GET /ical/<secret>.ics` on the same server and parsed with
`icalendar`; buyer-visible dates only; reset revokes the old address."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from icalendar import Calendar
from sqlalchemy import select

from storage.db import Database
from storage.models import CalendarFeed
from tests.harness import Harness

PUBLIC = "https://mapbot.example.com"


@pytest.fixture(autouse=True)
def feed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MAPBOT_SECRET_KEY", "test-only passphrase long enough to stretch into a key"
    )
    monkeypatch.setenv("PUBLIC_URL", PUBLIC + "/")


def say(h: Harness, text: str, user: str = "U0LEX") -> str:
    resp = h.command(text, user=user)
    assert resp.status == 200, resp.body
    return json.dumps(resp.json(), ensure_ascii=False)


def feed_path(h: Harness, text: str = "calendar") -> str:
    said = say(h, text)
    m = re.search(re.escape(PUBLIC) + r"(/ical/[A-Za-z0-9_-]+\.ics)", said)
    assert m, said
    return m.group(1)


def events(h: Harness, path: str) -> dict[str, date]:
    resp = h.get(path)
    assert resp.status == 200, resp.body
    cal = Calendar.from_ical(resp.body)
    return {str(e["SUMMARY"]): e.decoded("DTSTART") for e in cal.walk("VEVENT")}


def plan(h: Harness) -> None:
    say(h, "create Scare Floor rollout go-live 2027-03-01")
    say(h, "milestone add Security review due 2027-01-15")
    say(h, "add Fill security questionnaire to Security review owner buyer due 2026-12-10")
    say(h, "add Discount approval to Security review internal due 2026-12-11")
    say(h, "add Kickoff call")  # no date: not in the feed


def test_the_feed_has_buyer_visible_dates_and_follows_changes(h: Harness, db: Database) -> None:
    plan(h)
    path = feed_path(h)
    assert feed_path(h) == path, "the same address every time it is asked for"
    got = events(h, path)
    assert got == {
        "Go-live: Scare Floor rollout": date(2027, 3, 1),
        "Milestone: Security review": date(2027, 1, 15),
        "#1 Fill security questionnaire": date(2026, 12, 10),
    }
    assert "Discount approval" not in h.get(path).body
    say(h, "due #1 2026-12-20")
    say(h, "golive 2027-04-01")
    assert events(h, path)["#1 Fill security questionnaire"] == date(2026, 12, 20)
    assert events(h, path)["Go-live: Scare Floor rollout"] == date(2027, 4, 1)


def test_reset_revokes_the_old_address(h: Harness, db: Database) -> None:
    plan(h)
    old = feed_path(h)
    refused = say(h, "calendar reset", user="U0GUEST")
    assert PUBLIC not in refused
    assert h.get(old).status == 200, "a refused reset changes nothing"
    new = feed_path(h, "calendar reset")
    assert new != old
    assert h.get(old).status == 404
    assert h.get(new).status == 200
    assert feed_path(h) == new


def test_only_a_hash_of_the_secret_is_stored(h: Harness, db: Database) -> None:
    plan(h)
    secret = feed_path(h)[len("/ical/") : -len(".ics")]
    with db.read() as s:
        feed = s.scalars(select(CalendarFeed)).one()
        assert secret not in (feed.secret_hash, feed.nonce)
        assert len(feed.secret_hash) == 64


@pytest.mark.parametrize(
    "path",
    [
        "/ical/" + "A" * 43 + ".ics",  # well formed, unknown
        "/ical/short.ics",
        "/ical/../healthz.ics",
        "/ical/",
    ],
)
def test_an_unknown_secret_is_404(h: Harness, db: Database, path: str) -> None:
    plan(h)
    feed_path(h)
    assert h.get(path).status == 404


def test_without_public_url_the_command_says_so(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan(h)
    monkeypatch.delenv("PUBLIC_URL")
    assert "PUBLIC_URL" in say(h, "calendar")
