"""After a crash or an unanswered send: finding in Slack what it already has.

A row whose send began (`posting_since`) but whose answer was never recorded may
be in Slack. Every message carries its outbox key in its metadata (an upload: its
file's id, kept before the file was shared, in the share's message), so recovery
reads the one place it can be — the thread it went into (`conversations.replies`)
or the channel's top level (`conversations.history`, which never holds thread
replies) — over the time the send could have landed in, paged, with one lookup per
channel or thread for all its rows. Slack allows apps outside the Marketplace one
such request a minute and 15 messages a page, so a lookup may stop half-way: how
far it got is kept (`lookup_mark`) and the next pass goes on from there. A row is
sent again only once its whole window was read without its key.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

METADATA_EVENT = "mapbot_outbox"
PAGE = 15  # Slack's maximum page for apps outside the Marketplace
# Slack's clock and ours differ a little; an answer can come long after the
# client gave up (its timeout is 10 s). A message sent for the row lands in here.
BEFORE = timedelta(seconds=10)
AFTER = timedelta(seconds=120)
# Where the message cannot be (the thread or channel is gone, we were removed):
# nothing to find, and the send will meet the same error and record it.
GONE = {"thread_not_found", "channel_not_found", "not_in_channel", "is_archived"}


@dataclass(frozen=True)
class Suspect:
    """A row whose send began and whose answer was never recorded."""

    id: int
    team_id: str
    recipient: str
    thread_ts: str | None
    posting_since: datetime
    key: str
    lookup_mark: str | None


@dataclass
class Verdict:
    """What one lookup learned about its rows."""

    found: dict[int, str] = field(default_factory=dict)  # row → the ts Slack has
    absent: list[int] = field(default_factory=list)  # read all through: send it
    unknown: list[int] = field(default_factory=list)  # not yet: look again later
    retry_after: float = 0.0
    mark: str | None = None  # how far the interrupted lookup got
    error: str | None = None


def groups(suspects: list[Suspect]) -> dict[tuple[str, str, str | None], list[Suspect]]:
    """One lookup per workspace, conversation and thread."""
    out: dict[tuple[str, str, str | None], list[Suspect]] = defaultdict(list)
    for s in suspects:
        out[(s.team_id, s.recipient, s.thread_ts)].append(s)
    return out


def key_in(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != METADATA_EVENT:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key else None


def file_key(file_id: str) -> str:
    """What an upload is looked up by: a file share carries no metadata, but the
    file's id is known (files.getUploadURLExternal) before it is shared."""
    return f"file:{file_id}"


def keys_in(message: dict[str, Any]) -> list[str]:
    """The keys a message answers to: its outbox key, and the files it shares."""
    keys = [file_key(str(f.get("id"))) for f in message.get("files") or [] if f.get("id")]
    key = key_in(message)
    return [key, *keys] if key else keys


def look_up(
    client: WebClient, recipient: str, thread_ts: str | None, rows: list[Suspect]
) -> Verdict:
    """Read the rows' window of the thread (oldest first) or of the channel's top
    level (newest first) page by page, until every key is found or the window is
    read; stop at the first failure and say how far it got."""
    wanted = {r.key: r.id for r in rows}
    lo = min(r.posting_since for r in rows) - BEFORE
    hi = max(r.posting_since for r in rows) + AFTER
    oldest, latest = f"{lo.timestamp():.6f}", f"{hi.timestamp():.6f}"
    marks = [r.lookup_mark for r in rows]
    # Resume where an interrupted lookup stopped — unless a row joined that has
    # not been read at all, which sends the lookup over the whole window again.
    if all(marks):
        if thread_ts:
            oldest = min(m for m in marks if m)
        else:
            latest = max(m for m in marks if m)
    verdict = Verdict()
    try:
        channel = recipient
        if channel[:1] in ("U", "W"):  # a DM: its conversation id
            channel = str(client.conversations_open(users=channel)["channel"]["id"])
        cursor = ""
        while True:
            params: dict[str, Any] = {
                "channel": channel,
                "oldest": oldest,
                "latest": latest,
                "inclusive": True,
                "limit": PAGE,
                "include_all_metadata": True,
            }
            if cursor:
                params["cursor"] = cursor
            if thread_ts:
                page = client.conversations_replies(ts=thread_ts, **params)
            else:
                page = client.conversations_history(**params)
            messages: list[dict[str, Any]] = page.get("messages") or []
            for m in messages:
                for key in keys_in(m):
                    if key in wanted:
                        verdict.found[wanted.pop(key)] = str(m.get("ts"))
            if messages:
                verdict.mark = str(messages[-1].get("ts"))
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not wanted or not page.get("has_more") or not cursor:
                break
    except SlackApiError as e:
        error = str(e.response.get("error") or f"http_{e.response.status_code}")
        if error not in GONE:
            verdict.error = error
            if e.response.status_code == 429:
                headers = e.response.headers or {}
                verdict.retry_after = float(
                    headers.get("Retry-After", headers.get("retry-after", 60))
                )
            verdict.unknown = list(wanted.values())
            return verdict
    except (OSError, TimeoutError) as e:
        verdict.error = type(e).__name__
        verdict.unknown = list(wanted.values())
        return verdict
    verdict.absent = list(wanted.values())
    return verdict
