"""The local shell: MAP bot without Slack, Errbot-style.

The real Bolt app runs in-process; Slack's Web API is stood in by LocalSlack on
loopback. What you type becomes the signed request Slack would send (a slash
command, or the `block_actions` payload of button N), dispatched through the
app with signature checks on. What the app sends to "Slack" prints as text
with numbered buttons.
"""

from __future__ import annotations

import secrets
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from slack_bolt.request import BoltRequest

from bot import demo, ids
from bot.app import MapBot, build
from bot.config import Settings
from bot.local_slack import LocalSlack, payloads
from bot.local_slack.text_render import Element, Numbering, Rendered, render_blocks
from bot.shell import forms, timeline
from reminders.tick import tick
from storage import clock
from storage.clock import today_in, zone
from storage.db import Database

DEFAULT_DB = "sqlite:///mapbot-shell.db"
SHELL_TOKEN = "xoxb-local-shell"  # noqa: S105 - the stand-in issued it; nothing real
SHELL_HELP = """\
Shell commands:
  /map …                 run a MAP bot command as the current person
  click N                press button N of the messages shown above
  /as seller|buyer NAME  act as someone (known: {people}); a new name is made up
  /in CHANNEL            switch channel (default #monsters-deal)
  /show                  print the plan card of this channel again
  /home                  open your App Home tab
  /say TEXT              post a message as yourself; /shortcut turns it into a task
  set X VALUE            fill field X of the open modal; submit / cancel
  /clock +30m | +3h | +1d | +1w | 2026-12-07 09:00 | 2026-12-07T14:00:00Z
                         move time (your zone unless the instant says) and run the
                         scheduler at every 09:00, digest time and midnight passed
  /help                  this text        /quit  leave (Ctrl-D too)"""


@dataclass
class Persona:
    user_id: str
    name: str
    team_id: str

    def side(self) -> str:
        return "seller" if self.team_id == demo.SELLER_TEAM else "buyer"


