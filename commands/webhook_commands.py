"""`/map webhook …` and `/map calendar …`: parsing and carrying out."""

from __future__ import annotations

import os
import re

from bot.text import escape, unescape
from commands import syntax as c
from commands.dates import quote
from commands.template_commands import Refused
from storage import access, calendar_feed, services, webhook_endpoints
from storage.db import Database
from storage.rules import Actor

# Slack sends a typed URL as `<https://…>` or `<https://…|label>` (should_escape).
_LINK = re.compile(r"^<([^<>|]+)(?:\|[^<>]*)?>$")
WEBHOOK_USAGE = (
    "Say `/map webhook add <https url> [internal]`, `webhook list`, "
    "`webhook remove <number>` or `webhook test [<number>]`."
)


def _number(word: str) -> int:
    text = word.lstrip("#")
    if not text.isdigit() or len(text) > 9:
        raise Refused(f"{quote(word[:20])} isn't a webhook number: `/map webhook list` shows them.")
    return int(text)


def parse_webhook(rest: str) -> c.Command:
    words = rest.split()
    if not words:
        return c.WebhookCommand("list")
    head, args = words[0].lower(), words[1:]
    if head == "list" and not args:
        return c.WebhookCommand("list")
    if head == "add" and args and len(args) <= 2:
        flags = [a.lower() for a in args[1:]]
        if flags not in ([], ["internal"]):
            raise Refused(f"After the URL only `internal` may follow, not {quote(args[1][:20])}.")
        link = _LINK.match(args[0])
        url = unescape(link.group(1) if link else args[0])  # Slack sent `&` as `&amp;`
        return c.WebhookCommand("add", url=url, internal=bool(flags))
    if head in ("remove", "delete") and len(args) == 1:
        return c.WebhookCommand("remove", endpoint_id=_number(args[0]))
    if head == "test" and len(args) <= 1:
        return c.WebhookCommand("test", endpoint_id=_number(args[0]) if args else None)
    raise Refused(WEBHOOK_USAGE.replace("<", "&lt;").replace(">", "&gt;"))


def parse_calendar(rest: str) -> c.Command:
    word = rest.strip().lower()
    if word in ("", "reset"):
        return c.CalendarCommand(reset=word == "reset")
    raise Refused("Say `/map calendar` for the feed's address, or `/map calendar reset`.")


def run_webhook(db: Database, actor: Actor, cmd: c.WebhookCommand) -> str:
    if cmd.action == "add":
        endpoint_id, secret = webhook_endpoints.add_endpoint(
            db, actor, cmd.url, internal=cmd.internal
        )
        scope = (
            "every event, internal tasks and seller-only fields included"
            if cmd.internal
            else "events buyers could see (no internal tasks, no seller-only fields)"
        )
        return (
            f"Added webhook {endpoint_id}: `{escape(cmd.url)}` gets {scope} of this "
            "workspace's plans, signed per Standard Webhooks.\n"
            f"Signing secret (shown once, keep it safe): `{secret}`\n"
            f"`/map webhook test {endpoint_id}` sends a test event."
        )
    if cmd.action == "remove":
        assert cmd.endpoint_id is not None
        with db.write() as s:
            url = webhook_endpoints.remove_endpoint(s, actor, cmd.endpoint_id)
        return f"Removed webhook {cmd.endpoint_id} (`{escape(url)}`)."
    if cmd.action == "test":
        with db.write() as s:
            queued = webhook_endpoints.queue_test(s, actor, cmd.endpoint_id)
        if not queued:
            return "There's no working webhook to test. `/map webhook add <url>` adds one."
        return f"Queued a test event to {queued} webhook{'s' if queued != 1 else ''}."
    with db.read() as s:
        endpoints = webhook_endpoints.list_endpoints(s, actor)
    if not endpoints:
        return "No webhooks yet. `/map webhook add &lt;https url&gt; [internal]` adds one."
    lines = ["*Webhooks of this workspace*"]
    for e in endpoints:
        kind = "internal" if e.internal else "buyer-safe"
        state = (
            f":no_entry: disabled: {escape(e.disabled_reason or '')}"
            if e.disabled_at is not None
            else ("ok" if not e.failures else f"{e.failures} failed attempts in a row")
        )
        lines.append(f"{e.id}. `{escape(e.url)}` ({kind}) — {state}")
    return "\n".join(lines)


def public_url() -> str:
    url = os.environ.get("PUBLIC_URL", "").strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise services.Invalid("Calendar feeds need PUBLIC_URL (this server's address) set.")
    return url


def run_calendar(db: Database, actor: Actor, channel_id: str, cmd: c.CalendarCommand) -> str:
    base = public_url()
    with db.write() as s:
        plan = access.plan_in_channel(s, actor, channel_id)
        if plan is None:
            raise services.NotFound("This channel has no action plan yet.")
        secret = calendar_feed.feed_secret(s, actor, plan, reset=cmd.reset)
    url = f"{base}/ical/{secret}.ics"
    first = "New calendar feed (the old address no longer works)" if cmd.reset else "Calendar feed"
    return (
        f"{first}: {url}\n"
        "Subscribe to it in Google Calendar, Outlook or Apple Calendar: milestones, tasks with "
        "due dates and go-live — what buyers see, never an internal task. Anyone with the "
        "address can read it; `/map calendar reset` replaces it."
    )
