"""An upload (the timeline picture, a CSV, an export) is shared once, whatever
happens while it is in flight. A file share carries no metadata, so the sender
keeps the file's id on the row before sharing it (reminders.delivery.upload.share),
and a retry looks for the share's message in the conversation first — as the
stand-in leaves it, like Slack — instead of sharing again blindly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError

from reminders.delivery import outbox as delivery
from reminders.delivery import refreshes
from reminders.delivery.outbox import Claimed, LookupPending
from reminders.delivery.upload import send_timeline
from storage import clock, uploads
from storage.db import Database
from storage.models import Outbox, Plan
from tests.test_delivery_recovery import CHANNEL, _client, _plan_with_card, _slack


def _claim(db: Database, at_offset: float) -> Claimed:
    at = clock.wall() + timedelta(seconds=at_offset)
    (item,) = [
        i
        for i in delivery.claim(db, "test", at, messages=False, refreshes=True)
        if i.kind == refreshes.TIMELINE
    ]
    return item


def _ask_timeline(db: Database, plan_id: int) -> None:
    with db.write() as s:
        uploads.request_timeline(s, s.get_one(Plan, plan_id), clock.wall())


def _row(db: Database) -> Outbox:
    with db.read() as s:
        (row,) = s.query(Outbox).filter(Outbox.kind == refreshes.TIMELINE).all()
        return row


def test_a_share_whose_answer_never_came_is_found_not_shared_twice(db: Database) -> None:
    with _slack() as local:
        plan_id, _card = _plan_with_card(db, local)
        _ask_timeline(db, plan_id)
        item = _claim(db, 1)
        # Slack shares the file at once; its answer comes after the client gave up.
        local.hold_answer_next("files.completeUploadExternal", 3)
        with pytest.raises((OSError, TimeoutError)):
            send_timeline(db, _client(local, timeout=1), item)
        assert len(local.files.shared(CHANNEL)) == 1
        assert _row(db).posting_file, "which file was being shared is kept"
        # The lease runs out; whoever takes the row over looks before sharing.
        again = _claim(db, delivery.lease_seconds() + 5)
        shared_id = local.files.shared(CHANNEL)[0].id
        assert again.posting_since is not None and again.posting_file == shared_id
        send_timeline(db, _client(local), again)
        assert len(local.files.shared(CHANNEL)) == 1, "found in the channel: not shared twice"
        assert len(local.calls_to("files.getUploadURLExternal")) == 1
        assert len(local.calls_to("conversations.history")) == 1
        row = _row(db)
        assert row.posting_since is None and row.posting_file is None


def test_a_share_slack_never_carried_out_is_shared_after_the_lookup(db: Database) -> None:
    with _slack() as local:
        plan_id, _card = _plan_with_card(db, local)
        _ask_timeline(db, plan_id)
        item = _claim(db, 1)
        local.fail_next("files.completeUploadExternal", status=500)  # a 5xx: fate unknown
        with pytest.raises(SlackApiError):
            send_timeline(db, _client(local), item)
        assert local.files.shared(CHANNEL) == []
        # A 429 on the lookup: nothing is shared while Slack cannot say.
        local.fail_next("conversations.history", status=429, retry_after=30)
        again = _claim(db, delivery.lease_seconds() + 5)
        with pytest.raises(LookupPending) as waited:
            send_timeline(db, _client(local), again)
        assert waited.value.retry_after == 30
        assert local.files.shared(CHANNEL) == []
        # Looked up through without it: shared now, once.
        local.advance_rate_clock(61)
        third = _claim(db, 2 * delivery.lease_seconds() + 10)
        send_timeline(db, _client(local), third)
        assert len(local.files.shared(CHANNEL)) == 1
        assert len(local.calls_to("files.getUploadURLExternal")) == 2, "a fresh upload"
        (share,) = [m for m in local.messages(CHANNEL) if m.files]
        assert share.files[0]["id"] == local.files.shared(CHANNEL)[0].id
