"""What a well-formed Slack request body is, checked on a signed body before Bolt
parses it: the kind its Content-Type says, nested no deeper than Slack nests, and
every field we (or Bolt) read of the type Slack sends. Pure functions.

Bolt reads a body as JSON when the Content-Type is exactly `application/json` or the
body starts with `{`; otherwise as a form, whose `payload` field (if any) is JSON.
The checks follow the same decision, so what passes here is what Bolt will see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_DEPTH = 32  # Slack's deepest payloads (rich text in a message) nest about 12 levels
MAX_FORM_FIELDS = 64  # a slash command has 14

S, O, L = "string", "object", "list"  # noqa: E741 (a spec reads as a table)
ID = "Slack id"  # a string such as U0123ABCD: what Slack's ids look like, and fit our columns
_SLACK_ID = re.compile(r"[A-Z][A-Z0-9]{1,31}")

# A field: (kind or kinds, required, what an object's fields or a list's items are).
Field = tuple[str | tuple[str, ...], bool, Any]
Spec = Mapping[str, Field]


# Called only while this module is imported (mutmut's mutants switch on later).
def _opt(kind: str | tuple[str, ...], inner: Any = None) -> Field:
    return (kind, False, inner)  # pragma: no mutate


def _req(kind: str | tuple[str, ...], inner: Any = None) -> Field:
    return (kind, True, inner)  # pragma: no mutate


OPTION: Spec = {"value": _req(S)}
BLOCK: Spec = {"type": _opt(S), "block_id": _opt(S)}
# An input's state in `view.state.values[block_id][action_id]`.
ELEMENT_STATE: Spec = {
    "type": _opt(S),
    "value": _opt(S),
    "selected_option": _opt(O, OPTION),
    "selected_options": _opt(L, OPTION),
    "selected_date": _opt(S),
    "selected_time": _opt(S),
    # What a person picked: the listeners check these, and answer on the field.
    "selected_user": _opt(S),
    "selected_users": _opt(L, S),
    "selected_conversation": _opt(S),
    "selected_channel": _opt(S),
}
VIEW: Spec = {
    "id": _req(ID),
    "type": _opt(S),
    "hash": _opt(S),
    "callback_id": _opt(S),
    "private_metadata": _opt(S),
    "team_id": _opt(ID),
    "app_installed_team_id": _opt(ID),
    "root_view_id": _opt(ID),
    "previous_view_id": _opt(ID),
    "external_id": _opt(S),
    "blocks": _opt(L, BLOCK),
    "state": _opt(O, {"values": _opt(O, {"*": _opt(O, {"*": _opt(O, ELEMENT_STATE)})})}),
}
ACTION: Spec = {
    "action_id": _req(S),
    "block_id": _opt(S),
    "type": _opt(S),
    "action_ts": _opt(S),
    **{k: v for k, v in ELEMENT_STATE.items() if k != "type"},
}
AUTHORIZATION: Spec = {"team_id": _opt(ID), "user_id": _opt(ID), "enterprise_id": _opt(ID)}
# Bolt's own context extraction reads these on any payload, assuming Slack's types.
BOLT_READS: Spec = {
    "enterprise": _opt((ID, O), {"id": _opt(ID)}),
    "enterprise_id": _opt(ID),
    "authorizations": _opt(L, AUTHORIZATION),
    "thread_ts": _opt(S),
    "response_url": _opt(S),
    # Bolt logs through a context logger it has not set yet when there are several.
    "response_urls": _opt(L, {"response_url": _req(S), "channel_id": _opt(ID)}),
    "function_execution_id": _opt(S),
    "bot_access_token": _opt(S),
    "function_data": _opt(O),
}
INTERACTIVE: Spec = {
    **BOLT_READS,
    "type": _req(S),
    "user": _req(O, {"id": _req(ID), "team_id": _opt(ID), "name": _opt(S), "username": _opt(S)}),
    "team": _opt(O, {"id": _opt(ID), "domain": _opt(S), "enterprise_id": _opt(ID)}),
    "channel": _opt(O, {"id": _opt(ID), "name": _opt(S)}),
    "container": _opt(
        O,
        {
            "type": _opt(S),
            "channel_id": _opt(ID),
            "view_id": _opt(ID),
            "message_ts": _opt(S),
            "thread_ts": _opt(S),
        },
    ),
    "api_app_id": _opt(ID),
    "token": _opt(S),
    "trigger_id": _opt(S),
    "callback_id": _opt(S),
    "action_ts": _opt(S),
    "message_ts": _opt(S),
    "actions": _opt(L, ACTION),
    "view": _opt(O, VIEW),
    "message": _opt(
        O,
        {
            "ts": _opt(S),
            "text": _opt(S),
            "user": _opt(ID),
            "thread_ts": _opt(S),
            "blocks": _opt(L, BLOCK),
        },
    ),
}
# Fields Slack always sends with each kind of interaction, which our listeners use.
REQUIRED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "block_actions": ("actions", "trigger_id"),
    "view_submission": ("view", "trigger_id"),
    "view_closed": ("view",),
    "message_action": ("callback_id", "trigger_id", "message", "channel"),
    "shortcut": ("callback_id", "trigger_id"),
}
EVENT_ENVELOPE: Spec = {
    **BOLT_READS,
    "type": _req(S),
    "token": _opt(S),
    "team_id": _opt(ID),
    "api_app_id": _opt(ID),
    "event_id": _opt(S),
    "challenge": _opt(S),
    "event": _opt(O, {"type": _req(S), "user_team": _opt(ID), "team": _opt((ID, O))}),
}
COMMAND: Spec = {
    "command": _req(S),
    "user_id": _req(ID),
    "trigger_id": _req(S),
    "team_id": _opt(ID),
    "channel_id": _opt(ID),
    "enterprise_id": _opt(ID),
    "api_app_id": _opt(ID),
}


class Malformed(ValueError):
    """The body is not one Slack would send; `str(e)` says why (safe to log)."""


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """The body as Bolt will read it, or Malformed."""
    try:
        text = body.decode("utf-8")  # pragma: no mutate ("UTF-8" is the same codec)
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    media = content_type.split(";")[0]  # as Bolt reads it
    if media == JSON:
        if not text.startswith("{"):
            raise Malformed("a JSON body that is not an object")
        data = json_object(text)
        check(data, EVENT_ENVELOPE, "body")
        if data["type"] == "event_callback":
            _require(data, ("event", "event_id"), "body")
        return data
    if media != FORM:
        raise Malformed("an unsupported Content-Type")
    if text.startswith("{"):
        raise Malformed("a form body that is JSON")  # Bolt would read it as JSON
    form = form_fields(text)
    if "payload" in form:
        data = json_object(form["payload"])
        check(data, INTERACTIVE, "payload")
        _require(data, REQUIRED_BY_TYPE.get(data["type"], ()), "payload")
        if data["type"] == "block_actions" and not data["actions"]:
            raise Malformed("payload.actions is empty")
        if len(data.get("response_urls") or ()) > 1:
            raise Malformed("payload.response_urls has more than one")  # our modals ask for none
        return data
    check(form, COMMAND, "body")
    return dict(form)


def form_fields(text: str) -> dict[str, str]:
    """A form body's fields, each named once (a repeated one is ambiguous)."""
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError as e:
        raise Malformed(f"not a form body ({e})") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Malformed("a form field given twice")
    for name, _value in pairs:  # values: NUL and lone surrogates are stripped (clean_input)
        _text(name, name)
    return fields


