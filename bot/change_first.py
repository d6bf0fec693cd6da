"""A click's change is in the database before its answer; what it says in Slack after.

Bolt runs with `process_before_response=True`: the HTTP answer leaves when the
listener returns. A change made after that (in bot.after_ack's pool) is lost
when the process dies between the answer and the change — a click Slack shows
as accepted that never happened. So for a clicker we can place from the payload
and the cache (`Deps.known_now`: no Slack call) the change runs in the listener,
one transaction with the outbox rows it writes (card and Home marks, comments),
and only the answer goes after: the ephemeral refusal, `respond()`, views.*.
Waking the card's sender calls nothing (its own thread sends), so a change may do
it after its commit; with nothing else to say it passes no answer, and the pool
gets no job (each costs a thread's wake-up and a GIL hand-over).

Two cases still need Slack before the change can be decided, and Slack may not
be called before the answer, so they keep the ack-first path (change after the
answer, as before): someone whose guest status we don't know yet (buyer side,
fail closed, until users.info says), and a buyer-side clicker in a channel whose
members we don't know (`storage.access.MembersUnknown`). The latter is a
`NotFound` too: caught as a refusal it would refuse without ever asking Slack
who is in the channel, so it is told apart here and sent to the fetch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from storage.access import MembersUnknown
from storage.rules import Actor
from storage.services import DomainError

R = TypeVar("R")

# (actor, their time zone) → what the answer needs; database only, may raise DomainError.
Change = Callable[[Actor, str], R]
# Sent after the answer: Slack calls only. None: nothing to say (a job handed to
# the after-ack pool costs a thread's wake-up and a GIL hand-over per click).
Answer = Callable[[Actor, R], None]
Refuse = Callable[[Actor, DomainError], None]


def change_then_answer(
    deps: Deps,
    context: BoltContext,
    client: WebClient,
    user: dict[str, Any] | None,
    change: Change[R],
    answer: Answer[R] | None,
    refuse: Refuse,
) -> None:
    """Run `change` now when the clicker is known and the channel's members too,
    else after the answer once Slack has told us; then `answer` or `refuse`
    after the answer. Call it after `ack()`; it never calls Slack itself."""
    known = deps.known_now(context, user)
    if known.unsure:  # only users.info can place them: all of it after the answer

        def look_up_then_change() -> None:
            _after(deps, client, change, answer, refuse, *deps.actor(context, client, user))

        deps.later(look_up_then_change)
        return
    deps.refresh_later(known)
    actor, tz = known.actor, known.tz
    try:
        result = change(actor, tz)
    except MembersUnknown:  # fetch who is in the channel, then change (or refuse)
        deps.later(lambda: _after(deps, client, change, answer, refuse, actor, tz))
        return
    except DomainError as e:
        refused = e
        deps.later(lambda: refuse(actor, refused))
        return
    if answer is not None:
        say = answer
        deps.later(lambda: say(actor, result))


def _after(
    deps: Deps,
    client: WebClient,
    change: Change[R],
    answer: Answer[R] | None,
    refuse: Refuse,
    actor: Actor,
    tz: str,
) -> None:
    """The ack-first path, in the pool: members fetched when unknown (a fetch
    that fails leaves the refusal standing)."""
    try:
        result = deps.as_member(client, lambda: change(actor, tz))
    except DomainError as e:
        refuse(actor, e)
        return
    if answer is not None:
        answer(actor, result)
