"""Link unfurling, stood in: a person posts a message with links (`share`, which
returns the `link_shared` event Slack would send), and `chat.unfurl`, checked as
Slack checks it: `links:write`, a message that exists (or a composer unfurl id
we issued), only URLs that were shared in it, valid blocks per URL, Work Object
metadata whose `app_unfurl_url` is one of them."""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.local_slack.base import SlackError  # the one ok:false answer
from bot.local_slack.checks import check_blocks

_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>")


@dataclass
class Shared:
    channel: str
    ts: str
    user: str
    links: list[str]
    unfurl_id: str
    unfurls: dict[str, dict[str, Any]] = field(default_factory=dict)  # url → what shows
    metadata: dict[str, Any] | None = None


class Unfurls:
    def __init__(self, post: Callable[[str, str, str], dict[str, Any]]) -> None:
        self._post = post  # (channel, user, text) → the message, as SlackApi.add_message
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.shared: dict[tuple[str, str], Shared] = {}

    def share(
        self, channel: str, user: str, text: str, team_id: str, *, composer: bool = False
    ) -> str:
        """`user` posts `text` (Slack markup: links as `<https://…>`) in `channel`;
        the `link_shared` event (JSON) for the links in it."""
        message = self._post(channel, user, text)
        links = _LINK.findall(text)
        unfurl_id = f"C{next(self._ids):06d}.{secrets.token_hex(4)}"
        with self._lock:
            self.shared[(channel, message["ts"])] = Shared(
                channel, message["ts"], user, links, unfurl_id
            )
        now = int(time.time())
        event: dict[str, Any] = {
            "type": "link_shared",
            "channel": channel,
            "is_bot_user_member": True,
            "user": user,
            "message_ts": message["ts"],
            "unfurl_id": unfurl_id,
            "thread_ts": None,
            "source": "composer" if composer else "conversations_history",
            "links": [
                {"domain": re.sub(r"^https?://([^/:]+).*$", r"\1", u), "url": u} for u in links
            ],
            "event_ts": f"{now}.000300",
        }
        return json.dumps(
            {
                "token": "verification-token",
                "team_id": team_id,
                "api_app_id": "A0MAPBOT",
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{secrets.token_hex(5).upper()}",
                "event_time": now,
                "authorizations": [
                    {"enterprise_id": None, "team_id": team_id, "user_id": "U0MAPBOT",
                     "is_bot": True, "is_enterprise_install": False}
                ],
            }
        )  # fmt: skip

    def unfurl(self, p: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        if "links:write" not in scopes:
            raise SlackError("missing_scope", needed="links:write")
        with self._lock:
            target = self._target(p)
            unfurls = _json(p.get("unfurls"))
            if not isinstance(unfurls, dict) or not unfurls:
                raise SlackError("invalid_unfurls")
            for url, shown in unfurls.items():
                if url not in target.links:
                    raise SlackError("cannot_unfurl_url")
                blocks = shown.get("blocks") if isinstance(shown, dict) else None
                problems = check_blocks(blocks)
                if problems:
                    raise SlackError("invalid_unfurls", errors=problems)
            metadata = _json(p.get("metadata")) if p.get("metadata") else None
            if metadata is not None:
                entities = metadata.get("entities") if isinstance(metadata, dict) else None
                if not isinstance(entities, list) or not all(
                    isinstance(e, dict) and e.get("app_unfurl_url") in unfurls for e in entities
                ):
                    raise SlackError("invalid_metadata")
                target.metadata = metadata
            target.unfurls.update(unfurls)
        return {}

    def _target(self, p: dict[str, Any]) -> Shared:
        if p.get("unfurl_id") and p.get("source"):
            found = next((s for s in self.shared.values() if s.unfurl_id == p["unfurl_id"]), None)
        elif p.get("channel") and p.get("ts"):
            found = self.shared.get((str(p["channel"]), str(p["ts"])))
        else:
            raise SlackError("invalid_arguments")
        if found is None:
            raise SlackError("cannot_find_message")
        return found


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    return value
