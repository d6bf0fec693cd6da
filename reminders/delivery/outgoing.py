"""What the reminder rules decide to send, before it becomes an outbox row.

The unique key (kind, recipient, subject, local_date) is what makes delivery
exactly-once: the same nudge worked out twice, by two schedulers or after a
restart, is the same row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

Kind = Literal[
    "nudge.due_soon",
    "nudge.due_today",
    "nudge.overdue",
    "digest.plan_weekly",
    "digest.rep_daily",
    "notice.delivery_failed",
    "post.announcement",
    "post.comment",
    "post.welcome",
    "notice.webhook_disabled",
    "webhook",  # a signed POST to an endpoint (reminders.webhooks.delivery); text is the body
    "notice.crm",  # CRM sync stopped (refused token, missing deal): to the seller
    "notice.golive",  # go-live moved (by the CRM's close date): one summary in the channel
]

# What a request leaves for the channel (bot.listeners never post themselves):
# written with the change, sent at once by the web process's worker (and by any
# tick), looked up after a crash like every message. A welcome is ephemeral.
ANNOUNCEMENT: Kind = "post.announcement"
COMMENT: Kind = "post.comment"
WELCOME: Kind = "post.welcome"
LIVE_KINDS: tuple[Kind, ...] = (ANNOUNCEMENT, COMMENT, WELCOME)


@dataclass(frozen=True)
class Outgoing:
    kind: Kind
    team_id: str  # the workspace whose token sends it
    recipient: str  # a channel id (C…) or a user id (U…/W…) for a DM
    subject: str  # what it is about: "task:42", "plan:7", "rep:U123"
    local_date: date  # the recipient's local date it is for
    text: str  # fallback text (notifications); already escaped
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_of_plan: int | None = None  # post in the thread of this plan's card

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.recipient, self.subject, self.local_date.isoformat())
