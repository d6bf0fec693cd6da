"""Modals in the shell: list a view's input fields, take typed values, and build
the `state.values` Slack would send on submit. Pure functions."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

OPTION_TYPES = ("static_select", "radio_buttons", "checkboxes")


@dataclass
class Field:
    letter: str
    block_id: str
    action_id: str
    type: str
    label: str
    optional: bool
    options: list[dict[str, Any]] = field(default_factory=list)
    value: str = ""  # what the person typed or the initial value, as text


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, Mapping) else ""


def _initial(el: Mapping[str, Any]) -> str:
    kind = el.get("type")
    if kind in ("static_select", "radio_buttons"):
        return _text((el.get("initial_option") or {}).get("text"))
    if kind == "checkboxes":
        return ", ".join(_text(o.get("text")) for o in el.get("initial_options", []))
    for key in ("initial_value", "initial_date", "initial_user", "initial_time"):
        if el.get(key):
            return str(el[key])
    return ""


def fields_of(view: Mapping[str, Any]) -> list[Field]:
    """Every input block of a view, lettered a, b, c …"""
    out: list[Field] = []
    inputs = [b for b in view.get("blocks", []) if b.get("type") == "input"]
    for letter, block in zip(string.ascii_lowercase, inputs, strict=False):
        el = block.get("element", {})
        out.append(
            Field(
                letter=letter,
                block_id=str(block.get("block_id", "")),
                action_id=str(el.get("action_id", "")),
                type=str(el.get("type", "")),
                label=_text(block.get("label")),
                optional=bool(block.get("optional")),
                options=list(el.get("options", [])),
                value=_initial(el),
            )
        )
    return out


def describe(fields: list[Field]) -> str:
    lines = []
    for f in fields:
        choices = ""
        if f.options:
            choices = " — one of: " + " | ".join(_text(o.get("text")) for o in f.options)
        optional = " (optional)" if f.optional else ""
        lines.append(f"  ({f.letter}) {f.label}{optional} [{f.type}] = {f.value!r}{choices}")
    return "\n".join(lines)


def _pick(options: list[dict[str, Any]], typed: str) -> dict[str, Any] | None:
    wanted = typed.strip().casefold()
    for o in options:
        if wanted in (_text(o.get("text")).casefold(), str(o.get("value", "")).casefold()):
            return o
    return None


def state_values(fields: list[Field], user_id_of: Callable[[str], str]) -> dict[str, Any]:
    """The `view.state.values` Slack would send for what is filled in."""
    values: dict[str, Any] = {}
    for f in fields:
        typed = f.value.strip()
        entry: dict[str, Any] = {"type": f.type}
        if f.type in ("static_select", "radio_buttons"):
            entry["selected_option"] = _pick(f.options, typed) if typed else None
        elif f.type == "checkboxes":
            picked = [_pick(f.options, t) for t in typed.split(",") if t.strip()]
            entry["selected_options"] = [o for o in picked if o is not None]
        elif f.type == "datepicker":
            entry["selected_date"] = typed or None
        elif f.type == "users_select":
            entry["selected_user"] = user_id_of(typed.lstrip("@")) if typed else None
        elif f.type == "timepicker":
            entry["selected_time"] = typed or None
        else:
            entry["value"] = typed or None
        values[f.block_id] = {f.action_id: entry}
    return values
