"""End-to-end harness: the real app served over real HTTP on loopback, Slack's
Web API stood in by `LocalSlack`, and requests signed as Slack signs them."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.app import MapBot, build
from bot.config import Settings
from bot.local_slack import LocalSlack, payloads
from bot.server import wsgi_app
from storage.db import Database

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
SELLER_TEAM = "T0LEXCORP"
BUYER_TEAM = "T0MONSTERS"
CHANNEL = "C0DEAL"


@dataclass
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextmanager
def serve_wsgi(app: Any) -> Iterator[int]:
    """Serve a WSGI app over real HTTP on a free loopback port (threaded, like
    production's waitress, but with a clean shutdown between tests)."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Harness:
    def __init__(self, local: LocalSlack, bot: MapBot, port: int) -> None:
        self.local = local
        self.bot = bot
        self.port = port
        self.responses: list[Response] = []  # every answer our app gave, in order

    # --- raw HTTP ------------------------------------------------------------

    def post(self, body: str, headers: dict[str, str], path: str = "/slack/events") -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("POST", path, body=body.encode(), headers=headers)
            resp = conn.getresponse()
            answer = Response(resp.status, resp.read().decode())
            self.responses.append(answer)
            self._closes_views(body, answer)
            return answer
        finally:
            conn.close()

    def _closes_views(self, body: str, answer: Response) -> None:
        """What Slack does with our answer to a view submission: an empty ack closes the
        view, `clear` closes them all, `errors`/`update`/`push` keep it open (and a
        view_closed payload closed it already)."""
        if not body.startswith("payload=") or "view_" not in body:
            return
        try:  # whatever a test sends: malformed, 1,000 levels deep…
            payload = json.loads(parse_qs(body)["payload"][0])
            kind, view, user = payload["type"], payload["view"]["id"], payload["user"]["id"]
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            return
        if kind == "view_closed":
            self.local.close_view(str(user), str(view))
        if kind != "view_submission" or answer.status != 200:
            return
        try:
            action = (json.loads(answer.body) if answer.body else {}).get("response_action")
        except (ValueError, AttributeError):
            return
        if action in (None, "clear"):
            self.local.close_view(str(user), str(view), everything=action == "clear")

    def get(self, path: str) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return Response(resp.status, resp.read().decode())
        finally:
            conn.close()

    def signed(
        self,
        body: str,
        *,
        json_body: bool = False,
        timestamp: int | None = None,
        settle: bool = True,
    ) -> Response:
        """Send as Slack would; once answered, let the work the app left for after
        its ack finish (tests read its effects next; tests/test_ack_first.py
        checks the answers come first)."""
        answer = self.post(
            body, payloads.signed_headers(body, SECRET, timestamp=timestamp, json_body=json_body)
        )
        # (A burst of clicks from several threads settles once, at its end; a
        # harness around a bare WSGI app has no bot.)
        if settle and self.bot is not None:
            assert self.bot.deps.after.settle(10), "work after the ack did not finish"
        return answer

    # --- as Slack would send them -------------------------------------------

    def in_channel(self, channel: str) -> None:
        """Slack sends a command or click only from a channel it has: a deal channel
        the scene did not set up exists (shared, the app invited) once used."""
        if not self.local.has_channel(channel):
            self.local.add_channel(channel, channel.lower(), shared=True)

    def command(
        self, text: str, *, user: str = "U0LEX", team: str = SELLER_TEAM, channel: str = CHANNEL
    ) -> Response:
        """What the typer sees: the ack's body, or, when the command had to wait for
        Slack (someone never looked up), the reply it then sent to its response URL."""
        self.in_channel(channel)
        url = self.local.response_url(channel, user)
        body = payloads.slash_command_body(
            text=text, user_id=user, team_id=team, channel_id=channel, response_url=url
        )
        answer = self.signed(body)
        if answer.status == 200 and not answer.body:
            posts = self.local.posts_to(url)
            if posts:
                return Response(200, json.dumps(posts[-1]))
        return answer

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "W0MIKE",
        user_team: str = BUYER_TEAM,
        channel: str = CHANNEL,
        block_id: str = "b",
        settle: bool = True,
    ) -> Response:
        action = {"action_id": action_id, "block_id": block_id, "value": value, "type": "button"}
        body = self.card_click_body(action, (user, user_team), channel)
        return self.signed(body, settle=settle)

    def card_click_body(
        self, action: dict[str, Any], who: tuple[str, str], channel: str = CHANNEL
    ) -> str:
        """A block_actions body for a click on the card in `channel` by `who`
        (user id, their own team id), with a response URL the stand-in knows."""
        self.in_channel(channel)
        card = self.card(channel)
        return payloads.block_actions_body(
            user_id=who[0],
            user_team_id=who[1],
            team_id=SELLER_TEAM,
            channel_id=channel,
            action=action,
            message=card,
            message_ts=card["ts"] if card else "",
            response_url=self.local.response_url(channel, who[0]),
        )

    # --- reading what Slack would show --------------------------------------

    def settle(self) -> None:
        """Wait until the card publisher has sent everything."""
        assert self.bot.deps.settle(10), "background senders did not settle"

    def card(self, channel: str = CHANNEL) -> dict[str, Any] | None:
        """The current plan card message in the channel, as the fake holds it."""
        with self.bot.deps.db.read() as s:
            from storage.readmodel import active_plan

            plan = active_plan(s, SELLER_TEAM, channel)
            ts = plan.card_ts if plan else None
        for msg in self.local.messages(channel):
            if msg.ts == ts:
                return {"ts": msg.ts, "text": msg.text, "blocks": msg.blocks}
        return None

    def card_text(self, channel: str = CHANNEL) -> str:
        card = self.card(channel)
        return json.dumps(card["blocks"], ensure_ascii=False) if card else ""

    def button_value(self, action_id: str, task_number: int, channel: str = CHANNEL) -> str:
        """The value of a task's button on the card, found by its `#N`."""
        card = self.card(channel)
        assert card is not None, "no card in the channel"
        blocks = card["blocks"]
        for i, b in enumerate(blocks):
            if b["type"] == "section" and f"`#{task_number}`" in b.get("text", {}).get("text", ""):
                for e in blocks[i + 1].get("elements", []):
                    if e.get("action_id") == action_id:
                        return str(e["value"])
        raise AssertionError(f"no {action_id} button for #{task_number} on the card")


