"""Slack's checks on what an app sends: Block Kit validity and size limits (rates.py
has the rate limits)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ID_LENGTH = 255
PRIVATE_METADATA = 3000
MODAL_TITLE = 24
FIELDS = 10  # a section's fields
FIELD_TEXT = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
OVERFLOW_OPTIONS = (2, 5)


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict inside a block, with a readable path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _plain(node: Any) -> bool:
    return not isinstance(node, dict) or node.get("type") == "plain_text"


def _element_errors(block: dict[str, Any], where: str) -> list[str]:
    """What slack_sdk's models let through and Slack refuses: mrkdwn where only
    plain_text goes, too many or too long options and fields, an action_id twice
    in one block."""
    errors: list[str] = []
    action_ids: list[str] = []
    if block.get("type") == "header" and not _plain(block.get("text")):
        errors.append(f"{where}.text: a header's text must be plain_text")
    fields = block.get("fields") or []
    if len(fields) > FIELDS:
        errors.append(f"{where}.fields: {len(fields)} fields, at most {FIELDS}")
    for i, f in enumerate(fields):
        if len(_text(f)) > FIELD_TEXT:
            errors.append(f"{where}.fields[{i}]: longer than {FIELD_TEXT}")
    for path, node in _walk(block, where):
        for key in ("action_id", "block_id"):
            if len(str(node.get(key, ""))) > ID_LENGTH:
                errors.append(f"{path}.{key}: longer than {ID_LENGTH}")
        if "action_id" in node:
            action_ids.append(str(node["action_id"]))
        kind = node.get("type")
        if kind == "button":
            if not _plain(node.get("text")):
                errors.append(f"{path}.text: a button's text must be plain_text")
            if len(_text(node.get("text"))) > BUTTON_TEXT:
                errors.append(f"{path}.text: button text longer than {BUTTON_TEXT}")
            if len(str(node.get("value", ""))) > BUTTON_VALUE:
                errors.append(f"{path}.value: button value longer than {BUTTON_VALUE}")
        if kind == "overflow":
            n = len(node.get("options") or [])
            low, high = OVERFLOW_OPTIONS
            if not low <= n <= high:
                errors.append(f"{path}.options: {n} options, an overflow takes {low} to {high}")
        for i, option in enumerate(node.get("options") or []):
            if not isinstance(option, dict):
                continue
            if len(_text(option.get("text"))) > OPTION_TEXT:
                errors.append(f"{path}.options[{i}].text: longer than {OPTION_TEXT}")
            if len(str(option.get("value", ""))) > OPTION_VALUE:
                errors.append(f"{path}.options[{i}].value: longer than {OPTION_VALUE}")
            if kind in ("overflow", "static_select") and not _plain(option.get("text")):
                errors.append(f"{path}.options[{i}].text: must be plain_text here")
    twice = sorted({a for a in action_ids if action_ids.count(a) > 1})
    if twice:
        errors.append(f"{where}: action_id {twice[0]!r} twice in one block")
    return errors


def check_blocks(blocks: Any, *, limit: int = MESSAGE_BLOCKS) -> list[str]:
    """Problems Slack would refuse in a list of blocks (empty when fine)."""
    if not isinstance(blocks, list):
        return ["blocks: must be a list"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"blocks: {len(blocks)} blocks, at most {limit}")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict):
            errors.append(f"{where}: must be an object")
            continue
        kind = block.get("type")
        if kind == "section" and len(_text(block.get("text"))) > SECTION_TEXT:
            errors.append(f"{where}.text: section text longer than {SECTION_TEXT}")
        if kind == "header" and len(_text(block.get("text"))) > HEADER_TEXT:
            errors.append(f"{where}.text: header text longer than {HEADER_TEXT}")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                errors.append(f"{where}.block_id: duplicate block_id {block_id!r}")
            seen.add(str(block_id))
        errors.extend(_element_errors(block, where))
        errors.extend(_sdk_errors(block, where))
    return errors


def _sdk_errors(block: dict[str, Any], where: str) -> list[str]:
    """slack_sdk's own model validation of one block."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{where}: unknown block type {block.get('type')!r}"]
        parsed.validate_json()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as e:
        return [f"{where}: {e}"]
    return []


def check_text(params: dict[str, Any]) -> list[str]:
    """Slack refuses a message's `text` over its limit (`msg_too_long`)."""
    if len(str(params.get("text") or "")) > MESSAGE_TEXT:
        return [f"text: longer than {MESSAGE_TEXT}"]
    return []


def check_message(params: dict[str, Any]) -> list[str]:
    """Problems in the text and blocks of a chat.* call or a response_url post."""
    errors = check_text(params)
    if params.get("blocks") is not None:
        errors.extend(check_blocks(params["blocks"], limit=MESSAGE_BLOCKS))
    return errors


def check_view(view: Any) -> list[str]:
    """Problems Slack would refuse in a modal or Home tab view."""
    if not isinstance(view, dict):
        return ["view: must be an object"]
    errors: list[str] = []
    if view.get("type") not in ("modal", "home"):
        errors.append(f"view.type: {view.get('type')!r} is neither modal nor home")
    if view.get("type") == "modal":
        if not _text(view.get("title")):
            errors.append("view.title: a modal needs a title")
        if len(_text(view.get("title"))) > MODAL_TITLE:
            errors.append(f"view.title: longer than {MODAL_TITLE}")
        inputs = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if inputs and not view.get("submit"):
            errors.append("view.submit: a modal with inputs needs a submit button")
    if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA:
        errors.append(f"view.private_metadata: longer than {PRIVATE_METADATA}")
    errors.extend(check_blocks(view.get("blocks", []), limit=VIEW_BLOCKS))
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as e:
        errors.append(f"view: {e}")
    return errors
