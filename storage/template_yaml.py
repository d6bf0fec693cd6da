"""Reading a template's YAML text with bounds: a pasted import is untrusted, and
plain PyYAML composes an anchor bomb of a few KB into 160,000 tasks, accepts any
tag, and recurses once per nesting level until Python gives up.

`compose(text)` refuses, with the line, before doing work out of proportion to
the text: more than `MAX_YAML_BYTES`, more than `MAX_YAML_NODES` nodes, nesting
deeper than `MAX_YAML_DEPTH`, any anchor or alias, any tag beyond plain YAML's,
and lone surrogates (a `"\\ud800"` escape: they can be neither stored nor sent).
"""

from __future__ import annotations

import yaml
from yaml.composer import Composer

from storage.limits import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES
from storage.services import SURROGATE

# The tags plain YAML gives values without being asked, plus "!" (non-specific).
PLAIN_TAGS = frozenset(
    {
        "!",
        *(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")),
    }
)


class Refused(ValueError):
    """The text is not a template we are willing to read; says why, with the line."""


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    # The parser marks every event; the fallback is for mypy.
    return int(mark.line) + 1 if mark is not None else 1  # pragma: no mutate


class BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that counts nodes and depth and refuses anchors, aliases and
    tags other than plain YAML's while composing, before anything is built."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        # compose_node only meets node events: an alias, or a scalar, sequence or
        # mapping start, each with an anchor and (but the alias) a tag.
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            raise Refused(
                f"line {_line(event)}: anchors and aliases (&name, *name) aren't allowed "
                "in a template: write each task out"
            )
        tag = event.tag
        if tag is not None and tag not in PLAIN_TAGS:
            raise Refused(
                f"line {_line(event)}: the tag “{tag[:60]}” isn't allowed (plain YAML only)"
            )
        if isinstance(event, yaml.ScalarEvent) and SURROGATE.search(event.value):
            raise Refused(
                f"line {_line(event)}: a broken character (a lone UTF-16 surrogate such as "
                "\\ud800): retype that text"
            )
        self.nodes += 1
        if self.nodes > MAX_YAML_NODES:
            raise Refused(
                f"line {_line(event)}: more than {MAX_YAML_NODES} YAML values: "
                "a template that big is more than a plan can hold"
            )
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise Refused(
                    f"line {_line(event)}: nested more than {MAX_YAML_DEPTH} levels deep; "
                    "a template is milestones with tasks"
                )
            # parent and index only steer path resolvers, which SafeLoader has none of.
            return Composer.compose_node(self, parent, index)  # type: ignore[arg-type]  # pragma: no mutate
        finally:
            self.depth -= 1


def compose(text: str) -> yaml.Node | None:
    """The text's one YAML document as a node tree (None if empty), within bounds.

    Raises `Refused` for what the bounds refuse and `yaml.YAMLError` for bad YAML."""
    if SURROGATE.search(text):
        raise Refused("a broken character (a lone UTF-16 surrogate): retype the template")
    size = len(text.encode("utf-8"))
    if size > MAX_YAML_BYTES:
        raise Refused(
            f"the template is {size // 1024} KiB; the limit is {MAX_YAML_BYTES // 1024} KiB"
        )
    loader = BoundedLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()
