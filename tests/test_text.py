"""The escape boundary's pure parts: `escape`, its inverse for plain text, `mrkdwn`
templates, view errors, links and mentions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.text import (
    VIEW_ERROR_MAX,
    escape,
    link_text,
    mention,
    mrkdwn,
    truncate,
    truncate_mrkdwn,
    unescape,
    view_error,
)


def test_escape_turns_each_control_character_into_its_entity_once() -> None:
    assert escape("a & b <c>") == "a &amp; b &lt;c&gt;"
    assert escape("<!here> <@UEVIL> <https://evil.example|x>") == (
        "&lt;!here&gt; &lt;@UEVIL&gt; &lt;https://evil.example|x&gt;"
    )
    # An entity typed by a person is text too: its `&` is escaped, once.
    assert escape("&lt;") == "&amp;lt;"
    assert escape("plain words, *bold* and `code`") == "plain words, *bold* and `code`"


def test_unescape_gives_back_what_a_mrkdwn_string_shows() -> None:
    assert unescape("a &amp; b &lt;c&gt;") == "a & b <c>"
    assert unescape("&amp;lt;") == "&lt;", "an escaped entity stays one"
    assert unescape("&amp;gt;") == "&gt;"
    assert unescape("&amp;amp;") == "&amp;"
    assert unescape("no entities") == "no entities"


@given(st.text())
def test_unescape_undoes_escape(text: str) -> None:
    shown = escape(text)
    assert "<" not in shown and ">" not in shown
    assert unescape(shown) == text


def test_mrkdwn_escapes_the_parts_and_keeps_our_own_markup() -> None:
    out = mrkdwn("<@{who}> — *{title}* (#{n})", who="U0LEX", title="<!channel> & co", n=7)
    assert out == "<@U0LEX> — *&lt;!channel&gt; &amp; co* (#7)"
    # A part that looks like a placeholder stays text; braces in it are not read again.
    assert mrkdwn("“{words}”", words="{words} {0}") == "“{words} {0}”"
    assert mrkdwn("nothing to fill") == "nothing to fill"


def test_view_error_is_plain_text_within_the_limit() -> None:
    assert view_error("“&lt;!here&gt;” isn't a web link") == "“<!here>” isn't a web link"
    long = view_error("x" * 400)
    assert len(long) == VIEW_ERROR_MAX == 150 and long.endswith("…")
    assert view_error("y" * 150) == "y" * 150


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefg", 6) == "abcde…"
    assert truncate("abc   defg", 6) == "abc…", "no blank before the ellipsis"


def test_links_and_mentions() -> None:
    assert mention("U0LEX") == "<@U0LEX>"
    assert link_text("https://files.example/q.pdf", "Q&A <1>") == (
        "<https://files.example/q.pdf|Q&amp;A &lt;1&gt;>"
    )
    assert link_text("https://files.example/q.pdf", "") == "<https://files.example/q.pdf>"


def test_refusals_take_user_text_only_as_escaped_parts() -> None:
    """A `DomainError`'s message is mrkdwn written by us: user text goes in `{name}`
    parts, which the error escapes. An f-string may only interpolate constants."""
    import ast
    from pathlib import Path

    errors = {"DomainError", "NotFound", "Forbidden", "Invalid", "Ambiguous", "FieldInvalid"}
    root = Path(__file__).resolve().parent.parent
    found: list[str] = []
    for path in sorted(p for d in ("bot", "commands", "storage") for p in (root / d).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in errors:
                continue
            for arg in node.args:
                for value in ast.walk(arg):
                    if not isinstance(value, ast.FormattedValue):
                        continue
                    v = value.value
                    constant = isinstance(v, ast.Name) and v.id.isupper()
                    counted = isinstance(v, ast.Call) and getattr(v.func, "id", "") == "len"
                    if not (constant or counted):
                        found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == [], f"user text interpolated into a refusal unescaped: {found}"


def test_truncate_mrkdwn_never_splits_an_entity_or_a_token() -> None:
    assert truncate_mrkdwn("abc", 3) == "abc"
    assert truncate_mrkdwn("ab &lt; cd", 6) == "ab…", "not `ab &l…`"
    assert truncate_mrkdwn("ab &lt; cd", 9) == "ab &lt;…"
    assert truncate_mrkdwn("x <@U0LEX> y", 8) == "x…", "not a half mention"
    assert truncate_mrkdwn("x <@U0LEX> yz", 12) == "x <@U0LEX>…"
    assert truncate_mrkdwn("x <https://a.example|a &amp; b> y", 28) == "x…"
    assert truncate_mrkdwn("a;b&c<d>efgh", 8) == "a;b…"
    assert truncate_mrkdwn("&amp;&amp;x", 8) == "&amp;…"


@given(st.text(alphabet="ab <>&;\n", max_size=60), st.integers(min_value=2, max_value=70))
def test_truncate_mrkdwn_cuts_escaped_text_only_between_characters(text: str, limit: int) -> None:
    shown = escape(text)
    cut = truncate_mrkdwn(shown, limit)
    assert len(cut) <= limit
    if cut == shown:
        return
    assert cut.endswith("…")
    body = cut[:-1]
    assert shown.startswith(body)
    assert escape(unescape(body)) == body, f"a split entity in {body!r}"
