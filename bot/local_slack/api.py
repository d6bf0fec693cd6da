"""Slack's Web API methods over in-memory state, without HTTP (see server.py)."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.local_slack.checks import RateLimits, check_blocks, check_text, check_view
from bot.local_slack.files import FileError, Files
from bot.local_slack.records import Call, Ephemeral, Msg

JSON_PARAMS = ("blocks", "view", "attachments")
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


Handler = Callable[[dict[str, Any]], dict[str, Any]]


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


class SlackApi:
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
            "files.getUploadURLExternal": self._files(lambda p: self.files.get_upload_url(p)),
            "files.completeUploadExternal": self._files(lambda p: self.files.complete(p)),
        }
        self.files = Files(self.upload_url, self._shareable)

    # --- registry ------------------------------------------------------------

    @property
    def domain(self) -> str:
        return self.team_id.lower()

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
            self.files.reset()

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

    def _refuse(self, method: str, errors: list[str], error: str = "invalid_blocks") -> None:
        if errors:
            self.violations.extend(f"{method}: {e}" for e in errors)
            raise SlackError(error, errors=errors, response_metadata={"messages": errors})

    def _rate(self, method: str, key: str, wait: float) -> None:
        if wait <= 0:
            return
        self.violations.append(f"{method}: rate limit exceeded for {key}")
        if self.enforce_rate_limits:
            raise SlackError("ratelimited", status=429, retry_after=max(1, round(wait)))

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

    def _files(self, method: Handler) -> Handler:
        def run(p: dict[str, Any]) -> dict[str, Any]:
            try:
                self.files.need_scope(self._caller_scopes)
                return method(p)
            except FileError as e:
                raise SlackError(e.error, **e.extra) from None

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

    def _message_body(self, method: str, params: dict[str, Any]) -> None:
        self._refuse(method, check_text(params), "msg_too_long")
        if params.get("blocks") is not None:
            self._refuse(method, check_blocks(params["blocks"]))
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            raise SlackError("no_text")

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "channel")
        self._message_body("chat.postMessage", p)
        channel = self.dm_channel(str(p["channel"]))
        self._rate("chat.postMessage", channel, self._rates.post(channel))
        metadata = p.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        msg = Msg(
            ts=self.next_ts(),
            text=str(p.get("text") or ""),
            blocks=list(p.get("blocks") or []),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=str(p["thread_ts"]) if p.get("thread_ts") else None,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        self._messages.setdefault(channel, []).append(msg)
        return {"channel": channel, "ts": msg.ts, "message": msg.to_dict()}

    def add_message(self, channel: str, user: str, text: str) -> dict[str, Any]:
        """A person's message in a channel (the shell's `/say`, shortcut tests)."""
        with self._lock:
            msg = Msg(ts=self.next_ts(), text=text, blocks=[], user=user)
            self._messages.setdefault(channel, []).append(msg)
            return msg.to_dict()

    def _existing(self, p: dict[str, Any]) -> Msg:
        self._need(p, "channel", "ts")
        msg = self._find(str(p["channel"]), str(p["ts"]))
        if msg is None:
            raise SlackError("message_not_found")
        return msg

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._existing(p)
        self._message_body("chat.update", p)
        self._rate("chat.update", self.team_id, self._rates.update(self.team_id))
        if "text" in p:
            msg.text = str(p["text"] or "")
        if "blocks" in p:
            msg.blocks = list(p["blocks"] or [])
        msg.edited = True
        return {"channel": p["channel"], "ts": msg.ts, "text": msg.text, "message": msg.to_dict()}

    def _delete(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._existing(p)
        self._messages[str(p["channel"])].remove(msg)
        return {"channel": p["channel"], "ts": msg.ts}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "channel", "user")
        self._message_body("chat.postEphemeral", p)
        channel = self._channels.get(str(p["channel"]))
        if channel is not None and p["user"] not in self._members(channel):
            raise SlackError("user_not_in_channel")
        eph = self.add_ephemeral(str(p["channel"]), str(p["user"]), p)
        return {"message_ts": eph.ts}

    def add_ephemeral(
        self, channel: str, user: str, body: dict[str, Any], source: str = "api"
    ) -> Ephemeral:
        eph = Ephemeral(
            channel=channel,
            user=user,
            ts=self.next_ts(),
            text=str(body.get("text") or ""),
            blocks=list(body.get("blocks") or []),
            source=source,
        )
        with self._lock:
            self._ephemerals.append(eph)
        return eph

    def _permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "channel", "message_ts")
        if self._find(str(p["channel"]), str(p["message_ts"])) is None:
            raise SlackError("message_not_found")
        ts = str(p["message_ts"]).replace(".", "")
        return {
            "channel": p["channel"],
            "permalink": f"https://{self.domain}.slack.com/archives/{p['channel']}/p{ts}",
        }

    def _store_view(self, method: str, view: Any, view_id: str | None = None) -> dict[str, Any]:
        self._refuse(method, check_view(view), "invalid_arguments")
        view_id = view_id or f"V{next(self._view_ids):08d}"
        previous = self.views.get(view_id, {})
        stored = {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "app_id": "A0MAPBOT",
            "bot_id": self.bot_id,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{view_id}",
            "root_view_id": previous.get("root_view_id", view_id),
            "previous_view_id": None,
            "app_installed_team_id": self.team_id,
        }
        self.views[view_id] = stored
        return {"view": stored}

    def _view_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id") and not p.get("interactivity_pointer"):
            raise SlackError("invalid_arguments", errors=["trigger_id is required"])
        return self._store_view("views.open", p.get("view"))

    def _view_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id") or next(
            (i for i, v in self.views.items() if p.get("external_id") == v.get("external_id")),
            None,
        )
        if not view_id or view_id not in self.views:
            raise SlackError("not_found")
        return self._store_view("views.update", p.get("view"), str(view_id))

    def _view_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "user_id")
        user = str(p["user_id"])
        result = self._store_view("views.publish", p.get("view"), self._home.get(user))
        self._home[user] = result["view"]["id"]
        return result

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

    def _channel(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channels.get(str(p.get("channel", "")))
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel(p)
        return {
            "channel": {
                "id": ch["id"],
                "name": ch["name"],
                "is_channel": True,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
                "is_shared": ch["shared"],
                "is_ext_shared": ch["shared"],
                "context_team_id": self.team_id,
            }
        }

    def _members(self, channel: dict[str, Any]) -> list[str]:
        if channel["members"] is not None:
            return [self.bot_user_id, *channel["members"]]
        return [self.bot_user_id] + [
            uid
            for uid, u in self._users.items()
            if channel["shared"] or u["team_id"] == self.team_id
        ]

    @staticmethod
    def dm_channel(channel: str) -> str:
        """Posting to a user id lands in the app's DM with them, as in Slack."""
        return "D" + channel if channel[:1] in ("U", "W") else channel

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "users")
        return {"channel": {"id": self.dm_channel(str(p["users"]).split(",")[0])}}

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """A channel's top-level messages, newest first, as Slack answers: thread
        replies are never in it (only their parent); `oldest`/`latest` exclusive
        unless `inclusive`; cursor-paged; metadata only with include_all_metadata;
        the non-Marketplace tier (1 request a minute, at most 15 a page)."""
        self._need(p, "channel")
        self._history_rate("conversations.history")
        msgs = [
            m
            for m in self._messages.get(str(p["channel"]), [])
            if m.thread_ts is None or m.thread_ts == m.ts
        ]
        return self._page(list(reversed(msgs)), p)

    def _conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent first, then the replies oldest first."""
        self._need(p, "channel", "ts")
        self._history_rate("conversations.replies")
        channel, ts = str(p["channel"]), str(p["ts"])
        parent = self._find(channel, ts)
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.thread_ts or parent.ts
        thread = [m for m in self._messages.get(channel, []) if (m.thread_ts or m.ts) == root]
        return self._page(thread, p)

    def _history_rate(self, method: str) -> None:
        """conversations.history / replies for apps outside the Marketplace: 1 a
        minute per workspace. Always answered with 429: recovery must cope."""
        wait = self._rates.history(method, self.history_per_minute)
        if wait > 0:
            self.rate_limited.append(method)
            raise SlackError("ratelimited", status=429, retry_after=max(1, round(wait)))

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
