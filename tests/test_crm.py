"""CRM sync against loopback fakes of HubSpot's and Salesforce's REST APIs,
through the real app: link, push on change, pull of a moved close date, bad
credentials told to the seller in Slack, a rate limit honoured — for both."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from reminders.crm import adapter, fields
from reminders.crm.pull import pull
from reminders.delivery import refreshes
from reminders.tick import tick
from storage import secret_box
from storage.db import Database
from storage.models import CrmConnection, CrmLink, Outbox, Plan
from tests.fakes.http import FakeService, self_signed, serving
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
HS_DEAL = "9876543210"
SF_OPP = "006Dn00000A1b2cIAB"
CLOSE = date(2027, 3, 12)


@dataclass
class Crm:
    vendor: str
    fake: FakeService
    deal_ref: str  # what a seller pastes
    object_id: str

    def pushed(self) -> dict[str, str]:
        """The deal's MAP fields as the CRM holds them now."""
        if isinstance(self.fake, FakeHubSpot):
            return dict(self.fake.deals[self.object_id].properties)
        assert isinstance(self.fake, FakeSalesforce)
        return dict(self.fake.records[self.object_id].fields)

    def move_close_date(self, day: date) -> None:
        if isinstance(self.fake, FakeHubSpot):
            self.fake.deals[self.object_id].closedate = day
        else:
            assert isinstance(self.fake, FakeSalesforce)
            self.fake.records[self.object_id].close_date = day

    def writes(self) -> list[Any]:
        return [c for c in self.fake.calls if c.method == "PATCH"]

    def field(self, ours: str) -> str:
        return fields.DEFAULTS[self.vendor][ours]  # type: ignore[index]


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secret_box.ENV, Fernet.generate_key().decode())


@pytest.fixture(params=["hubspot", "salesforce"])
def crm(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Crm]:
    if request.param == "hubspot":
        hs = FakeHubSpot(TOKEN, set(fields.DEFAULTS["hubspot"].values()))
        hs.add_deal(HS_DEAL, "Monsters Inc — rollout", CLOSE)
        with serving(hs) as url:
            monkeypatch.setenv("HUBSPOT_API_URL", url)
            yield Crm(
                "hubspot", hs, f"https://app.hubspot.com/contacts/123/record/0-3/{HS_DEAL}", HS_DEAL
            )
        return
    sf = FakeSalesforce(TOKEN, set(fields.DEFAULTS["salesforce"].values()))
    sf.add_opportunity(SF_OPP, "Monsters Inc — rollout", CLOSE)
    tls = self_signed(tmp_path)
    with serving(sf, tls) as url:
        monkeypatch.setenv("SALESFORCE_INSTANCE_URL", url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))  # trust it as a real CA
        ref = f"<https://acme.lightning.force.com/lightning/r/Opportunity/{SF_OPP}/view>"
        yield Crm("salesforce", sf, ref, SF_OPP)


def say(h: Harness, text: str, **who: str) -> str:
    """What the person who typed `/map <text>` is told."""
    resp = h.command(text, **who)
    assert resp.status == 200, resp.body
    return json.dumps(resp.json(), ensure_ascii=False)


def _plan(h: Harness) -> None:
    assert h.command("create Monsters rollout go-live 2027-03-05").status == 200
    h.command("add Security questionnaire owner buyer due 2027-02-01")
    h.command("add Send order form owner seller due 2027-02-10")
    h.command("add Pricing notes internal")
    h.settle()


def _linked(h: Harness, crm: Crm) -> None:
    _plan(h)
    reply = say(h, f"crm connect {crm.vendor} {TOKEN}")
    assert "connected" in reply, reply
    assert TOKEN not in reply
    reply = say(h, f"crm link {crm.deal_ref}")
    assert crm.object_id in reply, reply
    h.settle()


def test_link_pushes_what_the_plan_says(h: Harness, crm: Crm) -> None:
    _linked(h, crm)
    got = crm.pushed()
    assert got[crm.field("progress")] == "0"
    assert got[crm.field("next_buyer_step")] == "#1 Security questionnaire (due 2027-02-01)"
    assert got[crm.field("milestone")]
    assert got[crm.field("plan_link")].startswith("https://")
    # Health in words, from the same rules as the card; no completed task: no forecast yet.
    assert got[crm.field("health")].split(":")[0] in ("On track", "At risk", "Stalled")
    assert got[crm.field("forecast")] == ""
    # Completing the buyer task moves progress and the next buyer step.
    h.command("done #1")
    h.settle()
    got = crm.pushed()
    assert got[crm.field("progress")] == "33"
    assert got[crm.field("next_buyer_step")] == ""
    assert "Pricing notes" not in json.dumps(got)  # an internal task is no buyer step


