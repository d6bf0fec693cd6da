"""Delivery: everything MAP bot sends to Slack after the ack leaves from here.

Listeners and services only *enqueue* — an outbox row written in the same
transaction as the change that caused it. Workers claim rows, send them and
record the result. One outbox, rows told apart by `kind`:

- `outbox`      the outbox itself: enqueue, claim with a lease, the delivery loop
                that sends each claimed row by its kind, retries and failures.
- `outgoing`    what a message row says before it is queued (`Outgoing`) and the
                message kinds (nudges, digests, notices).
- `refreshes`   coalescing rows (one pending row per card, per person's Home),
                rendered from the database when sent; marks and the midnight pass.
- `card`        how a card refresh is sent (update in place, or post anew).
- `home`        how a Home refresh is sent (`views.publish`).
- `recovery`    after a crash or an unanswered send: find in Slack what it already
                has (thread replies vs. top-level history), never resend blindly.
- `pacing`      Slack's per-channel and per-workspace limits, kept in the database
                so every process together stays under them.
- `welcomes`    the ephemeral welcome a newcomer to a deal channel gets (sent once).
- `draft`       a plan drafted by a language model, filled into its review modal.
- `unfurl`      plan and task links unfurled (`chat.unfurl`) for those who may see them.
- `refresh_worker`  the in-process thread of a web process that sends refreshes.

Adding a kind: a message sent once (a notice, an announcement) is an
`outgoing.Kind` queued with `enqueue` — the key makes it exactly-once, recovery
finds it after a crash. Something sent again whole whenever it changes (a card,
a Home, a CRM record) is a coalescing row marked like `refreshes.mark`, with its
sender registered in `refresh_worker.refreshers` (kind → how to send it, pace).

`from reminders import delivery` gives the outbox's public functions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reminders.delivery.outbox import (
        Claimed,
        ClientFor,
        DeliveryResult,
        Refresher,
        claim,
        deliver,
        enqueue,
        key_of,
        lease_seconds,
        queued_keys,
        release,
    )

__all__ = [
    "Claimed",
    "ClientFor",
    "DeliveryResult",
    "Refresher",
    "claim",
    "deliver",
    "enqueue",
    "key_of",
    "lease_seconds",
    "queued_keys",
    "release",
]


def __getattr__(name: str) -> Any:
    """The outbox's names, loaded on first use: storage's services mark refreshes
    (`reminders.delivery.refreshes`) and the outbox reads those services, so
    importing this package must not load the outbox at once."""
    if name in __all__:
        return getattr(importlib.import_module("reminders.delivery.outbox"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
