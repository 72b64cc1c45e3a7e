"""Discord-flavoured Markdown turned into plain terminal text.

The renderers write Markdown once for every front end; the terminal ones
(the console and ``studybot demo``) pass their output through here.
"""

from __future__ import annotations

import re
import textwrap

_HEADING = re.compile(r"^#{1,3} (.*)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_SPOILER = re.compile(r"\|\|(.+?)\|\|")


def terminal_text(text: str, width: int = 100) -> str:
    """Return Discord-flavoured Markdown as plain terminal text.

    Headings are underlined, bold and inline-code markers dropped, code fences
    removed (their contents kept verbatim, since tables and code must keep
    their alignment) and prose wrapped at word boundaries to ``width``.
    """
    out: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            title = _BOLD.sub(r"\1", heading[1])
            out += [title, "-" * min(len(title), width)]
            continue
        line = _SPOILER.sub(r"\1", _SPAN.sub(r"\1", _BOLD.sub(r"\1", line)))
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(
            line.strip(),
            width,
            initial_indent=indent,
            subsequent_indent=indent + "  " if line.lstrip().startswith(("- ", "* ")) else indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
    return "\n".join(out)