def json_object(text: str) -> dict[str, Any]:
    """A JSON object nested at most MAX_DEPTH deep."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed("not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("JSON that is not an object")
    if depth(data) > MAX_DEPTH:
        raise Malformed(f"JSON nested deeper than {MAX_DEPTH}")
    return data


def depth(value: Any) -> int:
    """How deep objects and lists nest (a scalar is 0), without recursion; Malformed
    if any key or string holds text no database can store."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
            for key in item:
                _text(key, key)
        elif isinstance(item, list):
            children = item
        else:  # a string value: NUL and lone surrogates are stripped (bot.clean_input)
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _text(name: str, value: str) -> None:
    """A field name any payload has: no NUL and no unpaired surrogate. (In values,
    where people type, the two are stripped before any listener sees them:
    `bot.clean_input`.)"""
    if "\x00" in value:
        raise Malformed(f"{name[:40]!r} holds a NUL character")
    try:
        value.encode("utf-8")  # pragma: no mutate ("UTF-8" is the same codec)
    except UnicodeEncodeError:
        raise Malformed(f"{name[:40]!r} holds an unpaired surrogate") from None


def _kind_of(value: Any) -> str:
    if isinstance(value, str):
        return S
    if isinstance(value, dict):
        return O
    if isinstance(value, list):
        return L
    return type(value).__name__  # pragma: no mutate (any name but S, O, L will do)


def _require(data: Mapping[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        if data.get(name) is None:
            raise Malformed(f"{where}.{name} is missing")


def check(data: Mapping[str, Any], spec: Spec, where: str) -> None:
    """Every field `spec` names has its kind (or is null, when not required);
    "*" stands for every field of an object. Fields it does not name are free."""
    for name, (kinds, required, inner) in spec.items():
        items = data.items() if name == "*" else [(name, data.get(name))]
        for key, value in items:
            path = f"{where}.{key}"
            if value is None:
                if required:
                    raise Malformed(f"{path} is missing")
                continue
            kind = _matching(value, kinds, path)
            if kind == O and inner is not None:
                check(value, inner, path)
            elif kind == L and inner is not None:
                for i, element in enumerate(value):
                    _check_item(element, inner, f"{path}[{i}]")


def _matching(value: Any, kinds: str | tuple[str, ...], path: str) -> str:
    """Which of `kinds` the value is (an id is a string shaped like one)."""
    for kind in (kinds,) if isinstance(kinds, str) else kinds:
        if kind == ID and isinstance(value, str) and _SLACK_ID.fullmatch(value):
            return ID
        if _kind_of(value) == kind:
            return kind
    raise Malformed(f"{path} is not a {kinds if isinstance(kinds, str) else ' or '.join(kinds)}")


def _check_item(value: Any, inner: Any, path: str) -> None:
    if isinstance(inner, str):
        _matching(value, inner, path)
    elif not isinstance(value, dict):
        raise Malformed(f"{path} is not an object")
    else:
        check(value, inner, path)