def test_an_unchanged_plan_is_not_pushed_again_and_marks_coalesce(
    h: Harness, crm: Crm, db: Database
) -> None:
    _linked(h, crm)
    before = len(crm.writes())
    h.command("rename #3 Pricing notes v2")  # internal: nothing the deal shows changes
    h.settle()
    assert len(crm.writes()) == before
    with db.read() as s:  # many changes, one row: the push coalesces
        rows = s.scalars(select(Outbox).where(Outbox.kind == refreshes.CRM)).all()
    assert len(rows) == 1


def test_a_moved_close_date_moves_go_live_once(h: Harness, crm: Crm, db: Database) -> None:
    _linked(h, crm)
    at = datetime.now(UTC)
    assert pull(db, at) == 0  # the first pull records the CRM's date, moves nothing
    with db.read() as s:
        assert s.scalars(select(Plan)).one().target_date == date(2027, 3, 5)
    crm.move_close_date(date(2027, 4, 2))
    assert pull(db, at + timedelta(minutes=1)) == 0  # not due yet: pulls are paced
    assert pull(db, at + timedelta(minutes=16)) == 1
    with db.read() as s:
        assert s.scalars(select(Plan)).one().target_date == date(2027, 4, 2)
    tick(db, at + timedelta(minutes=16), h.bot.deps.workspaces.client_for)
    summaries = [m for m in h.local.messages(CHANNEL) if "moved the target go-live" in m.text]
    assert len(summaries) == 1 and "close date" in summaries[0].text
    assert pull(db, at + timedelta(minutes=32)) == 0  # the same date again moves nothing
    tick(db, at + timedelta(minutes=32), h.bot.deps.workspaces.client_for)
    assert len([m for m in h.local.messages(CHANNEL) if "moved the target" in m.text]) == 1