@contextmanager
def running_app(
    db: Database,
    *,
    update_interval: float = 0.0,
    slack_timeout: int = 10,
    settings: dict[str, Any] | None = None,
) -> Iterator[Harness]:
    """The whole app over HTTP, with the Slack stand-in and two teams' people;
    `settings`: more Settings fields (e.g. a drafting model's endpoint)."""
    with LocalSlack(team_id=SELLER_TEAM) as local:
        for uid, name, team, tz in (
            ("U0LEX", "lex", SELLER_TEAM, "America/New_York"),
            ("U0MERCY", "mercy", SELLER_TEAM, "America/Chicago"),
            ("W0MIKE", "mike", BUYER_TEAM, "America/Los_Angeles"),
            ("W0SULLEY", "sulley", BUYER_TEAM, "America/Los_Angeles"),
        ):
            local.add_user(uid, team_id=team, name=name, tz=tz)
        local.add_user("U0GUEST", team_id=SELLER_TEAM, name="guest", is_restricted=True)
        local.add_channel(CHANNEL, "monsters-deal", shared=True)
        app_settings = Settings(
            bot_token=TOKEN,
            signing_secret=SECRET,
            slack_api_url=local.base_url,
            database_url=db.url,
            card_update_interval=update_interval,
            slack_timeout=slack_timeout,
            **(settings or {}),
        )
        bot = build(app_settings, db)
        with serve_wsgi(wsgi_app(bot.app, bot.deps.db)) as port:
            harness = Harness(local, bot, port)
            yield harness
            # A short grace, then stop (which drains): a test may leave a row that
            # cannot go out (Slack frozen, refused), and waiting on it is wasted.
            bot.deps.settle(3)
            bot.deps.stop()


def now() -> int:
    return int(time.time())
