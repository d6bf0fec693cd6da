"""What the Slack stand-in remembers: API calls, messages, ephemerals, injected faults."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One request the stand-in received, and what it answered."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.time)
    result: dict[str, Any] = field(default_factory=dict)
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.result.get("ok"))


@dataclass
class Msg:
    """A message as it currently stands in a channel."""

    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    bot_id: str | None = None  # set when the app posted it, as in Slack's messages
    thread_ts: str | None = None
    edited: bool = False
    metadata: dict[str, Any] | None = None  # chat.postMessage's `metadata`
    files: list[dict[str, Any]] | None = None  # a file share (completeUploadExternal)

    def to_dict(self) -> dict[str, Any]:
        """The message as Slack would embed it in a payload or API response."""
        out: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        if self.metadata:
            out["metadata"] = self.metadata
        if self.files:
            out["files"] = self.files
            out["upload"] = True
        return out


@dataclass
class Ephemeral:
    """A message only `user` sees; `source` is "api" or "response_url"."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    source: str = "api"


@dataclass
class Fault:
    """A failure (or delay) queued for the next calls of one method."""

    times: int
    status: int = 200
    retry_after: int = 1
    error: str | None = None
    delay: float = 0.0
    hold: float = 0.0  # carried out, then the answer held back this long


@dataclass
class ResponseUrl:
    """Where a response URL handed out belongs."""

    channel: str
    user: str
    message_ts: str | None = None
    ephemeral_ts: str | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)
    issued: float = 0.0  # on the stand-in's clock
