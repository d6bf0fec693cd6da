"""The create form (`/map create` alone): title, template picker, go-live date."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)

from bot import ids
from bot.render.modals import modal
from bot.text import truncate

NO_TEMPLATE = "-"
TITLE_MAX = 300


@dataclass(frozen=True)
class CreateForm:
    title: str
    template: str | None
    golive: date | None


def create_modal(templates: list[tuple[str, str]], channel: str) -> dict[str, Any]:
    """`templates`: (name, "built-in" or "team") as storage.template_store lists them."""
    options = [Option(value=NO_TEMPLATE, text="No template: start empty")] + [
        Option(value=name, text=truncate(f"{name} ({kind})", 75)) for name, kind in templates[:99]
    ]
    blocks = [
        InputBlock(
            block_id=ids.CREATE_TITLE,
            label="Plan title",
            element=PlainTextInputElement(
                action_id=ids.CREATE_TITLE, max_length=TITLE_MAX, placeholder="Acme rollout"
            ),
        ),
        InputBlock(
            block_id=ids.CREATE_TEMPLATE,
            label="Template",
            hint="Every task date is worked back from the go-live date.",
            element=StaticSelectElement(
                action_id=ids.CREATE_TEMPLATE, options=options, initial_option=options[0]
            ),
        ),
        InputBlock(
            block_id=ids.CREATE_GOLIVE,
            label="Target go-live",
            optional=True,
            element=DatePickerElement(action_id=ids.CREATE_GOLIVE),
        ),
    ]
    return modal(ids.CREATE_VIEW, "New action plan", blocks, submit="Create", metadata=channel)


def _value(values: Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    return (values.get(block_id) or {}).get(block_id) or {}


def read_create_form(values: Mapping[str, Any]) -> CreateForm | dict[str, str]:
    """The submitted form, or errors by block id (shown on the fields)."""
    errors: dict[str, str] = {}
    title = " ".join(str(_value(values, ids.CREATE_TITLE).get("value") or "").split())
    if not title:
        errors[ids.CREATE_TITLE] = "Give the plan a title."
    chosen = (_value(values, ids.CREATE_TEMPLATE).get("selected_option") or {}).get("value")
    raw_date = _value(values, ids.CREATE_GOLIVE).get("selected_date")
    golive = None
    if raw_date:
        try:
            golive = date.fromisoformat(str(raw_date))
        except ValueError:
            errors[ids.CREATE_GOLIVE] = "Pick a date."
    if errors:
        return errors
    template = str(chosen) if chosen and chosen != NO_TEMPLATE else None
    return CreateForm(title, template, golive)
