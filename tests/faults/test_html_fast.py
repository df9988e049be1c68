"""The fast path for rename/hide/move gives what the parsed tree gives, and hands back what it
cannot be sure of."""

from __future__ import annotations

import re

import pytest

from sandbox.faults import html as tree_ops
from sandbox.faults import html_fast
from tests.faults.test_html import PAGE as FORM_PAGE

PAGE = FORM_PAGE + """<ul id="list"><li class="item" aria-label="One">One <b>1</b></li><li class="item">Two</li></ul>
<div id="outer"><div>inner</div><span data-x="y">z</span></div><img id="logo" src="x.png"><br/>
"""

OPS = [
    {"rename": {"selector": "#submit-reply", "to": "Send <now>"}},
    {"rename": {"selector": "#draft", "to": "Keep"}},
    {"rename": {"selector": ".item", "to": "Renamed"}},
    {"rename": {"selector": "#logo", "to": "Logo"}},
    {"hide": {"selector": "#internal-note", "remove": False}},
    {"hide": {"selector": "[data-x=y]", "remove": True}},
    {"hide": {"selector": "#outer", "remove": True}},
    {"hide": {"selector": "select#status-select", "remove": False}},
    {"move": {"selector": "#status-select", "to": "end"}},
    {"move": {"selector": ".item", "to": "start"}},
    {"move": {"selector": "#submit-reply", "to": "before:#reply-body"}},
    {"move": {"selector": "#reply-body", "to": "after:#list"}},
    {"move": {"selector": "#draft", "to": "after:#nowhere"}},
    {"rename": {"selector": "#nowhere", "to": "x"}},
    {"hide": {"selector": "textarea", "remove": False}},
    {"move": {"selector": "b", "to": "end"}},
]


def tree(op: dict, page: str) -> tuple[str, str]:
    (name, arg), = op.items()
    root = tree_ops.parse(page)
    change = tree_ops._OPS[name](root, arg)
    return root.render(), change


@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{next(iter(op))}-{next(iter(op.values()))['selector']}")
def test_the_fast_path_gives_what_the_tree_gives(op):
    (name, arg), = op.items()
    fast = html_fast.apply(name, arg, PAGE)
    assert fast is not None, "the fast path declined a selector it should take"
    assert fast == tree(op, PAGE)


@pytest.mark.parametrize("selector", ["form .actions button", "li", "#unclosed"])
def test_it_declines_what_it_cannot_be_sure_of(selector):
    page = PAGE + '<p id="unclosed">x<LI>capital</LI>'  # li: nested in ul... and one in capitals
    assert html_fast.apply("hide", {"selector": selector, "remove": True}, page) is None


def test_apply_uses_it_and_falls_back_to_the_tree():
    ops = ({"rename": {"selector": "#submit-reply", "to": "Go"}}, {"hide": {"text": "Reply", "remove": True}},
           {"move": {"selector": "form .actions", "to": "end"}})
    page, changes = tree_ops.apply(ops, PAGE)
    expected = PAGE
    for op in ops:
        expected, _ = tree(op, expected)
    assert page == expected and changes[0] == "renamed #submit-reply to 'Go' (1x)"


@pytest.mark.parametrize("tag", ['<input type="checkbox" id="x" hidden data-a=\'1>2\' b=c d="" E="&amp;q">',
                                 "<a href=/x?a=1&amp;b=2 class=row-link>", "<br/>", '<button\n id="y"\ttype=submit>'])
def test_start_tags_are_read_as_html_parser_reads_them(tag):
    name = re.match(r"<([^\s/>]+)", tag).group(1)
    assert html_fast._start_tag(tag, name).attrs == tree_ops.parse(tag).children[0].attrs
