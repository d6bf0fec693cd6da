"""SlackApi: one workspace's Web API over in-memory state, without HTTP (see server.py).
The methods live by family in chat.py, views.py and conversations.py."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Collection
from typing import Any

from bot.local_slack.base import SlackError, decode_params
from bot.local_slack.chat import ChatMethods
from bot.local_slack.checks import RateLimits
from bot.local_slack.conversations import ConversationMethods
from bot.local_slack.records import Call, Ephemeral, Msg
from bot.local_slack.views import ViewMethods

__all__ = ["SlackApi", "SlackError", "decode_params"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackApi(ChatMethods, ViewMethods, ConversationMethods):
    """One workspace's state and the Web API methods MAP bot uses."""

    def __init__(
        self,
        *,
        team_id: str = "T0LEXCORP",
        bot_user_id: str = "U0MAPBOT",
        tokens: set[str] | None = None,
        scopes: Collection[str] | None = None,
        update_limit_per_minute: int = 50,
        post_burst: int = 5,
        post_per_second: float = 1.0,
        enforce_rate_limits: bool = False,
        history_per_minute: int = 1,
        history_page_max: int = 15,
    ) -> None:
        """`tokens`: the tokens accepted (default: any `xoxb-`). `scopes`: what each
        token was granted (default: what the app asks for at install, `BOT_SCOPES`;
        `grant` changes one token's). The rate limits are described on `RateLimits`;
        with `enforce_rate_limits` they are answered with HTTP 429 + Retry-After,
        otherwise only recorded in `violations`."""
        if scopes is None:
            from bot.oauth import BOT_SCOPES  # the install asks for these; lazily: no cycle

            scopes = BOT_SCOPES
        self.scopes = frozenset(scopes)
        self._granted: dict[str, frozenset[str]] = {}
        self._caller_scopes = self.scopes  # the calling token's, while a method runs
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.tokens = tokens
        self.enforce_rate_limits = enforce_rate_limits
        # conversations.history/replies for apps outside the Marketplace (since 2025)
        self.history_per_minute = history_per_minute
        self.history_page_max = history_page_max
        self.rate_limited: list[str] = []  # methods answered 429 by their tier
        self.on_change: Callable[[Call], None] | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._rates = RateLimits(
            update_per_minute=update_limit_per_minute,
            post_burst=post_burst,
            post_per_second=post_per_second,
        )
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._ts_lock = threading.Lock()
        self._last_us = 0
        self._view_ids = itertools.count(1)
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.views: dict[str, dict[str, Any]] = {}
        self._home: dict[str, str] = {}  # user → view id
        self._messages: dict[str, list[Msg]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "views.open": self._view_open,
            "views.push": self._view_open,
            "views.update": self._view_update,
            "views.publish": self._view_publish,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.open": self._conversations_open,
        }

    # --- registry ------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str,
        name: str,
        tz: str = "America/New_York",
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        title: str = "",
        real_name: str | None = None,
        email: str | None = None,
    ) -> None:
        """A person `users.info` knows; `tz` is an IANA name (tz_offset is derived)."""
        real_name = real_name or name.title()
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": team_id,
                "name": name,
                "real_name": real_name,
                "tz": tz,
                "is_bot": False,
                "is_restricted": is_restricted,
                "is_ultra_restricted": is_ultra_restricted,
                "profile": {
                    "display_name": name,
                    "real_name": real_name,
                    "email": email or f"{name}@{team_id.lower()}.example",
                    "title": title,
                    "team": team_id,
                },
            }

    def add_channel(
        self, channel_id: str, name: str, *, shared: bool = False, members: list[str] | None = None
    ) -> None:
        """A channel; members default to every known user of this team (of any, if shared)."""
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "shared": shared,
                "members": members,
            }

    def grant(self, token: str, scopes: Collection[str]) -> None:
        """The scopes `token` was installed with (instead of the default)."""
        with self._lock:
            self._granted[token] = frozenset(scopes)

    def user_name(self, user_id: str) -> str | None:
        with self._lock:
            user = self._users.get(user_id)
            return str(user["name"]) if user else None

    # --- reading state -------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[Msg]:
        """Snapshots of the channel's current messages, oldest first."""
        with self._lock:
            return [dataclasses.replace(m) for m in self._messages.get(channel, [])]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One current message as Slack embeds it in payloads, or None."""
        with self._lock:
            found = self._find(channel, ts)
            return found.to_dict() if found else None

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        with self._lock:
            return [
                e
                for e in self._ephemerals
                if (channel is None or e.channel == channel) and (user is None or e.user == user)
            ]

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            view_id = self._home.get(user)
            return self.views.get(view_id) if view_id else None

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until `predicate()` holds (rechecked after every call), or time out."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_for_calls(self, method: str, n: int, timeout: float = 5.0) -> list[Call]:
        """The calls to `method` once there are at least `n` (fewer on timeout)."""
        self.wait_for(lambda: len(self.calls_to(method)) >= n, timeout)
        return self.calls_to(method)

    def reset(self) -> None:
        """Forget calls, messages, views and violations; keep users and channels."""
        with self._lock:
            self.calls.clear()
            self.violations.clear()
            self.views.clear()
            self._home.clear()
            self._messages.clear()
            self._ephemerals.clear()
            self.rate_limited.clear()
            self._rates.reset()

    # --- dispatch --------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], token: str | None) -> Call:
        """Run one API method as Slack would, record it, and return the record."""
        record = Call(method=method, params=params, token=token)
        try:
            self._authorize(token)
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            record.params = decode_params(params)
            with self._lock:
                self._caller_scopes = self._granted.get(token or "", self.scopes)
                record.result = {"ok": True, **handler(record.params)}
        except SlackError as e:
            record.status = e.status
            record.result = {"ok": False, "error": e.error, **e.extra}
            if e.retry_after:
                record.result["retry_after"] = e.retry_after
        self.record(record)
        if record.ok and method.startswith(("chat.", "views.")) and self.on_change:
            self.on_change(record)
        return record

    def record(self, call: Call) -> None:
        """Keep a call and wake up `wait_for`."""
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _authorize(self, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        valid = token.startswith("xoxb-") if self.tokens is None else token in self.tokens
        if not valid:
            raise SlackError("invalid_auth")

    # --- methods ---------------------------------------------------------------

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.domain}.slack.com/",
            "team": self.team_id,
            "user": "mapbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }
