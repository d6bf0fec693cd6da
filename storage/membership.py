"""Who is in a deal channel, as far as we know: the channel's members from
`conversations.members` (fetched by `bot.members`), kept current by
`member_joined_channel` / `member_left_channel`.

What we have not fetched, or fetched too long ago (an event may have been
missed while we were down), is unknown — and unknown never lets a buyer in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import clock
from storage.models import ChannelMember, ChannelRoster

ROSTER_MAX_AGE = timedelta(days=1)


def _fresh_since() -> datetime:
    return clock.now() - ROSTER_MAX_AGE


def _known(roster: ChannelRoster | None) -> bool:
    return roster is not None and clock.as_utc(roster.fetched_at) >= _fresh_since()


def is_member(s: Session, team_id: str, channel_id: str, user_id: str) -> bool | None:
    """True or False; None when we don't know the channel's members."""
    if not _known(s.get(ChannelRoster, (team_id, channel_id))):
        return None
    return s.get(ChannelMember, (team_id, channel_id, user_id)) is not None


def channels_of(team_id: str, user_id: str) -> Select[str]:
    """The channels `user_id` is known to be in (for `IN (…)` in list queries)."""
    return (
        select(ChannelMember.channel_id)
        .join(
            ChannelRoster,
            (ChannelRoster.team_id == ChannelMember.team_id)
            & (ChannelRoster.channel_id == ChannelMember.channel_id),
        )
        .where(
            ChannelMember.team_id == team_id,
            ChannelMember.user_id == user_id,
            ChannelRoster.fetched_at >= _fresh_since(),
        )
    )


def unknown_channels(s: Session, team_id: str, channel_ids: Iterable[str]) -> list[str]:
    """Those of `channel_ids` whose members we don't know (to fetch them)."""
    wanted = sorted(set(channel_ids))
    rosters = {
        r.channel_id: r
        for r in s.scalars(
            select(ChannelRoster).where(
                ChannelRoster.team_id == team_id, ChannelRoster.channel_id.in_(wanted)
            )
        )
    }
    return [c for c in wanted if not _known(rosters.get(c))]


def _members_of(team_id: str, channel_id: str) -> tuple[ColumnElement[bool], ...]:
    return (ChannelMember.team_id == team_id, ChannelMember.channel_id == channel_id)


def record_members(s: Session, team_id: str, channel_id: str, user_ids: Iterable[str]) -> None:
    """The whole member list, as just fetched: replaces what we had."""
    try:
        with s.begin_nested():
            s.execute(delete(ChannelMember).where(*_members_of(team_id, channel_id)))
            roster = s.get(ChannelRoster, (team_id, channel_id))
            if roster is None:
                roster = ChannelRoster(team_id=team_id, channel_id=channel_id)
                s.add(roster)
            roster.fetched_at = clock.now()
            s.add_all(
                ChannelMember(team_id=team_id, channel_id=channel_id, user_id=u)
                for u in sorted(set(user_ids))
                if u
            )
    except IntegrityError:
        pass  # another request recorded the same list at the same moment


def joined(s: Session, team_id: str, channel_id: str, user_id: str) -> None:
    """A `member_joined_channel`: only for a channel whose list we keep (for the
    others the next check fetches the whole list anyway)."""
    if s.get(ChannelRoster, (team_id, channel_id)) is None:
        return
    if s.get(ChannelMember, (team_id, channel_id, user_id)) is not None:
        return
    try:
        with s.begin_nested():
            s.add(ChannelMember(team_id=team_id, channel_id=channel_id, user_id=user_id))
    except IntegrityError:
        pass  # the same event twice at once (Slack retries events)


def left(s: Session, team_id: str, channel_id: str, user_id: str) -> None:
    """A `member_left_channel`: gone at once."""
    s.execute(
        delete(ChannelMember).where(
            *_members_of(team_id, channel_id), ChannelMember.user_id == user_id
        )
    )


def forget(s: Session, team_id: str, channel_id: str) -> None:
    """The members changed wholesale (shared with or unshared from another
    organisation): unknown again until fetched."""
    s.execute(delete(ChannelMember).where(*_members_of(team_id, channel_id)))
    s.execute(
        delete(ChannelRoster).where(
            ChannelRoster.team_id == team_id, ChannelRoster.channel_id == channel_id
        )
    )


def recorded_members(s: Session, team_id: str, channel_id: str) -> list[str]:
    """The members as last fetched or heard of (none when we keep no list)."""
    return list(
        s.scalars(
            select(ChannelMember.user_id)
            .where(*_members_of(team_id, channel_id))
            .order_by(ChannelMember.user_id)
        )
    )
