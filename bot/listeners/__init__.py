"""Bolt listeners, one module per area, each with `register(app, deps)`."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from bot.listeners import (
    actions,
    create,
    drafting,
    events,
    home,
    modals,
    nudges,
    shortcuts,
    slash,
    unfurls,
    workflow_steps,
)
from bot.listeners import pipeline as pipeline_listener


def register(app: App, deps: Deps) -> None:
    slash.register(app, deps)
    actions.register(app, deps)
    home.register(app, deps)
    events.register(app, deps)
    modals.register(app, deps)
    shortcuts.register(app, deps)
    create.register(app, deps)
    nudges.register(app, deps)
    drafting.register(app, deps)
    workflow_steps.register(app, deps)
    unfurls.register(app, deps)
    pipeline_listener.register(app, deps)
