"""UI nuisance on static HTML: the page comes back byte for byte unless an operation touches it."""

from __future__ import annotations

import pytest

from sandbox.faults.html import apply, by_text, parse, parse_selector, select

PAGE = """<!doctype html>
<html><head><title>Ticket #1</title><style>p > b { color: red }</style></head>
<body>
<!-- the reply form -->
<form method="post" class="reply">
  <label for="reply-body">Reply</label>
  <textarea id="reply-body" name="body"></textarea>
  <label><input type="checkbox" id="internal-note" name="internal"> Internal note</label>
  <select id="status-select" name="status"><option value="open" selected>Open<option value="solved">Solved</select>
  <div class="actions"><button id="submit-reply" type="submit" class="btn primary">Submit reply</button>
  <input type="submit" value="Save draft" id="draft"></div>
</form>
<p>Tom &amp; Jerry&#39;s <b>order</b><br>shipped</p>
</body></html>
"""


def test_an_untouched_page_round_trips_exactly():
    assert parse(PAGE).render() == PAGE
    broken = "<div><p>unclosed <span>x</div></i> tail"
    assert parse(broken).render() == broken


def test_selectors_and_text():
    root = parse(PAGE)
    assert [e.attr("id") for e in select(root, "button#submit-reply.btn")] == ["submit-reply"]
    assert [e.attr("id") for e in select(root, "form .actions [type=submit]")] == ["submit-reply", "draft"]
    assert [e.tag for e in select(root, "[name=status]")] == ["select"]
    assert [e.attr("id") for e in by_text(root, "  submit   REPLY ")] == ["submit-reply"]
    assert [e.attr("id") for e in by_text(root, "Save draft")] == ["draft"]
    with pytest.raises(ValueError, match="cannot read the selector"):
        parse_selector("form > button")


def test_rename_hide_move_and_remove():
    page, changes = apply((
        {"rename": {"selector": "#submit-reply", "to": "Send <now>"}},
        {"rename": {"text": "Save draft", "to": "Keep"}},
        {"hide": {"selector": "#internal-note", "remove": False}},
        {"hide": {"text": "Reply", "remove": True}},
        {"move": {"selector": "#status-select", "to": "end"}},
    ), PAGE)
    root = parse(page)
    assert select(root, "#submit-reply")[0].text() == "Send <now>" and "Send &lt;now&gt;" in page
    assert select(root, "#draft")[0].attr("value") == "Keep"
    note = select(root, "#internal-note")[0]
    assert note.attr("hidden") == "" and "display: none" in note.attr("style")
    assert not select(root, "label[for=reply-body]")
    body = select(root, "body")[0]
    last = [c for c in body.children if not isinstance(c, str)][-1]
    assert last.attr("id") == "status-select"
    assert changes == ["renamed #submit-reply to 'Send <now>' (1x)", "renamed 'Save draft' to 'Keep' (1x)",
                       "hid #internal-note (1x)", "removed 'Reply' (1x)", "moved #status-select to end (1x)"]
    # everything else is as it was
    assert "<p>Tom &amp; Jerry&#39;s <b>order</b><br>shipped</p>" in page and "<!-- the reply form -->" in page


def test_move_before_another_element_and_an_interstitial_first_in_body():
    page, _ = apply(({"move": {"selector": "#submit-reply", "to": "before:#reply-body"}},
                     {"interstitial": {"title": "New terms", "button": "Accept"}}), PAGE)
    assert page.index('id="submit-reply"') < page.index('id="reply-body"')
    root = parse(page)
    first = next(c for c in select(root, "body")[0].children if not isinstance(c, str))
    assert first.attr("id") == "sandbox-interstitial-wrap"
    assert select(root, "#sandbox-interstitial-button")[0].text() == "Accept"


def test_no_match_is_reported_not_an_error():
    page, changes = apply(({"hide": {"selector": "#nope"}},), PAGE)
    assert page == PAGE and changes == ["hid #nope (0x)"]
