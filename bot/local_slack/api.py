"""SlackApi: one workspace's Web API over in-memory state, without HTTP (see server.py).
The methods live by family in chat.py, views.py and conversations.py."""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

from bot.local_slack.base import SlackError, decode_params
from bot.local_slack.chat import ChatMethods
from bot.local_slack.conversations import ConversationMethods
from bot.local_slack.files import Files
from bot.local_slack.functions import Functions
from bot.local_slack.rates import PER_CHANNEL, POST_BURST, POST_PER_SECOND, RateLimits
from bot.local_slack.records import Call, Ephemeral, Msg
from bot.local_slack.scopes import needed_scope
from bot.local_slack.unfurls import Unfurls
from bot.local_slack.views import ViewMethods

__all__ = ["DEFAULT_TOKEN", "SlackApi", "SlackError", "decode_params"]

DEFAULT_TOKEN = "xoxb-test-token"  # noqa: S105 (the one bot token a default stand-in issued)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackApi(ChatMethods, ViewMethods, ConversationMethods):
    """One workspace's state and the Web API methods MAP bot uses."""

    def __init__(
        self,
        *,
        team_id: str = "T0LEXCORP",
        bot_user_id: str = "U0MAPBOT",
        tokens: Collection[str] | None = None,
        scopes: Collection[str] | None = None,
        rate_limits: Mapping[str, int] | None = None,
        update_limit_per_minute: int | None = None,
        post_burst: int = POST_BURST,
        post_per_second: float = POST_PER_SECOND,
        enforce_rate_limits: bool = True,
        history_per_minute: int = 1,
        history_page_max: int = 15,
    ) -> None:
        """`tokens`: the bot tokens this workspace issued (default `DEFAULT_TOKEN`;
        `add_token` and `revoke` change them): any other is `invalid_auth`, as in
        Slack. `scopes`: what each token was granted (default: what the app asks for
        at install, `BOT_SCOPES`; `grant` changes one token's); a method whose scope
        is missing answers `missing_scope` with `needed` and `provided`.

        Rate limits (rates.py) are Slack's per-method tiers and answered with HTTP 429
        + Retry-After; `rate_limits` ({method: per minute}) or `set_rate_limit`
        raise or lower one method's, `advance_clock` lets their windows pass.
        `enforce_rate_limits=False` only counts and records them (for benchmarks that
        measure our side alone)."""
        if scopes is None:
            from bot.oauth import BOT_SCOPES  # the install asks for these; lazily: no cycle

            scopes = BOT_SCOPES
        self.scopes = frozenset(scopes)
        self._granted: dict[str, frozenset[str]] = {}
        self._caller_scopes = self.scopes  # the calling token's, while a method runs
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.tokens: set[str] = set(tokens) if tokens is not None else {DEFAULT_TOKEN}
        self.revoked: set[str] = set()
        self.enforce_rate_limits = enforce_rate_limits
        self.history_page_max = history_page_max
        self.rate_limited: list[str] = []  # methods answered 429 by their tier
        self.on_change: Callable[[Call], None] | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        limits = {
            # conversations.history/replies for apps outside the Marketplace (since 2025)
            "conversations.history": history_per_minute,
            "conversations.replies": history_per_minute,
            **({"chat.update": update_limit_per_minute} if update_limit_per_minute else {}),
            **(rate_limits or {}),
        }
        self._rates = RateLimits(limits, post_burst=post_burst, post_per_second=post_per_second)
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._ts_lock = threading.Lock()
        self._last_us = 0
        self._view_ids = itertools.count(1)
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.views: dict[str, dict[str, Any]] = {}
        self._home: dict[str, str] = {}  # user → view id
        self._stacks: dict[str, list[str]] = {}
        self._messages: dict[str, list[Msg]] = {}
        self.functions = Functions()  # Workflow Builder steps (bot/local_slack/functions.py)
        self.unfurls = Unfurls(self.add_message)  # link_shared and chat.unfurl (unfurls.py)
        self._ephemerals: list[Ephemeral] = []
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "chat.unfurl": self._unfurl,
            "functions.completeSuccess": self.functions.complete_success,
            "functions.completeError": self.functions.complete_error,
            "views.open": self._view_open,
            "views.push": self._view_push,
            "views.update": self._view_update,
            "views.publish": self._view_publish,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.open": self._conversations_open,
            "files.getUploadURLExternal": self._files(lambda p: self.files.get_upload_url(p)),
            "files.completeUploadExternal": self._files(lambda p: self.files.complete(p)),
        }
        self.files = Files(self.upload_url, self._shareable, self._file_message)

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
        self,
        channel_id: str,
        name: str,
        *,
        shared: bool = False,
        members: list[str] | None = None,
        private: bool = False,
        bot_member: bool = True,
    ) -> None:
        """A channel; members default to every known user of this team (of any, if
        shared). `bot_member=False`: the app was not invited (`not_in_channel`)."""
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "shared": shared,
                "members": members,
                "private": private,
                "bot_member": bot_member,
            }

    def has_channel(self, channel_id: str) -> bool:
        with self._lock:
            return channel_id in self._channels

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
            self._stacks.clear()
            self._messages.clear()
            self._ephemerals.clear()
            self.rate_limited.clear()
            self._rates.reset()
            self.files.reset()

    # --- dispatch --------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], token: str | None) -> Call:
        """Run one API method as Slack would, record it, and return the record:
        the token, then the method's scope, then its rate limit, then the method."""
        record = Call(method=method, params=params, token=token)
        try:
            self._authorize(token)
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            record.params = decode_params(params)
            with self._lock:
                self._caller_scopes = self._granted.get(token or "", self.scopes)
                self._check_scope(method, record.params)
                self._check_rate(method, record.params)
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
        # https://docs.slack.dev/reference/methods/auth.test (errors): not_authed "No
        # authentication token provided", invalid_auth "Some aspect of authentication
        # cannot be validated", token_revoked "Authentication token is for a deleted
        # user or workspace or the app has been removed".
        if not token:
            raise SlackError("not_authed")
        if self.functions.accepts(token):  # a running Workflow Builder step's token
            return
        with self._lock:
            if token in self.revoked:
                raise SlackError("token_revoked")
            if token not in self.tokens:
                raise SlackError("invalid_auth")

    def _check_scope(self, method: str, p: dict[str, Any]) -> None:
        """`missing_scope` with `needed` and `provided`, as Slack answers it
        (https://docs.slack.dev/authentication/tokens: "missing_scope ... needed ...
        provided")."""
        needed = needed_scope(method, str(p.get("channel") or ""), self._channels)
        if needed and needed not in self._caller_scopes:
            provided = ",".join(sorted(self._caller_scopes))
            raise SlackError("missing_scope", needed=needed, provided=provided)

    def _unfurl(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.unfurls.unfurl(p, self._caller_scopes)

    def _rate_key(self, method: str, p: dict[str, Any]) -> str:
        """What a method's limit is kept per: the channel for chat.postMessage, else the team."""
        if method == PER_CHANNEL:
            return self.dm_channel(str(p.get("channel") or ""))
        return self.team_id

    def _check_rate(self, method: str, p: dict[str, Any]) -> None:
        key = self._rate_key(method, p)
        wait = self._rates.take(method, key)
        if wait <= 0:
            return
        self.rate_limited.append(method)
        if self.enforce_rate_limits:
            raise SlackError("ratelimited", status=429, retry_after=max(1, math.ceil(wait)))
        self.violations.append(f"{method}: rate limit exceeded for {key}")

    # --- tokens, limits and clock ----------------------------------------------

    def add_token(self, token: str, scopes: Collection[str] | None = None) -> None:
        """A bot token this workspace issued (an install), with its scopes if not the default."""
        with self._lock:
            self.tokens.add(token)
            self.revoked.discard(token)
            if scopes is not None:
                self._granted[token] = frozenset(scopes)

    def revoke(self, token: str) -> None:
        """The app was uninstalled (or the token revoked): `token_revoked` from now on."""
        with self._lock:
            self.tokens.discard(token)
            self.revoked.add(token)

    def set_rate_limit(self, method: str, per_minute: int) -> None:
        """Raise (or lower) one method's limit per minute: for a test that bursts on
        purpose and says so."""
        with self._lock:
            self._rates.per_minute[method] = per_minute

    def advance_clock(self, seconds: float) -> None:
        """Move the stand-in's clock (rate windows, response URL lifetimes) forward
        instead of waiting."""
        with self._lock:
            self._rates.skew += seconds

    def advance_rate_clock(self, seconds: float) -> None:
        self.advance_clock(seconds)

    def now(self) -> float:
        """The stand-in's clock, in seconds (monotonic plus what `advance_clock` added)."""
        return self._rates.now()

    def rate_counts(self, method: str, *, refused: bool | None = None) -> dict[str, dict[int, int]]:
        """Calls to `method` per key per minute of the stand-in's clock:
        {channel or team: {minute: n}} (channel for chat.postMessage, team otherwise):
        every request the app made, those an injected fault answered included;
        `refused=True` only those its tier answered 429, `False` all the others."""
        with self._lock:
            return self._rates.counts(method, refused=refused)

    def rate_peak(self, method: str, key: str | None = None, seconds: float = 60.0) -> int:
        """The most calls to `method` for `key` (default this team) in any `seconds`."""
        with self._lock:
            return self._rates.peak(method, key or self.team_id, seconds)

    # --- files (bot/local_slack/files.py) ----------------------------------------

    def upload_url(self, file_id: str) -> str:
        """Where a file's bytes go (LocalSlack serves it on loopback)."""
        return f"https://files.slack.invalid/upload/v1/{file_id}"

    def _shareable(self, channel: str) -> bool:
        """A channel we know, or a DM (or user id) of a person we know."""
        if channel in self._channels:
            return True
        user = channel[1:] if channel[:1] == "D" else channel
        return user in self._users

    def _file_message(
        self, channel: str, thread_ts: str | None, text: str, files: list[dict[str, Any]]
    ) -> None:
        """The message a file share leaves in its conversation."""
        conversation, _ = self._conversation(channel)
        with self._lock:
            msg = Msg(
                ts=self.next_ts(),
                text=text,
                blocks=[],
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=thread_ts,
                files=[dict(f) for f in files],
            )
            self._messages.setdefault(conversation, []).append(msg)

    def _files(self, method: Handler) -> Handler:
        def run(p: dict[str, Any]) -> dict[str, Any]:
            self.files.need_scope(self._caller_scopes)
            return method(p)

        return run

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
