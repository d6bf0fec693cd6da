"""Who is who: placing a Slack user on the buyer or seller side.

The seller team is the one the request was authorised for (the workspace that
installed the app). Someone from another team is a buyer; so is a guest of the
seller team, and so is anyone whose guest status we don't know yet (never
looked up, or the lookup failed): sides fail closed. A side set by hand wins.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from storage import clock, services
from storage.db import Database
from storage.models import Person
from storage.rules import Actor, Side

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=1)


LOOKUP_TIMEOUT = 5  # seconds: a users.info that takes longer leaves the person a buyer


def side_of(
    host_team_id: str, user_team_id: str | None, *, is_guest: bool | None, override: str | None
) -> Side:
    """`is_guest` None: not known yet (only a successful users.info or a
    `user_change` tells), so buyer side."""
    if override in ("buyer", "seller"):
        return override  # type: ignore[return-value]
    if user_team_id and user_team_id != host_team_id:
        return "buyer"
    return "seller" if is_guest is False else "buyer"


def side_of_record(
    host_team_id: str, home_team_id: str | None, *, is_guest: bool, override: str | None
) -> Side:
    """The side of someone we only have a record of (an assignee, a stakeholder):
    one Slack never told us the team of is buyer side, fail closed, never seller."""
    if home_team_id is None and override not in ("buyer", "seller"):
        return "buyer"
    return side_of(host_team_id, home_team_id, is_guest=is_guest, override=override)


@dataclass(frozen=True)
class _Known:
    home_team_id: str | None
    tz: str | None
    is_guest: bool | None  # None until Slack told us (refreshed_at set)
    side_override: str | None
    refreshed_at: datetime | None


# Who we have looked up lately, per process: every click and command needs the
# person's side, and reading it from the database each time is most of a fast
# request's cost. Short-lived so a side set by hand on another replica applies
# within seconds; this process forgets at once when it writes the person.
_CACHE_SECONDS = 10.0
_cache: dict[tuple[str, str, str], tuple[float, _Known | None]] = {}
_cache_lock = threading.Lock()


def forget_everyone() -> None:
    """Drop the whole cache (tests empty the tables between cases)."""
    with _cache_lock:
        _cache.clear()


def forget(db: Database, host_team_id: str, user_id: str) -> None:
    with _cache_lock:
        _cache.pop((db.url, host_team_id, user_id), None)


def _cached(db: Database, host_team_id: str, user_id: str) -> _Known | None:
    key = (db.url, host_team_id, user_id)
    with _cache_lock:
        hit = _cache.get(key)
    # (< or <=: a float instant never lands on the bound; equivalent.)
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:  # pragma: no mutate
        return hit[1]
    with db.read() as s:
        p = s.scalar(
            select(Person).where(Person.team_id == host_team_id, Person.user_id == user_id)
        )
        known = (
            _Known(
                p.home_team_id,
                p.tz,
                p.is_guest if p.refreshed_at is not None else None,
                p.side_override,
                p.refreshed_at,
            )
            if p is not None
            else None
        )
    with _cache_lock:
        _cache[key] = (time.monotonic(), known)
    return known


def single_try(client: WebClient) -> WebClient:
    """The same workspace's client without retries and with a short timeout: a
    lookup in a request's path that fails is retried on a later request, not by
    holding this one (Retry-After can be minutes)."""
    # The transport settings are copied as they are; a test against the stand-in
    # (no TLS, no proxy, no extra headers) cannot tell a copy from a default, and
    # the default retry handlers retry only dropped connections: equivalent
    # mutants, hence the pragmas.
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=min(client.timeout, LOOKUP_TIMEOUT),
        ssl=client.ssl,  # pragma: no mutate
        proxy=client.proxy,  # pragma: no mutate
        headers=client.headers,  # pragma: no mutate
        retry_handlers=[],  # pragma: no mutate
    )


def refresh_person(
    db: Database, client: WebClient, host_team_id: str, user_id: str
) -> Person | None:
    """users.info → the person row (name, IANA zone, guest flag). On any failure
    (an error, 429, 5xx, a timeout) nothing is recorded: the person stays unknown."""
    try:
        user: dict[str, Any] = single_try(client).users_info(user=user_id)["user"]
    except (SlackApiError, OSError) as e:
        log.info("users.info %s failed: %s", user_id, _why(e))
        return None
    return record_user(db, host_team_id, user)


def _why(e: Exception) -> str:
    return str(e.response.get("error")) if isinstance(e, SlackApiError) else type(e).__name__


def record_user(db: Database, host_team_id: str, user: dict[str, Any]) -> Person:
    """A Slack user object (`users.info`, `user_change`) → the person row."""
    user_id = str(user.get("id") or "")  # pragma: no mutate (a user object always has one)
    profile = user.get("profile") or {}
    forget(db, host_team_id, user_id)
    with db.write() as s:
        return services.upsert_person(
            s,
            host_team_id,
            user_id,
            home_team_id=user.get("team_id"),
            name=profile.get("display_name") or user.get("real_name") or user.get("name") or "",
            tz=user.get("tz"),
            is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        )


# Said where a seller-only action is refused because we don't know yet whether
# the person is a guest (buyer side until Slack says; the lookup is under way).
CHECKING_WHO = "Checking who you are — try again in a moment."


class LookupNeeded(Exception):
    """A request names someone only Slack can place (never seen): it waits for
    users.info, after the ack, instead of calling Slack before it."""


def _unknown(known: _Known | None) -> bool:
    return known is None or known.home_team_id is None


def look_up_unknown(db: Database, client: WebClient, host_team_id: str, user_id: str) -> None:
    """A person named in a command (an @mention) whom Slack has never told us of:
    users.info, recorded, before anything gives them a side (after the ack)."""
    if _unknown(_cached(db, host_team_id, user_id)):
        refresh_person(db, client, host_team_id, user_id)


def require_known(db: Database, host_team_id: str, user_id: str) -> None:
    """The same, on the request's path: no Slack call, so an unknown person
    raises LookupNeeded and the command is run again after the ack."""
    if _unknown(_cached(db, host_team_id, user_id)):
        raise LookupNeeded(user_id)


@dataclass(frozen=True)
class Resolved:
    actor: Actor
    tz: str
    # Never looked up, or not for a day (guests can become members): users.info
    # after the ack refreshes side and time zone.
    stale: bool
    # A member of the seller team whose guest status Slack has not told us yet:
    # buyer side (fail closed) until it has; a seller-only refusal says why.
    unsure: bool


def cached_actor(
    db: Database, host_team_id: str, user_id: str, user_team_id: str | None
) -> Resolved:
    """The actor from the payload (`user.team_id`) and what we know: no Slack call."""
    person = _cached(db, host_team_id, user_id)
    stale = (
        person is None
        or person.refreshed_at is None
        or (clock.now() - clock.as_utc(person.refreshed_at) > PROFILE_MAX_AGE)
    )
    team = user_team_id or (person.home_team_id if person else None)
    override = person.side_override if person else None
    is_guest = person.is_guest if person else None
    side = side_of(host_team_id, team, is_guest=is_guest, override=override)
    unsure = (
        is_guest is None
        and override not in ("buyer", "seller")
        and (not team or team == host_team_id)
    )
    tz = (person.tz if person else None) or "UTC"
    return Resolved(Actor(user_id=user_id, side=side, team_id=host_team_id), tz, stale, unsure)


def resolve_actor(
    db: Database,
    client: WebClient | None,
    host_team_id: str,
    user_id: str,
    user_team_id: str | None,
) -> tuple[Actor, str]:
    """The actor and their time zone, looking the person up in Slack when stale:
    only ever after the ack (bot.after_ack), never on a request's path."""
    known = cached_actor(db, host_team_id, user_id, user_team_id)
    if known.stale and client is not None and refresh_person(db, client, host_team_id, user_id):
        known = cached_actor(db, host_team_id, user_id, user_team_id)
    return known.actor, known.tz