class Shell:
    def __init__(self, db: Database, out: TextIO) -> None:
        self.out = out
        self.local = LocalSlack(team_id=demo.SELLER_TEAM, tokens={SHELL_TOKEN}).start()
        self.channels = {"monsters-deal": demo.DEAL_CHANNEL}
        for p in demo.PEOPLE:
            self.local.add_user(p.user_id, team_id=p.team_id, name=p.name, tz=p.tz, title=p.title)
        self.local.add_channel(demo.DEAL_CHANNEL, "monsters-deal", shared=True)
        self.secret = secrets.token_hex(16)
        settings = Settings(
            bot_token=SHELL_TOKEN,
            signing_secret=self.secret,
            slack_api_url=self.local.base_url,
            database_url=db.url,
            card_update_interval=0.0,
        )
        self.bot: MapBot = build(settings, db)
        self.me = Persona("U0LEX", "lex", demo.SELLER_TEAM)
        self.channel = "monsters-deal"
        self.seen_calls = 0
        self.seen_ephemerals: dict[str, int] = {}
        # n → element, and where it is: a message (channel, ts) or a view (modal, Home).
        self.buttons: dict[int, tuple[Element, str, str | dict[str, Any]]] = {}
        # An element keeps its number while it is unchanged (same place, block,
        # action and value), so `click 3` means the same button after a refresh.
        self.numbers: dict[tuple[str, str, str, str], int] = {}
        self.modal: dict[str, Any] | None = None  # the open modal, as Slack holds it
        self.fields: list[forms.Field] = []
        self.on_home = False
        self.said: dict[str, Any] | None = None  # the last `/say` message

    # --- helpers ---------------------------------------------------------------

    @property
    def channel_id(self) -> str:
        return self.channels[self.channel]

    def name_of(self, object_id: str) -> str:
        """A person's name, or a channel's (Slack shows `<#C123>` as its name)."""
        channels = {cid: name for name, cid in self.channels.items()}
        return self.local.user_name(object_id) or channels.get(object_id) or object_id

    def numbering(self, place: str) -> Numbering:
        """Numbers for the elements shown in `place`: the same element, the same number."""

        def number(block_id: str, action_id: str, value: str) -> int:
            key = (place, block_id, action_id, value)
            if key not in self.numbers:
                self.numbers[key] = len(self.numbers) + 1
            return self.numbers[key]

        return number

    def forget(self, channel: str, where: str | dict[str, Any]) -> None:
        """Buttons of a message that changed or went away are no longer on screen."""
        gone = [n for n, (_el, ch, w) in self.buttons.items() if (ch, w) == (channel, where)]
        for n in gone:
            del self.buttons[n]

    def forget_views(self) -> None:
        """A modal or Home tab's buttons, once it is replaced or closed; messages stay,
        as they do in Slack's channel."""
        for n in [n for n, (_el, _ch, w) in self.buttons.items() if isinstance(w, dict)]:
            del self.buttons[n]

    def render(self, blocks: list[dict[str, Any]] | dict[str, Any], place: str) -> Rendered:
        return render_blocks(blocks, self.name_of, numbering=self.numbering(place))

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def prompt(self) -> str:
        return f"[{self.me.name}@{self.me.side()} #{self.channel}]> "

    def dispatch(self, body: str, *, json_body: bool = False) -> Any:
        headers: dict[str, str | Sequence[str]] = dict(
            payloads.signed_headers(body, self.secret, json_body=json_body)
        )
        response = self.bot.app.dispatch(BoltRequest(body=body, headers=headers))
        self.bot.deps.settle(10)
        return response

    # --- showing what "Slack" received ------------------------------------------

    def show(
        self,
        title: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        channel: str,
        where: str | dict[str, Any],  # the message ts, or the view the blocks are in
    ) -> None:
        self.say(f"── {title} " + "─" * max(0, 60 - len(title)))
        if blocks:
            # Messages of a channel share numbers (a card reposted keeps them); an
            # ephemeral's and a view's are their own, so neither takes over the card's.
            place = "view" if isinstance(where, dict) else channel + ("" if where else ":only-you")
            rendered = self.render(blocks, place)
            self.say(rendered.text)
            if where:  # this message's old buttons are shown anew below; ephemerals stay
                self.forget(channel, where)
            for el in rendered.elements:
                self.buttons[el.number] = (el, channel, where)
        else:
            self.say(text)

    def print_new_calls(self) -> None:
        calls = self.local.calls[self.seen_calls :]
        self.seen_calls += len(calls)
        for call in calls:
            p = call.params
            channel = str(p.get("channel", ""))
            dm = channel == self.me.user_id
            if channel and channel != self.channel_id and not dm:
                continue
            if call.method == "chat.postMessage" and call.ok:
                where = "DM from MAP bot" if dm else f"#{self.channel} · MAP bot"
                if p.get("thread_ts"):
                    where += " (in the card's thread)"
                self.show(
                    where,
                    p.get("text", ""),
                    p.get("blocks"),
                    str(call.result.get("channel", channel)),
                    str(call.result.get("ts", "")),
                )
            elif call.method in ("views.open", "views.push", "views.update") and call.ok:
                self.open_modal(call.result.get("view") or {})
            elif call.method == "views.publish" and call.ok and self.on_home:
                if p.get("user_id") == self.me.user_id:
                    view = call.result.get("view") or {}
                    self.show("App Home", "", view.get("blocks"), "", view)
            elif call.method == "chat.delete" and call.ok:
                self.forget(channel, str(p.get("ts", "")))
            elif call.method == "files.completeUploadExternal" and call.ok:
                self.save_files(call.result.get("files") or [])
            elif call.method == "chat.update":
                self.show(
                    f"#{self.channel} · MAP bot (updated)",
                    p.get("text", ""),
                    p.get("blocks"),
                    channel,
                    str(p.get("ts", "")),
                )
        # Ephemerals come by chat.postEphemeral and by response_url.
        mine = self.local.ephemerals(self.channel_id, self.me.user_id)
        for eph in mine[self.seen_ephemerals.get(self.me.user_id, 0) :]:
            self.show("only visible to you", eph.text, eph.blocks, eph.channel, "")
        self.seen_ephemerals[self.me.user_id] = len(mine)

    def save_files(self, shared: list[dict[str, Any]]) -> None:
        """A file MAP bot shared (the timeline, a CSV): written next to the shell."""
        for f in shared:
            upload = self.local.files.uploads.get(str(f.get("id")))
            if upload is None or upload.data is None:
                continue
            path = Path.cwd() / f"mapbot-{Path(upload.filename).name}"
            path.write_bytes(upload.data)
            where = (
                "DM from MAP bot"
                if upload.channels[:1] == ["D" + self.me.user_id]
                else (f"#{self.channel} · MAP bot")
            )
            self.say(f"{where}: shared {upload.title!r}, written to {path}")
            if upload.alt_txt:
                self.say(f"  ({upload.alt_txt})")

    def show_ephemeral_response(self, body: str) -> None:
        import json

        if not body:
            return
        try:
            data = json.loads(body)
        except ValueError:
            self.say(body)
            return
        self.show(
            "only visible to you", data.get("text", ""), data.get("blocks"), self.channel_id, ""
        )

    # --- commands ----------------------------------------------------------------

    def run_line(self, line: str) -> bool:
        """Handle one line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit", "quit", "exit"):
            return False
        if line.startswith("/map"):
            self.forget_views()
            body = payloads.slash_command_body(
                text=line[4:].strip(),
                user_id=self.me.user_id,
                team_id=self.me.team_id,
                channel_id=self.channel_id,
                user_name=self.me.name,
                channel_name=self.channel,
                response_url=self.local.response_url(self.channel_id, self.me.user_id),
            )
            if self.me.side() == "buyer" and self.me.team_id != demo.SELLER_TEAM:
                self.say(
                    "(In Slack Connect, Slack does not route another org's slash commands "
                    "to you: buyers use the buttons.)"
                )
                return True
            resp = self.dispatch(body)
            self.show_ephemeral_response(resp.body)
            self.print_new_calls()
        elif line.startswith("set ") or line in ("submit", "cancel", "fields"):
            self.modal_line(line)
        elif line == "/home":
            self.open_home()
        elif line.startswith("/say "):
            self.said = self.local.add_message(self.channel_id, self.me.user_id, line[5:])
            self.say(f"{self.me.name}: {line[5:]}")
        elif line.startswith("/clock"):
            self.move_clock(line[6:].strip())
        elif line == "/shortcut":
            self.shortcut()
        elif line.startswith("click"):
            self.click(line[5:].strip())
        elif line.startswith("/as"):
            self.switch_person(line[3:].strip())
        elif line.startswith("/in"):
            self.switch_channel(line[3:].strip().lstrip("#"))
        elif line == "/show":
            self.show_card()
        elif line in ("/help", "help", "?"):
            self.say(
                SHELL_HELP.format(
                    people=", ".join(
                        f"{p.name} ({'seller' if p.team_id == demo.SELLER_TEAM else 'buyer'})"
                        for p in demo.PEOPLE
                    )
                )
            )
        else:
            self.say(f"Unknown: {line!r}. Type /help.")
        return True

    def click(self, arg: str) -> None:
        if not arg.isdigit() or int(arg) not in self.buttons:
            self.say(f"No button [{arg}] on screen. /show prints the card again.")
            return
        el, channel, ts = self.buttons[int(arg)]
        if isinstance(ts, dict):  # inside a modal or the Home tab
            self.forget_views()
            self.dispatch(
                payloads.view_block_actions_body(
                    user_id=self.me.user_id,
                    user_team_id=self.me.team_id,
                    team_id=demo.SELLER_TEAM,
                    view=ts,
                    action=el.action(),
                )
            )
            self.print_new_calls()
            return
        message = self.local.message(channel, ts) if ts else None
        body = payloads.block_actions_body(
            user_id=self.me.user_id,
            user_team_id=self.me.team_id,
            team_id=demo.SELLER_TEAM,
            channel_id=channel,
            action=el.action(),
            message=message,
            message_ts=ts,
            response_url=self.local.response_url(channel, self.me.user_id),
            is_ephemeral=not ts,
        )
        self.forget_views()
        self.dispatch(body)
        self.print_new_calls()

    def switch_person(self, arg: str) -> None:
        try:
            side, name = shlex.split(arg)
        except ValueError:
            self.say("Usage: /as seller|buyer NAME")
            return
        if side not in ("seller", "buyer"):
            self.say("Usage: /as seller|buyer NAME")
            return
        known = next((p for p in demo.PEOPLE if p.name == name.lower()), None)
        if known is not None:
            self.me = Persona(known.user_id, known.name, known.team_id)
        else:
            team = demo.SELLER_TEAM if side == "seller" else demo.BUYER_TEAM
            user_id = ("U" if side == "seller" else "W") + "0" + name.upper()[:8]
            self.local.add_user(user_id, team_id=team, name=name.lower(), tz="America/New_York")
            self.me = Persona(user_id, name.lower(), team)
        self.say(f"You are now {self.me.name}, {self.me.side()} side.")

    def switch_channel(self, name: str) -> None:
        if not name:
            self.say("Usage: /in CHANNEL")
            return
        if name not in self.channels:
            self.channels[name] = "C0" + name.upper().replace("-", "")[:9]
            self.local.add_channel(self.channels[name], name, shared=True)
        self.channel = name
        self.say(f"Now in #{name}.")

    def show_card(self) -> None:
        from storage.readmodel import active_plan

        with self.bot.deps.db.read() as s:
            plan = active_plan(s, demo.SELLER_TEAM, self.channel_id)
            ts = plan.card_ts if plan else None
        msg = self.local.message(self.channel_id, ts) if ts else None
        if msg is None:
            self.say("No plan card in this channel yet: /map status posts it.")
            return
        self.show(
            f"#{self.channel} · MAP bot", msg["text"], msg["blocks"], self.channel_id, str(ts)
        )

    # --- modals, Home and the message shortcut ------------------------------------

    def open_modal(self, view: dict[str, Any]) -> None:
        self.modal = view
        self.fields = forms.fields_of(view)
        self.say(f"── modal · {view.get('title', {}).get('text', '')} " + "─" * 40)
        rendered = self.render(view, f"modal:{view.get('callback_id', '')}")
        self.say(rendered.text)
        for el in rendered.elements:
            self.buttons[el.number] = (el, "", view)
        if self.fields:
            self.say("Fields (set X VALUE, then submit):\n" + forms.describe(self.fields))

    def modal_line(self, line: str) -> None:
        if self.modal is None:
            self.say("No modal is open.")
            return
        if line == "fields":
            self.say(forms.describe(self.fields))
        elif line == "cancel":
            self.modal, self.fields = None, []
            self.say("Modal closed.")
        elif line == "submit":
            self.submit()
        else:
            _set, letter, *rest = line.split(" ", 2)
            target = next((f for f in self.fields if f.letter == letter), None)
            if target is None:
                self.say(f"No field ({letter}). `fields` lists them.")
                return
            target.value = rest[0] if rest else ""
            self.say(f"  ({letter}) {target.label} = {target.value!r}")

    def submit(self) -> None:
        import json

        assert self.modal is not None
        values = forms.state_values(self.fields, self.user_id_of)
        body = payloads.view_submission_body(
            user_id=self.me.user_id,
            user_team_id=self.me.team_id,
            team_id=self.me.team_id,
            app_installed_team_id=demo.SELLER_TEAM,
            view=self.modal,
            values=values,
        )
        response = self.dispatch(body)
        answer = json.loads(response.body) if response.body else {}
        if answer.get("response_action") == "errors":
            for block_id, error in answer.get("errors", {}).items():
                label = next((f.label for f in self.fields if f.block_id == block_id), block_id)
                self.say(f"  ✗ {label}: {error}")
            return
        if answer.get("response_action") in ("update", "push"):
            self.forget_views()
            self.open_modal(answer.get("view") or {})
            return
        self.modal, self.fields = None, []
        self.forget_views()
        self.say("Submitted.")
        self.print_new_calls()

    def user_id_of(self, name: str) -> str:
        person = next((p for p in demo.PEOPLE if p.name == name.lower()), None)
        return person.user_id if person is not None else name

    def open_home(self) -> None:
        self.on_home = True
        self.forget_views()
        event = {
            "type": "app_home_opened",
            "user": self.me.user_id,
            "tab": "home",
            "channel": "D0HOME",
        }
        self.dispatch(payloads.event_body(team_id=demo.SELLER_TEAM, event=event), json_body=True)
        self.print_new_calls()
        self.on_home = False

    def shortcut(self) -> None:
        if self.said is None:
            self.say("Say something first (/say TEXT), then /shortcut turns it into a task.")
            return
        self.forget_views()
        body = payloads.message_shortcut_body(
            user_id=self.me.user_id,
            user_team_id=self.me.team_id,
            team_id=demo.SELLER_TEAM,
            channel_id=self.channel_id,
            message=self.said,
            callback_id=ids.SHORTCUT_ADD_FROM_MESSAGE,
            response_url=self.local.response_url(self.channel_id, self.me.user_id),
        )
        self.dispatch(body)
        self.print_new_calls()

    # --- time and the scheduler ------------------------------------------------------

    def move_clock(self, arg: str) -> None:
        """`/clock +1w`, `/clock 2026-12-07 09:00` (your zone), an ISO instant: then
        a reminder pass at every instant that matters on the way, oldest first, as
        the minute scheduler would have run them (bot.shell.timeline)."""
        person = next((p for p in demo.PEOPLE if p.user_id == self.me.user_id), None)
        here = zone(person.tz if person else "America/New_York")
        now = clock.now()
        try:
            at = timeline.target(arg, now, here)
        except timeline.BadInstant:
            self.say(
                "Usage: /clock +30m | +3h | +1d | +1w | 2026-12-07 09:00 (your time) | "
                "2026-12-07T14:00:00Z, at most 92 days away"
            )
            return
        self.forget_views()
        for stop in timeline.scheduled_between(self.bot.deps.db, now, at):
            if stop != at:
                self.tick_at(stop, here, quiet=True)
        self.tick_at(at, here, quiet=False)
        self.say(f"It is now {at.astimezone(here):%a %d %b %Y %H:%M %Z} for {self.me.name}.")

    def tick_at(self, at: datetime, here: tzinfo, *, quiet: bool) -> None:
        """One scheduler pass at `at`, and what it sent; `quiet`: say nothing if nothing."""
        clock.set_clock(lambda: at)
        result = tick(self.bot.deps.db, at, self.bot.deps.workspaces.client_for, pace=0)
        if quiet and not (result.queued or result.delivery.sent or result.delivery.failed):
            return
        self.say(f"⏰ {at.astimezone(here):%a %d %b %H:%M %Z} (scheduler: {result.summary()})")
        self.print_new_calls()

    def has_plan(self) -> bool:
        from storage.readmodel import active_plan

        with self.bot.deps.db.read() as s:
            return active_plan(s, demo.SELLER_TEAM, self.channel_id) is not None

    def close(self) -> None:
        clock.set_clock(None)
        self.bot.deps.settle(5)
        self.bot.deps.stop()
        self.local.stop()


def run_shell(
    *,
    demo_plan: bool = False,
    db_url: str | None = None,
    lines: Iterable[str] | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    db = Database(db_url or DEFAULT_DB)
    shell = Shell(db, out)
    if demo_plan:
        demo.seed_demo(db, today_in("America/New_York"))
    interactive = lines is None and sys.stdin.isatty()
    print("MAP bot local shell — Slack stood in on loopback. /help for help.", file=out)
    # The stand-in starts empty each time: post the channel's card (if any) anew.
    if shell.has_plan():
        shell.run_line("/map status")
    source = lines if lines is not None else _stdin_lines(shell, interactive)
    try:
        for line in source:
            if not interactive:
                print(shell.prompt() + line.rstrip("\n"), file=out)
            if not shell.run_line(line):
                break
    except KeyboardInterrupt:
        pass
    finally:
        shell.close()
    return 0


def _stdin_lines(shell: Shell, interactive: bool) -> Iterable[str]:
    if not interactive:
        yield from sys.stdin
        return
    while True:
        try:
            yield input(shell.prompt())
        except EOFError:
            return
