"""chat.*: messages the app posts, updates and deletes, ephemerals, permalinks."""

from __future__ import annotations

import json
from typing import Any

from bot.local_slack.base import ApiBase, SlackError
from bot.local_slack.checks import check_blocks, check_text
from bot.local_slack.records import Ephemeral, Msg


class ChatMethods(ApiBase):
    def _message_body(self, method: str, params: dict[str, Any]) -> None:
        self._refuse(method, check_text(params), "msg_too_long")
        if params.get("blocks") is not None:
            self._refuse(method, check_blocks(params["blocks"]))
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            raise SlackError("no_text")

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/chat.postMessage (errors):
        channel_not_found "Value passed for channel was invalid", not_in_channel
        "Cannot post user messages to a channel they are not in" (a bot token
        without chat:write.public, or any private channel), msg_too_long."""
        self._need(p, "channel")
        channel, info = self._conversation(str(p["channel"]))
        if info is not None and not info["bot_member"]:
            public = not info["private"] and "chat:write.public" in self._caller_scopes
            if not public:
                raise SlackError("not_in_channel")
        self._message_body("chat.postMessage", p)
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        metadata = p.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        msg = Msg(
            ts=self.next_ts(),
            text=str(p.get("text") or ""),
            blocks=list(p.get("blocks") or []),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=thread_ts,
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

    def _own(self, p: dict[str, Any], refusal: str) -> Msg:
        """The app's own message at (channel, ts). chat.update / chat.delete with a
        bot token: "cant_update_message" / "cant_delete_message" for anyone else's
        (https://docs.slack.dev/reference/methods/chat.update and chat.delete, errors)."""
        self._need(p, "channel", "ts")
        channel, _ = self._conversation(str(p["channel"]))
        msg = self._find(channel, str(p["ts"]))
        if msg is None:
            raise SlackError("message_not_found")
        if msg.bot_id != self.bot_id:
            raise SlackError(refusal)
        return msg

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._own(p, "cant_update_message")
        self._message_body("chat.update", p)
        if "text" in p:
            msg.text = str(p["text"] or "")
        if "blocks" in p:
            msg.blocks = list(p["blocks"] or [])
        msg.edited = True
        return {"channel": p["channel"], "ts": msg.ts, "text": msg.text, "message": msg.to_dict()}

    def _delete(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._own(p, "cant_delete_message")
        self._messages[self.dm_channel(str(p["channel"]))].remove(msg)
        return {"channel": p["channel"], "ts": msg.ts}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/chat.postEphemeral (errors):
        channel_not_found, user_not_found, user_not_in_channel."""
        self._need(p, "channel", "user")
        _, channel = self._conversation(str(p["channel"]))
        if str(p["user"]) not in self._users:
            raise SlackError("user_not_found")
        self._message_body("chat.postEphemeral", p)
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
        channel, _ = self._conversation(str(p["channel"]))
        if self._find(channel, str(p["message_ts"])) is None:
            raise SlackError("message_not_found")
        ts = str(p["message_ts"]).replace(".", "")
        return {
            "channel": p["channel"],
            "permalink": f"https://{self.domain}.slack.com/archives/{p['channel']}/p{ts}",
        }