def test_bad_credentials_stop_sync_and_tell_the_seller(
    h: Harness, crm: Crm, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _plan(h)
    wrong = "pat-na1-00000000-dead-beef-0000-000000000000"
    h.command(f"crm connect {crm.vendor} {wrong}")
    h.command(f"crm link {crm.deal_ref}")
    h.settle()
    with db.read() as s:
        conn = s.scalars(select(CrmConnection)).one()
        assert conn.broken and "refused the token" in conn.broken
        assert wrong not in conn.sealed_token  # sealed, not stored in clear
    tick(db, datetime.now(UTC), h.bot.deps.workspaces.client_for)
    dm = [m.text for m in h.local.messages(h.local.dm_channel("U0LEX"))]
    assert any("CRM sync stopped" in t for t in dm), dm
    calls = len(crm.fake.calls)
    h.command("done #1")  # no more calls with a refused token
    h.settle()
    assert len(crm.fake.calls) == calls
    assert not any(wrong in r.getMessage() for r in caplog.records)
    assert "Sync stopped" in say(h, "crm")
    # A good token resumes sync.
    h.command(f"crm connect {crm.vendor} {TOKEN}")
    h.settle()
    assert crm.pushed()[crm.field("progress")] == "33"


def test_a_rate_limit_is_honoured(h: Harness, crm: Crm, db: Database) -> None:
    _linked(h, crm)
    if crm.vendor == "hubspot":
        body = {"status": "error", "message": "secondly limit", "errorType": "RATE_LIMIT"}
        crm.fake.fail_next(429, body, {"Retry-After": "2"})
    else:
        body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        crm.fake.fail_next(403, body, {"Retry-After": "2"})
    h.command("done #1")
    deadline = time.monotonic() + 10
    while len(crm.writes()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    refused, retried = crm.writes()[-2:]
    assert refused.status in (429, 403) and retried.status in (200, 204)
    h.settle()
    assert crm.pushed()[crm.field("progress")] == "33"
    # Nothing went to the CRM while it said to wait.
    stamps = [c for c in crm.fake.calls]
    i = stamps.index(refused)
    assert stamps[i + 1] is retried
    with db.read() as s:
        assert s.get(CrmLink, s.scalars(select(Plan.id)).one()).error is None


def test_a_field_the_crm_lacks_is_told_to_whoever_linked(
    h: Harness, crm: Crm, db: Database
) -> None:
    _plan(h)
    h.command(f"crm connect {crm.vendor} {TOKEN}")
    assert "Nope__c" in say(h, "crm fields health=Nope__c")
    h.command(f"crm link {crm.deal_ref}")
    h.settle()
    with db.read() as s:
        assert s.scalars(select(CrmLink)).one().error
    tick(db, datetime.now(UTC), h.bot.deps.workspaces.client_for)
    dm = [m.text for m in h.local.messages(h.local.dm_channel("U0LEX"))]
    assert any("rejected the update" in t for t in dm), dm
    # Leaving that field out fixes it.
    h.command("crm fields health=-")
    h.command("crm link " + crm.deal_ref)
    h.settle()
    assert crm.field("health") not in crm.pushed()
    assert crm.pushed()[crm.field("progress")] == "0"


@pytest.mark.parametrize("who", [("U0GUEST", SELLER_TEAM), ("W0MIKE", BUYER_TEAM)])
def test_only_sellers_touch_the_crm(h: Harness, db: Database, who: tuple[str, str]) -> None:
    _plan(h)
    h.command(f"crm connect hubspot {TOKEN}")
    user, team = who
    for text in (f"crm connect hubspot {TOKEN}2", "crm link 42", "crm fields health=-", "crm"):
        reply = say(h, text, user=user, team=team)
        assert "Only the seller team" in reply or "isn't" in reply, reply
    with db.read() as s:
        assert s.scalars(select(CrmLink)).all() == []
        conn = s.scalars(select(CrmConnection)).one()
        assert conn.added_by == "U0LEX" and conn.fields == "{}"


def test_no_secret_key_means_no_token_stored(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(secret_box.ENV)
    _plan(h)
    reply = say(h, f"crm connect hubspot {TOKEN}")
    assert "MAPBOT_SECRET_KEY" in reply
    with db.read() as s:
        assert s.scalars(select(CrmConnection)).all() == []


# --- pure parts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "text", "want"),
    [
        ("hubspot", "9876543210", "9876543210"),
        ("hubspot", "<https://app.hubspot.com/contacts/123/deal/55/>", "55"),
        ("hubspot", "https://app.hubspot.com/contacts/123/record/0-3/77?tab=x", "77"),
        ("hubspot", "https://app.hubspot.com/contacts/123/record/0-1/77", None),  # a contact
        ("hubspot", "12ab", None),
        ("salesforce", "006Dn00000A1b2cIAB", "006Dn00000A1b2cIAB"),
        (
            "salesforce",
            "https://x.lightning.force.com/lightning/r/Opportunity/006Dn00000A1b2c/view",
            "006Dn00000A1b2c",
        ),
        ("salesforce", "001Dn00000A1b2cIAB", None),  # an account
    ],
)
def test_deal_references(vendor: adapter.Vendor, text: str, want: str | None) -> None:
    assert adapter.deal_ref(vendor, text) == want


def test_field_assignments() -> None:
    assert fields.parse_assignments(["health=Deal_Health__c", "forecast=-"]) == {
        "health": "Deal_Health__c",
        "forecast": "-",
    }
    for bad in (["colour=x"], ["health"], ["health=no spaces!"], ["health=1abc"]):
        with pytest.raises(ValueError):
            fields.parse_assignments(bad)


def test_secrets_rotate(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(secret_box.ENV, old)
    sealed = secret_box.seal("tok")
    monkeypatch.setenv(secret_box.ENV, f"{new},{old}")
    assert secret_box.open_sealed(sealed) == "tok"
    monkeypatch.setenv(secret_box.ENV, new)
    with pytest.raises(secret_box.SecretKeyError):
        secret_box.open_sealed(sealed)
    monkeypatch.setenv(secret_box.ENV, "not-a-key")
    with pytest.raises(secret_box.SecretKeyError):
        secret_box.seal("tok")


def test_what_a_crm_says_is_escaped_before_slack_shows_it(h: Harness, db: Database) -> None:
    hs = FakeHubSpot(TOKEN, set(fields.DEFAULTS["hubspot"].values()))
    hs.add_deal(HS_DEAL, "deal", CLOSE)
    with serving(hs) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUBSPOT_API_URL", url)
        _plan(h)
        say(h, f"crm connect hubspot {TOKEN}")
        body = {"status": "error", "message": "<!channel> scopes <https://evil.example|here>"}
        hs.fail_next(403, body)
        say(h, f"crm link {HS_DEAL}")
        h.settle()
        shown = say(h, "crm")
    assert "Sync stopped" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "<https://evil" not in shown


def test_a_change_of_health_found_by_the_tick_is_pushed(h: Harness, crm: Crm, db: Database) -> None:
    """The health pass records a change without the activity writer: the deal must
    still hear of it."""
    from sqlalchemy import update

    from reminders import health_pass
    from storage.models import Activity, Task

    _linked(h, crm)
    assert crm.pushed()[crm.field("health")].startswith("On track")
    now = datetime.now(UTC)
    with db.write() as s:  # the buyer's task three weeks late, and nothing since
        s.execute(update(Task).where(Task.number == 1).values(due_date=now.date() - timedelta(21)))
        for row in s.scalars(select(Activity)):
            row.at -= timedelta(days=30)
    assert health_pass.run(db, now) == 1
    h.bot.deps.refresher.wake()
    h.settle()
    assert not crm.pushed()[crm.field("health")].startswith("On track")
