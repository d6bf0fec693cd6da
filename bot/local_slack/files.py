"""Slack's external file upload, as `WebClient.files_upload_v2` drives it:

1. `files.getUploadURLExternal(filename, length, alt_txt?)` → `upload_url`, `file_id`;
2. a POST of the bytes to `upload_url` (not a Web API method: no token, HTTP 200);
3. `files.completeUploadExternal(files=[{id, title}], channel_id | channels, …)` shares it:
   as in Slack, the share is a message from the app in each conversation (the
   initial comment as its text, `files` the file objects, `upload: true`), which
   `conversations.history` / `replies` return — how a sender finds a share whose
   answer it never got.

Strict where a caller could get it wrong: both methods need `files:write` (Slack's
`missing_scope` answer names the scope needed and those provided); `filename` and
`length` are required, `length` at most 1 GB (slack_sdk's MAX_V2_FILE_SIZE);
`alt_txt` at most 1,000 characters (`alt_txt_too_large`); completing an id we never
handed out, or one whose bytes never arrived, is `file_not_found`, and an id is
completed once. The stand-in also refuses bytes whose size differs from the declared
`length` (HTTP 400): Slack documents no answer for it, and a wrong length is our bug.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.local_slack.base import SlackError  # the one ok:false answer

MAX_FILE_BYTES = 1024 * 1024 * 1024  # slack_sdk's MAX_V2_FILE_SIZE (Slack's limit)
MAX_ALT_TXT = 1000  # files.getUploadURLExternal: alt_txt_too_large beyond it
SCOPE = "files:write"


@dataclass
class Upload:
    """One file from getUploadURLExternal on: its bytes once POSTed, where shared."""

    id: str
    filename: str
    length: int
    alt_txt: str
    data: bytes | None = None
    title: str = ""
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str = ""
    thread_ts: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The file object completeUploadExternal answers with (the fields we use)."""
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": self.length,
            "alt_txt": self.alt_txt,
            "mimetype": _mimetype(self.filename),
            "channels": [c for c in self.channels if c[:1] == "C"],
            "ims": [c for c in self.channels if c[:1] == "D"],
        }


def _mimetype(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"png": "image/png", "csv": "text/csv"}.get(ext, "application/octet-stream")


class Files:
    """The uploads of one workspace. `upload_url(file_id)` makes the URL bytes go
    to; `channel_ok(id)` says whether a channel (or DM) id exists for the bot."""

    def __init__(
        self,
        upload_url: Callable[[str], str],
        channel_ok: Callable[[str], bool],
        share: Callable[[str, str | None, str, list[dict[str, Any]]], None],
    ):
        self._upload_url = upload_url
        self._channel_ok = channel_ok
        self._share = share  # (conversation, thread_ts, text, files): the share's message
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.uploads: dict[str, Upload] = {}

    def reset(self) -> None:
        with self._lock:
            self.uploads.clear()

    def shared(self, channel: str | None = None) -> list[Upload]:
        """Completed uploads (in `channel`, when given), oldest first."""
        with self._lock:
            return [
                u
                for u in self.uploads.values()
                if u.completed and (channel is None or channel in u.channels)
            ]

    @staticmethod
    def need_scope(scopes: frozenset[str]) -> None:
        if SCOPE not in scopes:
            raise SlackError("missing_scope", needed=SCOPE, provided=",".join(sorted(scopes)))

    def get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = str(p.get("filename") or "")
        try:
            length = int(str(p.get("length") or ""))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if not filename or length < 1:
            raise SlackError("invalid_arguments")
        if length > MAX_FILE_BYTES:
            raise SlackError("file_size_exceeded")
        alt_txt = str(p.get("alt_txt") or "")
        if len(alt_txt) > MAX_ALT_TXT:
            raise SlackError("alt_txt_too_large")
        with self._lock:
            file_id = f"F{next(self._ids):010d}"
            self.uploads[file_id] = Upload(file_id, filename, length, alt_txt)
        return {"upload_url": self._upload_url(file_id), "file_id": file_id}

    def receive(self, file_id: str, data: bytes) -> tuple[int, str]:
        """The POST to an upload URL: (HTTP status, body)."""
        with self._lock:
            upload = self.uploads.get(file_id)
            if upload is None or upload.completed:
                return 404, "not found"
            if len(data) != upload.length:
                return 400, f"expected {upload.length} bytes, got {len(data)}"
            upload.data = data
        return 200, f"OK - {len(data)}"

    def complete(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = p.get("files")
        try:
            items = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise SlackError("invalid_arguments")
        channels = [str(p["channel_id"])] if p.get("channel_id") else []
        channels += [c for c in str(p.get("channels") or "").split(",") if c]
        if p.get("thread_ts") and len(channels) != 1:
            raise SlackError("invalid_arguments")  # "only one channel when using thread_ts"
        for channel in channels:
            if not self._channel_ok(channel):
                raise SlackError("channel_not_found")
        with self._lock:
            found = [self.uploads.get(str(i.get("id") or "")) for i in items]
            if any(u is None or u.data is None or u.completed for u in found):
                raise SlackError("file_not_found")
            done: list[dict[str, Any]] = []
            for upload, item in zip(found, items, strict=True):
                assert upload is not None
                upload.completed = True
                upload.title = str(item.get("title") or upload.filename)
                upload.channels = channels
                upload.initial_comment = str(p.get("initial_comment") or "")
                upload.thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
                done.append(upload.to_dict())
        for channel in channels:
            self._share(
                channel,
                str(p["thread_ts"]) if p.get("thread_ts") else None,
                str(p.get("initial_comment") or ""),
                done,
            )
        return {"files": done}
