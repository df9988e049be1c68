"""rename / hide / move without parsing the whole page: the usual selector (`#submit-reply`,
`button.primary`, `[name=status]`, `tbody`: one compound) is looked up by finding its id, class,
attribute or `<tag` in the page, reading only the start tags around it, and the matched
element's extent by counting its own tag's opening and closing tags after it.

The result is what the tree in sandbox/faults/html.py gives (tests/faults/test_html_fast.py
compares them), at a fraction of the cost: a 50 KB page costs tens of microseconds instead of
tens of milliseconds. `apply` returns None whenever it cannot be sure (descendant selectors,
`text:` targets, a tag written in capitals, an element whose end tag it cannot find, nested
targets), and the caller parses the page instead.
"""

from __future__ import annotations

import html
import re

from sandbox.faults.html import (
    VOID,
    Compound,
    Element,
    hidden,
    hide_one,
    moved,
    parse_selector,
    rename_one,
    renamed,
)
from sandbox.faults.html_js import at_body_end, at_body_start

# A start tag from its "<": the name, then attributes (quoted values may hold ">").
_START = re.compile(r"""<([a-zA-Z][^\s/>]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")
# One attribute of a start tag, as html.parser reads it: a name, and maybe = and a value.
_ATTR = re.compile(r"""([^\s/>="']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")


class Found:
    """A matched element: its start tag as an Element, and where it is in the page."""

    def __init__(self, element: Element, start: int, inner: int, close: int, end: int) -> None:
        self.element = element
        self.start, self.inner = start, inner  # the start tag is page[start:inner]
        self.close, self.end = close, end  # the end tag is page[close:end] (close == end == inner: none)


def find(page: str, selector: str) -> list[Found] | None:
    """The elements matching `selector`, in page order; None: use the tree."""
    compounds = parse_selector(selector)
    if len(compounds) != 1:
        return None
    compound = compounds[0]
    needle = next(iter(compound.ids or compound.classes or tuple(v or n for n, v in compound.attrs)), None)
    by_tag = needle is None
    if by_tag:
        needle = f"<{compound.tag}"
        if page.count(needle) != page.lower().count(needle):
            return None  # some of these tags are written in capitals: the tree reads them alike
    found: list[Found] = []
    seen: set[int] = set()
    at = page.find(needle)
    while at >= 0:
        start = at if by_tag else page.rfind("<", 0, at)
        if start >= 0 and start not in seen and page.find(">", start, at) < 0:
            seen.add(start)
            hit = _element_at(page, start, compound)
            if hit is False:
                return None
            if hit is not None:
                found.append(hit)
        at = page.find(needle, at + len(needle))
    if any(a.end > b.start for a, b in zip(found, found[1:], strict=False)):
        return None  # nested matches: the tree knows what moving one inside another means
    return found


def _element_at(page: str, start: int, compound: Compound) -> Found | None | bool:
    tag = _START.match(page, start)
    if tag is None:
        return None
    node = _start_tag(tag.group(0), tag.group(1))
    if not compound.matches(node):
        return None
    inner = tag.end()
    if node.tag in VOID or tag.group(0).endswith("/>"):
        return Found(node, start, inner, inner, inner)
    depth = 1
    for other in re.finditer(rf"<(/?){re.escape(node.tag)}(?=[\s/>])[^>]*>", page[inner:], re.IGNORECASE):
        depth += -1 if other.group(1) else 1
        if depth == 0:
            return Found(node, start, inner, inner + other.start(), inner + other.end())
    return False  # no end tag: where the element ends is the tree's call


def _start_tag(source: str, name: str) -> Element:
    """The start tag `source` as html.parser would give it (lower-case names, unescaped values),
    without an HTMLParser for each tag: this is the fast path's hot loop."""
    attrs: list[tuple[str, str | None]] = []
    for found in _ATTR.finditer(source, 1 + len(name), len(source) - 1):
        value = found.group(2)
        if value is not None:
            value = html.unescape(value[1:-1] if value[:1] in ("'", '"') else value)
        attrs.append((found.group(1).lower(), value))
    return Element(name.lower(), attrs, source)


def apply(name: str, arg: dict, page: str) -> tuple[str, str] | None:
    """rename, hide or move by `arg["selector"]`: (new page, what changed), or None: use the tree."""
    targets = find(page, arg["selector"])
    if targets is None:
        return None
    what = arg["selector"]
    if name == "rename":
        return _edit(page, targets, lambda f: _renamed(page, f, arg["to"])), renamed(what, arg, len(targets))
    if name == "hide":
        if arg.get("remove"):
            return _edit(page, targets, lambda f: ""), hidden(what, arg, len(targets))
        return _edit(page, targets, lambda f: _hidden(page, f)), hidden(what, arg, len(targets))
    return _move(page, targets, arg)


def _renamed(page: str, found: Found, to: str) -> str:
    element = found.element
    rename_one(element, to)
    if element.tag == "input":
        return element.start_tag() + page[found.inner:found.end]
    return element.start_tag() + element.children[0] + page[found.close:found.end]  # type: ignore[operator]


def _hidden(page: str, found: Found) -> str:
    hide_one(found.element)
    return found.element.start_tag() + page[found.inner:found.end]


def _edit(page: str, targets: list[Found], replace) -> str:
    pieces, at = [], 0
    for found in targets:
        pieces += [page[at:found.start], replace(found)]
        at = found.end
    return "".join(pieces) + page[at:]


def _move(page: str, targets: list[Found], arg: dict) -> tuple[str, str] | None:
    what, to = arg["selector"], arg["to"]
    moving = "".join(page[f.start:f.end] for f in targets)
    rest = _edit(page, targets, lambda f: "")
    if to in ("start", "end"):
        if not targets:
            return page, moved(what, arg, 0)
        return (at_body_start if to == "start" else at_body_end)(rest, moving), moved(what, arg, len(targets))
    side, _, anchor_selector = to.partition(":")
    anchors = find(page, anchor_selector)
    if anchors is None:
        return None
    starts = {f.start for f in targets}
    anchors = [a for a in anchors if a.start not in starts]
    if not anchors:
        return page, f"moved {what}: no element matches {anchor_selector!r} (0x)"
    anchor = anchors[0]
    if any(f.start < anchor.end and anchor.start < f.end for f in targets):
        return None  # the anchor is inside a target, or holds one
    point = anchor.start if side == "before" else anchor.end
    point -= sum(f.end - f.start for f in targets if f.end <= point)
    return rest[:point] + moving + rest[point:], moved(what, arg, len(targets))
