"""What every group of the stand-in's Web API methods shares: errors, state, helpers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from bot.local_slack.rates import RateLimits
from bot.local_slack.records import Call, Ephemeral, Msg

JSON_PARAMS = ("blocks", "view", "attachments")


class SlackError(Exception):
    """An `ok: false` answer (HTTP 200 unless `status` says otherwise)."""

    def __init__(
        self, error: str, *, status: int = 200, retry_after: float = 0, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.extra = extra


def decode_params(params: dict[str, Any]) -> dict[str, Any]:
    """Block Kit arrives as JSON strings in form bodies: decode it."""
    out = dict(params)
    for key in JSON_PARAMS:
        if isinstance(out.get(key), str):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                raise SlackError(
                    "invalid_blocks" if key != "view" else "invalid_arguments"
                ) from None
    return out


class ApiBase:
    """The stand-in's state and the helpers every group of methods shares; the
    methods themselves live in one module per Slack API family (chat, views,
    conversations) and SlackApi (api.py) puts them together."""

    team_id: str
    bot_user_id: str
    bot_id: str
    scopes: frozenset[str]
    _caller_scopes: frozenset[str]
    _lock: threading.RLock
    _rates: RateLimits
    _users: dict[str, dict[str, Any]]
    _channels: dict[str, dict[str, Any]]
    _ts_lock: threading.Lock
    _last_us: int
    _view_ids: Iterator[int]
    calls: list[Call]
    violations: list[str]
    rate_limited: list[str]
    enforce_rate_limits: bool
    history_page_max: int
    views: dict[str, dict[str, Any]]
    _home: dict[str, str]
    _stacks: dict[str, list[str]]  # user → their open modal's views, root first
    _messages: dict[str, list[Msg]]
    _ephemerals: list[Ephemeral]

    @property
    def domain(self) -> str:
        return self.team_id.lower()

    def _refuse(self, method: str, errors: list[str], error: str = "invalid_blocks") -> None:
        if errors:
            self.violations.extend(f"{method}: {e}" for e in errors)
            raise SlackError(error, errors=errors, response_metadata={"messages": errors})

    def next_ts(self) -> str:
        # Like Slack's: the time in microseconds, strictly increasing, so a new
        # stand-in (the shell restarted) never reuses a ts our database still has.
        with self._ts_lock:
            self._last_us = max(self._last_us + 1, time.time_ns() // 1000)
            return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def _find(self, channel: str, ts: str) -> Msg | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    @staticmethod
    def _need(params: dict[str, Any], *keys: str) -> None:
        for key in keys:
            if not params.get(key):
                raise SlackError("channel_not_found" if key == "channel" else "invalid_arguments")

    def _channel(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channels.get(str(p.get("channel", "")))
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _conversation(self, channel_id: str) -> tuple[str, dict[str, Any] | None]:
        """A conversation the app may name: a channel this workspace has, or a DM with
        a known person (by user id, as chat.postMessage takes it, or its D… id).
        `channel_not_found` otherwise, as Slack answers an id it does not know."""
        dm = self.dm_channel(channel_id)
        if dm.startswith("D"):
            if dm[1:] not in self._users:
                raise SlackError("channel_not_found")
            return dm, None
        channel = self._channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        return channel_id, channel

    def _bot_may_read(self, channel_id: str) -> tuple[str, dict[str, Any] | None]:
        """conversations.history / replies: `not_in_channel` unless the bot is in it
        (https://docs.slack.dev/reference/methods/conversations.history, errors)."""
        resolved, channel = self._conversation(channel_id)
        if channel is not None and not channel["bot_member"]:
            raise SlackError("not_in_channel")
        return resolved, channel

    def _members(self, channel: dict[str, Any]) -> list[str]:
        bot = [self.bot_user_id] if channel["bot_member"] else []
        if channel["members"] is not None:
            return [*bot, *channel["members"]]
        return bot + [
            uid
            for uid, u in self._users.items()
            if channel["shared"] or u["team_id"] == self.team_id
        ]

    @staticmethod
    def dm_channel(channel: str) -> str:
        """Posting to a user id lands in the app's DM with them, as in Slack."""
        return "D" + channel if channel[:1] in ("U", "W") else channel
