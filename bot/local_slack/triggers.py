"""trigger_ids as Slack issues them: in an interaction payload, for one user, good once
and for 3 seconds (https://docs.slack.dev/tools/bolt-python/concepts/opening-modals:
"Pass a valid trigger_id within 3 seconds of receiving it"; the views.open and
views.push errors: invalid_trigger_id, exchanged_trigger_id "The trigger_id was
already exchanged in a previous call", expired_trigger_id "The trigger_id is expired").

The payload builders (payloads.py) issue them here; the stand-in exchanges them. One
registry per process: tests build payloads and run the stand-in in the same process.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

LIFETIME = 3.0
_KEEP = 600.0  # forget triggers this old: long expired either way


@dataclass
class Trigger:
    user: str
    issued: float  # time.monotonic()
    exchanged: bool = False


_issued: dict[str, Trigger] = {}
_lock = threading.Lock()


def issue(user: str = "") -> str:
    """A new trigger_id for an interaction by `user`, shaped like Slack's
    ("12345.98765.abcd2358fdea")."""
    trigger_id = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
    now = time.monotonic()
    with _lock:
        for old in [t for t, v in _issued.items() if now - v.issued > _KEEP]:
            del _issued[old]
        _issued[trigger_id] = Trigger(user, now)
    return trigger_id


def exchange(trigger_id: str) -> Trigger | str:
    """Use a trigger once: the Trigger, or the error Slack answers."""
    with _lock:
        trigger = _issued.get(trigger_id)
        if trigger is None:
            return "invalid_trigger_id"
        if trigger.exchanged:
            return "exchanged_trigger_id"
        if time.monotonic() - trigger.issued > LIFETIME:
            return "expired_trigger_id"
        trigger.exchanged = True
        return trigger


def age(trigger_id: str, seconds: float) -> None:
    """Make a trigger `seconds` older (tests of expiry, instead of waiting)."""
    with _lock:
        _issued[trigger_id].issued -= seconds


def stand_still(seconds: float) -> None:
    """Slack was frozen for `seconds` (LocalSlack.freeze): its clock stood still,
    so the interactions waiting on it lose none of their 3 seconds."""
    with _lock:
        for trigger in _issued.values():
            if not trigger.exchanged:
                trigger.issued += seconds
