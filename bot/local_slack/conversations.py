"""users.info and conversations.*: people, channels, members, history and threads."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.local_slack.base import ApiBase, SlackError
from bot.local_slack.records import Msg

MEMBERS_DEFAULT_LIMIT = 100  # conversations.members, as Slack documents it
MEMBERS_MAX_LIMIT = 999  # "specify a limit value under 1000"


def _cursor(offset: int) -> str:
    return base64.b64encode(f"members:{offset}".encode()).decode()


def _uncursor(cursor: str) -> int | None:
    """Offset 0 for no cursor; None for one we never handed out."""
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
    except ValueError:
        return None
    return int(offset) if kind == "members" and offset.isdigit() else None


class ConversationMethods(ApiBase):
    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(p.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        offset = datetime.now(ZoneInfo(user["tz"])).utcoffset()
        profile = dict(user["profile"])
        if "users:read.email" not in self._caller_scopes:
            # As Slack: "users:read.email is required to access the email field in
            # user objects returned by users.list and users.info" (scope docs).
            profile.pop("email", None)
        tz_offset = int(offset.total_seconds()) if offset else 0
        return {"user": {**user, "profile": profile, "tz_offset": tz_offset}}

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel(p)
        return {
            "channel": {
                "id": ch["id"],
                "name": ch["name"],
                "is_channel": True,
                "is_private": ch["private"],
                "is_archived": False,
                "is_member": ch["bot_member"],
                "is_shared": ch["shared"],
                "is_ext_shared": ch["shared"],
                "context_team_id": self.team_id,
            }
        }

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/conversations.open (errors):
        user_not_found "Value passed for user was invalid"."""
        self._need(p, "users")
        user = str(p["users"]).split(",")[0]
        if user not in self._users:
            raise SlackError("user_not_found")
        return {"channel": {"id": self.dm_channel(user)}}

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """A channel's top-level messages, newest first, as Slack answers: thread
        replies are never in it (only their parent); `oldest`/`latest` exclusive
        unless `inclusive`; cursor-paged; metadata only with include_all_metadata;
        the non-Marketplace tier (1 request a minute, at most 15 a page)."""
        self._need(p, "channel")
        channel, _ = self._bot_may_read(str(p["channel"]))
        msgs = [
            m for m in self._messages.get(channel, []) if m.thread_ts is None or m.thread_ts == m.ts
        ]
        return self._page(list(reversed(msgs)), p)

    def _conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent first, then the replies oldest first."""
        self._need(p, "channel", "ts")
        channel, _ = self._bot_may_read(str(p["channel"]))
        ts = str(p["ts"])
        parent = self._find(channel, ts)
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.thread_ts or parent.ts
        thread = [m for m in self._messages.get(channel, []) if (m.thread_ts or m.ts) == root]
        return self._page(thread, p)

    def _page(self, msgs: list[Msg], p: dict[str, Any]) -> dict[str, Any]:
        """`oldest`/`latest`/`inclusive`, then a page of at most `limit` (capped at
        Slack's maximum) from the cursor on."""
        inclusive = str(p.get("inclusive", "")).lower() in ("1", "true")
        with_meta = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        try:
            oldest = float(p.get("oldest") or 0)
            latest = float(p.get("latest") or "inf")
            limit = int(p.get("limit") or self.history_page_max)
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if inclusive:
            msgs = [m for m in msgs if oldest <= float(m.ts) <= latest]
        else:
            msgs = [m for m in msgs if oldest < float(m.ts) < latest]
        start = 0
        if p.get("cursor"):
            cursor = str(p["cursor"])
            if not cursor.startswith("page:") or not cursor[5:].isdigit():
                raise SlackError("invalid_cursor")
            start = int(cursor[5:])
        limit = max(1, min(limit, self.history_page_max))
        page = msgs[start : start + limit]
        out = []
        for m in page:
            d = m.to_dict()
            if not with_meta:
                d.pop("metadata", None)
            out.append(d)
        more = start + limit < len(msgs)
        return {
            "messages": out,
            "has_more": more,
            "response_metadata": {"next_cursor": f"page:{start + limit}" if more else ""},
        }

    def _conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        """Paged like Slack's: `limit` (default 100, at most 999), an opaque
        `cursor`, `response_metadata.next_cursor` empty on the last page."""
        self._need(p, "channel")
        members = self._members(self._channel(p))
        try:
            limit = int(p.get("limit") or MEMBERS_DEFAULT_LIMIT)
        except ValueError:
            raise SlackError("invalid_limit") from None
        limit = max(1, min(limit, MEMBERS_MAX_LIMIT))
        start = _uncursor(str(p.get("cursor") or ""))
        if start is None or start > len(members):
            raise SlackError("invalid_cursor")
        end = start + limit
        return {
            "members": members[start:end],
            "response_metadata": {"next_cursor": _cursor(end) if end < len(members) else ""},
        }
