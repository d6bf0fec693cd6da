"""Block Kit as console text, Errbot-style: interactive elements are numbered
(`[3] Complete`) so a user types `click 3`; an overflow menu is one line
(`⋯ [4] Edit  [5] Delete`). Numbers run on from `start`, or come from `numbering`
(the shell's, which keeps an unchanged element's number). Pure functions."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Names = Callable[[str], str]
# (block_id, action_id, value) → the element's number.
Numbering = Callable[[str, str, str], int]
RULE = "─" * 40
# Elements whose options are each numbered, and those numbered as one.
OPTION_ELEMENTS = {
    "overflow",
    "static_select",
    "multi_static_select",
    "radio_buttons",
    "checkboxes",
}
SINGLE_ELEMENTS = {
    "button",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
    "external_select",
    "multi_external_select",
    "workflow_button",
}
_LINK = re.compile(r"<([^<>]*)>")


@dataclass
class Element:
    """A numbered interactive element (or one option of a select/overflow);
    `block_index` is its block's position in the message or view."""

    number: int
    block_id: str
    action_id: str
    value: str
    type: str
    label: str
    block_index: int = 0
    option: dict[str, Any] | None = None

    def action(self) -> dict[str, Any]:
        """The `actions[0]` Slack sends when this element is used."""
        out: dict[str, Any] = {
            "action_id": self.action_id,
            "block_id": self.block_id,
            "type": self.type,
        }
        if self.type == "checkboxes" or self.type.startswith("multi_"):
            out["selected_options"] = [self.option] if self.option else []
        elif self.option is not None:
            out["selected_option"] = self.option
        elif self.type == "datepicker":
            out["selected_date"] = self.value or None
        else:
            out["value"] = self.value
        if self.type == "button":
            out["text"] = {"type": "plain_text", "text": self.label, "emoji": True}
        return out


@dataclass
class Rendered:
    text: str
    elements: list[Element] = field(default_factory=list)


def mrkdwn(text: str, names: Names) -> str:
    """Slack mrkdwn to plain text: mentions, links, specials, then entities.
    `names` gives a person's or a channel's name from its id."""

    def link(m: re.Match[str]) -> str:
        target, _, label = m.group(1).partition("|")
        if target.startswith("@"):
            return "@" + names(target[1:])
        if target.startswith("#"):  # Slack shows a channel's name, not its id
            return "#" + (label or names(target[1:]))
        if target.startswith("!"):
            special = target[1:].split("^")[0]
            return label or ("@" + special if special in ("channel", "here", "everyone") else "")
        return f"{label} ({target})" if label else target

    converted = _LINK.sub(link, text)
    return converted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain(obj: Any, names: Names) -> str:
    """The text of a text object (mrkdwn converted)."""
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    return mrkdwn(text, names) if obj.get("type") == "mrkdwn" else text


class _Renderer:
    def __init__(self, names: Names, start: int, numbering: Numbering | None) -> None:
        self.names = names
        self.next = start
        self.numbering = numbering
        self.block_index = 0
        self.elements: list[Element] = []

    def number(self, block_id: str, el: Mapping[str, Any], label: str, **kw: Any) -> str:
        value = kw.pop("value", None)
        if value is None:
            value = el.get("value") or el.get("initial_date") or el.get("initial_time") or ""
        action_id = str(el.get("action_id", ""))
        if self.numbering is not None:
            n = self.numbering(block_id, action_id, str(value))
        else:
            n, self.next = self.next, self.next + 1
        self.elements.append(
            Element(
                number=n,
                block_id=block_id,
                action_id=action_id,
                value=str(value),
                type=str(el.get("type", "")),
                label=label,
                block_index=self.block_index,
                **kw,
            )
        )
        return f"[{n}] {label}"

    def element(self, block_id: str, el: Mapping[str, Any]) -> list[str]:
        """Numbered entries for one element (several for an element with options)."""
        kind = str(el.get("type", ""))
        title = _plain(el.get("text") or el.get("placeholder"), self.names)
        if kind in OPTION_ELEMENTS:
            prefix = "⋯ " if kind == "overflow" else (f"{title}: " if title else "")
            options = [
                self.number(
                    block_id,
                    el,
                    _plain(opt.get("text"), self.names),
                    value=str(opt.get("value", "")),
                    option=dict(opt),
                )
                for opt in el.get("options", [])
            ]
            return [prefix + "  ".join(options)] if options else []
        if kind in SINGLE_ELEMENTS:
            label = title or kind.replace("_", " ")
            if title and kind != "button":
                label = f"{title} ({kind.replace('_', ' ')})"
            return [self.number(block_id, el, label)]
        if kind == "image":
            return [f"[image: {el.get('alt_text', '')}]"]
        return [_plain(el, self.names)] if "text" in el else []

    def block(self, b: Mapping[str, Any]) -> list[str]:
        kind = b.get("type")
        block_id = str(b.get("block_id", ""))
        if kind == "header":
            title = _plain(b.get("text"), self.names)
            return [title, "=" * len(title)]
        if kind == "divider":
            return [RULE]
        if kind == "context":
            return [
                "  " + " · ".join(x for e in b.get("elements", []) for x in self.element("", e))
            ]
        if kind == "actions":
            parts = [x for e in b.get("elements", []) for x in self.element(block_id, e)]
            return ["  ".join(parts)]
        if kind == "section":
            lines = [_plain(b.get("text"), self.names)] if b.get("text") else []
            lines += ["  " + _plain(f, self.names) for f in b.get("fields", [])]
            if b.get("accessory"):
                lines.append("  " + "  ".join(self.element(block_id, b["accessory"])))
            return lines
        if kind == "input":
            element = b.get("element", {})
            return [f"{_plain(b.get('label'), self.names)}: <{element.get('type', 'input')}>"]
        if kind == "image":
            return [f"[image: {b.get('alt_text', '')}]"]
        if kind == "rich_text":
            return ["".join(_rich_text(e, self.names) for e in b.get("elements", []))]
        return [f"[{kind}]"]


def _rich_text(node: Mapping[str, Any], names: Names) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "user":
        return "@" + names(str(node.get("user_id", "")))
    if kind == "link":
        return str(node.get("text") or node.get("url", ""))
    if kind == "emoji":
        return f":{node.get('name', '')}:"
    return "".join(_rich_text(e, names) for e in node.get("elements", []))


def render_blocks(
    blocks: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    names: Names,
    start: int = 1,
    numbering: Numbering | None = None,
) -> Rendered:
    """Render message blocks, or a view (its title, blocks, then submit/close)."""
    r = _Renderer(names, start, numbering)
    lines: list[str] = []
    if isinstance(blocks, Mapping):
        view = blocks
        if view.get("title"):
            lines += r.block({"type": "header", "text": view["title"]})
        items: Sequence[Mapping[str, Any]] = view.get("blocks", [])
    else:
        view, items = {}, blocks
    for i, b in enumerate(items):
        r.block_index = i
        lines += r.block(b)
    buttons = [_plain(view.get(k), names) for k in ("submit", "close") if view.get(k)]
    if buttons:
        lines.append("  ".join(f"<{b}>" for b in buttons))
    return Rendered("\n".join(lines), r.elements)
