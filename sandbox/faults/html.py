"""UI nuisance for HTML pages: the page a browser agent gets is not quite the page it learned.

Operations (an `html` action's `ops`, applied in order); each finds its elements by a CSS-like
`selector` (`#id`, `.class`, `tag`, `[name=value]`, `[attr]`, compounds such as
`button#submit-reply`, and descendants `form .actions button`) or by their visible `text`:

    rename:       {selector: "#submit-reply", to: "Send"}   the button or link says something else
    hide:         {selector: "#internal-note"}              the field is there but not shown
                  {selector: ..., remove: true}             ... or gone from the page
    move:         {selector: "#status-select", to: end}     the element moves: start, end (of <body>),
                  to: "before:#reply-body" / "after:..."    or before/after another element
    interstitial: {title, text, button}                     a full-page notice covers the page until
                                                             its button is clicked (no JavaScript needed)

and the ones a browser runs (sandbox/faults/html_js.py): confirm, cookie_banner, slow_list,
move_after_load.

For rename/hide/move the page is parsed with the standard library's `html.parser` into a light
tree that keeps the source text of every tag it does not touch, so an untouched page comes back
byte for byte. Parsing is the cost (milliseconds for a 50 KB page), so it happens only when an
operation needs the tree and its selector could match: a page without the selector's id, class
or attribute in its text is left alone unparsed. The other operations insert text.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from sandbox.faults import html_js
from sandbox.faults.html_js import PageContext, at_body_start, could_match

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                  "track", "wbr"})
INTERSTITIAL_ID = "sandbox-interstitial"


# -- a tree that remembers its source ------------------------------------------------------------


@dataclass(eq=False)
class Element:
    tag: str
    attrs: list[tuple[str, str | None]]
    source: str = ""  # the start tag as written; "" once the element is changed (then rebuilt from attrs)
    end: str | None = None  # the end tag as written, or None if the source had none
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    def attr(self, name: str) -> str | None:
        for key, value in self.attrs:
            if key == name:
                return value if value is not None else ""
        return None

    def set_attr(self, name: str, value: str | None) -> None:
        self.attrs = [(k, v) for k, v in self.attrs if k != name] + [(name, value)]
        self.source = ""

    @property
    def classes(self) -> list[str]:
        return (self.attr("class") or "").split()

    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(html.unescape(child) if isinstance(child, str) else child.text())
        return " ".join("".join(parts).split())

    def elements(self):
        """Descendants, document order."""
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.elements()

    def start_tag(self) -> str:
        return self.source or "<" + self.tag + "".join(
            f" {k}" if v is None else f' {k}="{html.escape(v, quote=True)}"' for k, v in self.attrs) + ">"

    def render(self) -> str:
        if self.tag == "#document":
            return "".join(_render(c) for c in self.children)
        return self.start_tag() + "".join(_render(c) for c in self.children) + (self.end or "")


def _render(node: Element | str) -> str:
    return node if isinstance(node, str) else node.render()


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.root = Element("#document", [])
        self.stack = [self.root]

    def _add(self, node: Element | str) -> None:
        parent = self.stack[-1]
        if isinstance(node, Element):
            node.parent = parent
        parent.children.append(node)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, list(attrs), self.get_starttag_text() or f"<{tag}>")
        self._add(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(Element(tag, list(attrs), self.get_starttag_text() or f"<{tag}/>"))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                self.stack[depth].end = f"</{tag}>"
                del self.stack[depth:]
                return
        self._add(f"</{tag}>")  # a stray end tag: kept as text, as written

    def handle_data(self, data: str) -> None:
        self._add(data)

    def handle_entityref(self, name: str) -> None:
        self._add(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._add(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self._add(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self._add(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self._add(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self._add(f"<![{data}]>")


def parse(page: str) -> Element:
    builder = _Builder()
    builder.feed(page)
    builder.close()
    return builder.root


# -- selectors -------------------------------------------------------------------------------------

_TAG = re.compile(r"[a-zA-Z][\w-]*|\*")
_PART = re.compile(r"""[#.][\w-]+|\[([\w-]+)(?:=("[^"]*"|'[^']*'|[^\]]*))?\]""")


@dataclass(frozen=True)
class Compound:
    tag: str | None
    ids: tuple[str, ...]
    classes: tuple[str, ...]
    attrs: tuple[tuple[str, str | None], ...]

    def matches(self, element: Element) -> bool:
        if self.tag and element.tag != self.tag:
            return False
        if any(element.attr("id") != i for i in self.ids):
            return False
        if any(c not in element.classes for c in self.classes):
            return False
        for name, value in self.attrs:
            have = element.attr(name)
            if have is None or (value is not None and have != value):
                return False
        return True


@functools.lru_cache(maxsize=1024)
def parse_selector(selector: str) -> tuple[Compound, ...]:
    """`form .actions button#x` -> compounds, outermost first. ValueError if it is not one we read.
    Cached: a profile's few selectors are read on every page the proxy rewrites."""
    compounds = []
    for word in selector.split():
        found = _TAG.match(word)
        tag = found.group(0) if found else None
        rest = word[found.end():] if found else word
        parts = list(_PART.finditer(rest))
        if not word or "".join(p.group(0) for p in parts) != rest:
            raise ValueError(f"cannot read the selector {selector!r} (at {word!r})")
        ids, classes, attrs = [], [], []
        for part in parts:
            text = part.group(0)
            if text[0] == "#":
                ids.append(text[1:])
            elif text[0] == ".":
                classes.append(text[1:])
            else:
                value = part.group(2)
                if value is not None and value[:1] in "\"'":
                    value = value[1:-1]
                attrs.append((part.group(1), value))
        compounds.append(Compound(None if tag in (None, "*") else tag.lower(), tuple(ids), tuple(classes),
                                  tuple(attrs)))
    if not compounds:
        raise ValueError("the selector is empty")
    return tuple(compounds)


def select(root: Element, selector: str) -> list[Element]:
    """Elements matching `selector`, in document order."""
    *outer, last = parse_selector(selector)
    found = []
    for element in root.elements():
        if not last.matches(element):
            continue
        ancestor, wanted = element.parent, list(outer)
        while wanted and ancestor is not None:
            if wanted[-1].matches(ancestor):
                wanted.pop()
            ancestor = ancestor.parent
        if not wanted:
            found.append(element)
    return found


def by_text(root: Element, text: str) -> list[Element]:
    """The innermost elements whose visible text is `text` (case and spacing aside), and buttons
    drawn by <input> whose value is."""
    wanted = " ".join(text.split()).casefold()
    found = []
    for element in root.elements():
        if element.tag == "input" and (element.attr("value") or "").strip().casefold() == wanted:
            found.append(element)
        elif element.text().casefold() == wanted and not any(
            isinstance(c, Element) and c.text().casefold() == wanted for c in element.elements()
        ):
            found.append(element)
    return found


# -- the operations --------------------------------------------------------------------------------


class _Page:
    """The page as text, parsed into a tree only when an operation needs one."""

    def __init__(self, text: str) -> None:
        self._text = self._original = text
        self._root: Element | None = None
        self._lowered: bytes | None = None

    @property
    def text(self) -> str:
        if self._root is not None:
            self._text, self._root = self._root.render(), None
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text, self._root = value, None

    def lowered(self) -> bytes:
        """The page as it came, its ASCII in lower case (tag and attribute names are ASCII): made
        once, as bytes, since str.lower() of 50 KB with any non-ASCII character costs ~0.6 ms. The
        operations only add lower-case names, so the original answers "could it match?" for every
        version of the page."""
        if self._lowered is None:
            self._lowered = self._original.encode("utf-8", "surrogatepass").lower()
        return self._lowered

    @property
    def root(self) -> Element:
        if self._root is None:
            self._root = parse(self._text)
        return self._root


def apply(ops: tuple[dict[str, dict], ...], page: str, context: PageContext | None = None
          ) -> tuple[str, list[str]]:
    """Apply `ops` to the HTML `page` (a request with `context`: its cookies, its episode);
    returns the new page and what changed, in words."""
    from sandbox.faults import html_fast  # it builds on this module's tree

    context = context or PageContext()
    doc = _Page(page)
    changes = []
    for op in ops:
        (name, arg), = op.items()
        hopeless = "selector" in arg and not could_match(doc.text, parse_selector(arg["selector"]), doc.lowered)
        if hopeless and name in html_js.OPS:
            changes.append(f"{name}: nothing matches {arg['selector']} (0x)")
        elif hopeless:
            changes.append(_OPS[name](Element("#document", []), arg))  # says "(0x)" in the op's words
        elif name in html_js.OPS:
            doc.text, change = html_js.OPS[name][0](doc.text, arg, context)
            changes.append(change)
        elif name == "interstitial":
            doc.text, change = _interstitial(doc.text, arg)
            changes.append(change)
        else:
            fast = html_fast.apply(name, arg, doc.text) if "selector" in arg else None
            if fast is not None:
                doc.text, change = fast
                changes.append(change)
            else:
                changes.append(_OPS[name](doc.root, arg))
    return doc.text, changes


def _targets(root: Element, arg: dict[str, str]) -> tuple[list[Element], str]:
    if "selector" in arg:
        return select(root, arg["selector"]), arg["selector"]
    return by_text(root, arg["text"]), repr(arg["text"])


def rename_one(element: Element, to: str) -> None:
    """The element says `to`: an <input>'s value, else its content (and its aria-label, if it has one)."""
    if element.tag == "input":
        element.set_attr("value", to)
    else:
        element.children = [html.escape(to, quote=False)]
    if element.attr("aria-label") is not None:
        element.set_attr("aria-label", to)


def hide_one(element: Element) -> None:
    style = (element.attr("style") or "").rstrip("; ")
    element.set_attr("style", (style + "; " if style else "") + "display: none !important")
    element.set_attr("hidden", None)


def renamed(what: str, arg: dict, count: int) -> str:
    return f"renamed {what} to {arg['to']!r} ({count}x)"


def hidden(what: str, arg: dict, count: int) -> str:
    return f"{'removed' if arg.get('remove') else 'hid'} {what} ({count}x)"


def moved(what: str, arg: dict, count: int) -> str:
    return f"moved {what} to {arg['to']} ({count}x)"


def _rename(root: Element, arg: dict[str, str]) -> str:
    targets, what = _targets(root, arg)
    for element in targets:
        rename_one(element, arg["to"])
    return renamed(what, arg, len(targets))


def _hide(root: Element, arg: dict) -> str:
    targets, what = _targets(root, arg)
    for element in targets:
        if arg.get("remove"):
            _detach(element)
        else:
            hide_one(element)
    return hidden(what, arg, len(targets))


def _move(root: Element, arg: dict[str, str]) -> str:
    targets, what = _targets(root, arg)
    to = arg["to"]
    if to.startswith(("before:", "after:")):
        side, _, anchor_selector = to.partition(":")
        anchors = [a for a in select(root, anchor_selector) if a not in targets]
        if not anchors:
            return f"moved {what}: no element matches {anchor_selector!r} (0x)"
        anchor = anchors[0]
        for element in targets:
            _detach(element)
            siblings = anchor.parent.children  # type: ignore[union-attr]
            position = siblings.index(anchor) + (1 if side == "after" else 0)
            siblings.insert(position, element)
            element.parent = anchor.parent
            anchor = element if side == "after" else anchor
    else:
        body = _body(root)
        for element in targets if to == "end" else reversed(targets):
            _detach(element)
            body.children.insert(len(body.children) if to == "end" else 0, element)
            element.parent = body
    return moved(what, arg, len(targets))


def _interstitial(page: str, arg: dict[str, str]) -> tuple[str, str]:
    title = html.escape(arg.get("title", "Before you continue"))
    text = html.escape(arg.get("text", "We have updated our terms of service."))
    button = html.escape(arg.get("button", "Continue"))
    # Dismissed by a label toggling a hidden checkbox: no JavaScript, so it works on every page.
    notice = (
        f'<div id="{INTERSTITIAL_ID}-wrap"><input type="checkbox" id="{INTERSTITIAL_ID}-dismiss" '
        f'style="display:none"><div id="{INTERSTITIAL_ID}" role="dialog" aria-modal="true" '
        f'aria-labelledby="{INTERSTITIAL_ID}-title" style="position:fixed;top:0;left:0;right:0;bottom:0;'
        'z-index:2147483647;background:rgba(30,30,30,0.9);display:flex;align-items:center;justify-content:center">'
        '<div style="background:#fff;color:#111;padding:2em;max-width:32em;font-family:sans-serif">'
        f'<h2 id="{INTERSTITIAL_ID}-title">{title}</h2><p>{text}</p>'
        f'<label for="{INTERSTITIAL_ID}-dismiss" id="{INTERSTITIAL_ID}-button" role="button" tabindex="0" '
        f'style="display:inline-block;padding:.5em 1em;background:#1f6feb;color:#fff;cursor:pointer">{button}</label>'
        f"</div></div><style>#{INTERSTITIAL_ID}-dismiss:checked + #{INTERSTITIAL_ID}{{display:none !important}}"
        "</style></div>"
    )
    return at_body_start(page, notice), f"inserted an interstitial {arg.get('title', 'Before you continue')!r} (1x)"


def _body(root: Element) -> Element:
    return next((e for e in root.elements() if e.tag == "body"), root)


def _detach(element: Element) -> None:
    if element.parent is not None:
        element.parent.children = [c for c in element.parent.children if c is not element]
        element.parent = None


_OPS = {"rename": _rename, "hide": _hide, "move": _move}
