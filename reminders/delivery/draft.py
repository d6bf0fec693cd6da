"""A drafting modal filled in after the request was answered: the outbox row
(`refreshes.DRAFT`, one per modal) is claimed by the refresh worker, which asks
the language model (or the built-in extractor when it fails), keeps the proposal,
and `views.update`s the "drafting…" modal into the review. A crash between the two
loses nothing: the row stays until the update went out, and the proposal, once
kept, is not asked for again."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.draft_modals import ReviewTarget, review_modal
from commands.drafting.llm import LlmExtractor, propose
from reminders.delivery import Claimed, refreshes
from storage import access, clock, drafts
from storage.db import Database
from storage.models import Draft
from storage.rules import Actor

log = logging.getLogger(__name__)

# The rep closed the modal, or it belongs to a view that no longer exists: nothing to do.
_GONE = {"not_found", "view_not_found", "expired_trigger_id", "hash_conflict"}


def mark_draft(db: Database, team_id: str, view_id: str, draft_id: int) -> None:
    with db.write() as s:
        refreshes.mark(
            s, refreshes.DRAFT, team_id, refreshes.draft_target(view_id, draft_id), "", clock.wall()
        )


def review_view(db: Database, draft_id: int) -> dict[str, object] | None:
    """The review modal of a ready draft, rendered from the database."""
    with db.read() as s:
        draft = s.get(Draft, draft_id)
        if draft is None or draft.state != "ready":
            return None
        proposal = drafts.proposal_of(draft)
        if proposal is None:
            return None
        actor = Actor(draft.user_id, "seller", draft.team_id)  # only sellers draft
        plan = access.plan_in_channel(s, actor, draft.channel_id)
        target = ReviewTarget(
            plan.title if plan is not None else None, drafts.already_in(s, plan, proposal.tasks)
        )
        return review_modal(draft.id, proposal, target)


def send_draft(db: Database, llm: LlmExtractor | None, client: WebClient, item: Claimed) -> None:
    number = item_draft_id(item)
    if number is None:
        return
    with db.read() as s:
        draft = s.get(Draft, number)
        if draft is None or draft.state == "applied":
            return
        working = draft.state == "working"
        notes, call_date = draft.notes, draft.call_date
        actor = Actor(draft.user_id, "seller", draft.team_id)
        ctx = drafts.context(s, actor, draft.channel_id, call_date) if working else None
    if ctx is not None:
        proposal = propose(notes, ctx, llm)  # no transaction held while the model thinks
        with db.write() as s:
            drafts.set_proposal(s, number, proposal)
    view = review_view(db, number)
    if view is None:
        return
    try:
        client.views_update(view_id=item.recipient, view=view)
    except SlackApiError as e:
        if e.response.get("error") in _GONE:
            log.info("draft %s: its modal is gone (%s)", number, e.response.get("error"))
            return
        raise


def item_draft_id(item: Claimed) -> int | None:
    """The draft a DRAFT row is about (its subject is "draft:<id>")."""
    with_prefix = item.key.split("|")[2] if item.key.count("|") >= 3 else ""
    kind, _, number = with_prefix.partition(":")
    return int(number) if kind == "draft" and number.isdigit() else None
