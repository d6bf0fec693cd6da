"""A loopback stand-in for Slack's Web API, request payload builders, and a text renderer
for Block Kit: used by the test-suite and by the local shell."""

from bot.local_slack import payloads, text_render
from bot.local_slack.records import Call, Ephemeral, Msg
from bot.local_slack.server import LocalSlack
from bot.local_slack.text_render import Element, Rendered, render_blocks

__all__ = [
    "Call",
    "Element",
    "Ephemeral",
    "LocalSlack",
    "Msg",
    "Rendered",
    "payloads",
    "render_blocks",
    "text_render",
]
