"""Drafting a plan from call notes: `/map draft` (a modal to paste them) and the
message shortcut "Draft plan from this"; then the review modal, where the rep
keeps or drops each task and fixes its side, assignee and date. Nothing is
created before the review is submitted, and every step is checked again on the
server: sellers only, the draft its author's, the channel's plan theirs to edit.

With the built-in extractor the review opens at once (it takes milliseconds).
With a language model the modal says "drafting…" and the outbox worker fills it
in (`reminders.delivery.draft`): the model is never asked within a request.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.deps import Deps
from bot.identity import CHECKING_WHO
from bot.members import fetch_members
from bot.render.draft_modals import draft_id_of, notes_modal, read_notes, read_review, working_modal
from bot.text import escape, view_error
from commands.drafting.extract import extract
from reminders.delivery.draft import mark_draft, review_view
from storage import drafts, membership, services
from storage.clock import today_in
from storage.db import Database
from storage.rules import Actor

log = logging.getLogger(__name__)


def check(db: Database, actor: Actor, channel: str, user_tz: str) -> tuple[str | None, str]:
    """(a refusal, or None; the zone dates are read in): the plan's, else the rep's."""
    try:
        with db.read() as s:
            plan = drafts.check_channel(s, actor, channel)
            return None, plan.tz if plan is not None else user_tz
    except services.DomainError as e:
        return f":no_entry: {e.message}", user_tz


def open_notes(
    deps: Deps, client: WebClient, team_id: str, channel: str, trigger_id: str, tz: str
) -> None:
    """The notes form (after `check` passed and the request was acknowledged); then,
    while the rep pastes, who is in the channel, so names in the notes can be
    matched to its members (one cached call; people we have seen have names)."""
    client.views_open(trigger_id=trigger_id, view=notes_modal(channel, today_in(tz)))
    with deps.db.read() as s:
        unknown = membership.unknown_channels(s, team_id, [channel])
    if unknown:
        fetch_members(deps.db, client, team_id, channel)


def _begin(
    deps: Deps, actor: Actor, channel: str, notes: str, call_date: date, view_id: str | None
) -> tuple[dict[str, Any], int]:
    """Keep the notes; the review when the built-in extractor drafts, else the
    "drafting…" modal and a row for the worker (which needs the modal's id)."""
    llm = deps.settings.llm()
    with deps.db.write() as s:
        if llm is None:
            proposal = extract(notes, drafts.context(s, actor, channel, call_date))
            draft = drafts.start(s, actor, channel, notes, call_date, proposal)
        else:
            draft = drafts.start(s, actor, channel, notes, call_date, None, view_id)
        draft_id = draft.id
    if llm is None:
        view = review_view(deps.db, draft_id)
        assert view is not None  # ready: it was just made so
        return view, draft_id
    return working_modal(), draft_id


def _summary(applied: drafts.Applied, title: str) -> str:
    numbers = ", ".join(f"`#{n}`" for n in applied.numbers) or "none"
    head = (
        f"Created the plan *{escape(title)}*"
        if applied.created_plan
        else "Added to this channel's plan"
    )
    parts = [f"{head}: {len(applied.numbers)} task(s) from your notes ({numbers})."]
    if applied.already:
        parts.append(
            "Already in the plan, so left out: "
            + "; ".join(f"“{escape(t)}”" for t in applied.already[:10])
            + "."
        )
    parts.extend(applied.notes)
    return " ".join(parts)


def register(app: App, deps: Deps) -> None:
    @app.view(ids.VIEW_DRAFT_NOTES)
    def notes_submitted(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        # The answer is the ack: from the payload and the cache, no Slack call.
        known = deps.actor_now(context, body.get("user"))
        actor, tz = known.actor, known.tz
        view = body.get("view") or {}
        form = read_notes((view.get("state") or {}).get("values") or {})
        if isinstance(form, dict):
            ack(response_action="errors", errors=form)
            return
        notes, picked = form
        channel = str(view.get("private_metadata") or "")
        problem, zone = check(deps.db, actor, channel, tz)
        if problem:
            why = f"{problem} {CHECKING_WHO}" if known.unsure else problem
            ack(response_action="errors", errors={ids.F_DRAFT_NOTES: view_error(why)})
            return
        view_id = str(view.get("id") or "")
        shown, draft_id = _begin(
            deps, actor, channel, notes, picked or today_in(zone), view_id or None
        )
        ack(response_action="update", view=shown)  # the same modal, its id unchanged
        if shown.get("callback_id") == ids.VIEW_DRAFT_WORKING and view_id:
            mark_draft(deps.db, actor.team_id, view_id, draft_id)
            deps.refresher.wake()

    @app.shortcut(ids.SHORTCUT_DRAFT_FROM_MESSAGE)
    def draft_from_message(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        ack()

        # After the answer (process_before_response: the listener's time is the ack's).
        def work() -> None:
            actor, tz = deps.actor(context, client, body.get("user"))
            channel = str((body.get("channel") or {}).get("id") or "")
            message: dict[str, Any] = body.get("message") or {}
            problem, zone = check(deps.db, actor, channel, tz)
            if problem:
                _tell(respond, body, problem)
                return
            notes = message.get("text")
            trigger_id = body.get("trigger_id")
            if not isinstance(trigger_id, str) or not trigger_id:
                return  # nothing to open a modal with
            if not isinstance(notes, str) or not notes.strip():
                _tell(respond, body, ":no_entry: That message has no text to draft from.")
                return
            call_date = _message_date(message.get("ts"), zone)
            if deps.settings.llm() is None:
                view, _ = _begin(deps, actor, channel, notes, call_date, None)
                client.views_open(trigger_id=trigger_id, view=view)
                return
            # Slack's trigger_id lasts 3 seconds: the modal first, the model after.
            opened = client.views_open(trigger_id=trigger_id, view=working_modal())
            view_id = str((opened.get("view") or {}).get("id") or "")
            _, draft_id = _begin(deps, actor, channel, notes, call_date, view_id)
            mark_draft(deps.db, actor.team_id, view_id, draft_id)
            deps.refresher.wake()

        deps.later(work)

    @app.action(ids.DRAFT_ELEMENT_RE)
    def review_field_changed(ack: Ack) -> None:
        ack()  # read on submission; a change alone does nothing

    @app.view(ids.VIEW_DRAFT_REVIEW)
    def review_submitted(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        known = deps.actor_now(context, body.get("user"))  # the answer is the ack
        actor, tz = known.actor, known.tz
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        draft_id = draft_id_of(view.get("private_metadata"))
        try:
            with deps.db.write() as s:
                if draft_id is None:
                    raise services.NotFound(drafts.GONE)
                draft = drafts.get(s, actor, draft_id)
                proposal = drafts.proposal_of(draft)
                if proposal is None:
                    raise services.Invalid("The draft isn't ready yet: wait a moment.")
                review = read_review(values, len(proposal.tasks))
                if isinstance(review, dict):
                    ack(response_action="errors", errors=review)
                    return
                applied = drafts.apply(
                    s,
                    actor,
                    draft,
                    review.choices,
                    title=review.title or proposal.title,
                    golive=review.golive,
                    tz=tz,
                )
                channel = draft.channel_id
                title = review.title or proposal.title or "Action plan"
        except services.DomainError as e:
            unsure = known.unsure and isinstance(e, (services.Forbidden, services.NotFound))
            why = f"{e.message} {CHECKING_WHO}" if unsure else e.message
            ack(response_action="errors", errors={ids.F_DRAFT_GOLIVE: view_error(why)})
            return
        ack()
        if applied.created_plan:
            deps.publisher.repost(actor.team_id, applied.plan_id)
        else:  # the added tasks queued the card's refresh with them
            deps.refresher.wake()
        summary = _summary(applied, title)

        def tell() -> None:  # for the rep alone, after the answer
            client.chat_postEphemeral(channel=channel, user=actor.user_id, text=summary)

        deps.later(tell)


def _tell(respond: Respond, body: dict[str, Any], text: str) -> None:
    """An ephemeral answer through the shortcut's response URL, when it has one."""
    if isinstance(body.get("response_url"), str) and body["response_url"]:
        respond(text=text, response_type="ephemeral")


def _message_date(ts: object, tz: str) -> date:
    """The day a message was posted, in the plan's zone: the call's date."""
    try:
        return today_in(tz, datetime.fromtimestamp(float(str(ts)), tz=UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return today_in(tz)
