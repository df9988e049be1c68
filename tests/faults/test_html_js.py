"""The browser-run nuisance (confirm, cookie_banner, slow_list, move_after_load) as text: what each
puts in a page, that a page it cannot apply to comes back byte for byte, and the validation of
the new html operations and action kinds (file, rule, field, fix)."""

from __future__ import annotations

import pytest

from sandbox.faults import FaultProfileError
from sandbox.faults.html import apply, parse, parse_selector, select
from sandbox.faults.html_js import CONSENT_COOKIE, PageContext, could_match
from sandbox.faults.validate import parse_profile

PAGE = """<!doctype html>
<html><head><title>Ticket</title></head>
<BODY class="x">
<table id="tickets-table"><tbody><tr data-id="1"><td>#1</td></tr></tbody></table>
<form method="post"><button id="submit-solved" data-confirm="Solve it?">Submit as Solved</button></form>
</BODY></html>
"""
PLAIN = "<!doctype html><html><body><p>No forms, no tables.</p></body></html>"


def test_each_op_inserts_its_markup_and_leaves_the_rest_as_it_was():
    page, changes = apply(({"confirm": {"selector": "[data-confirm]"}},
                           {"cookie_banner": {"text": "Cookies?", "accept": "Yes", "reject": "No"}},
                           {"slow_list": {"selector": "table tbody", "delay_ms": 700}},
                           {"move_after_load": {"selector": "#submit-solved", "delay_ms": 300}}), PAGE)
    root = parse(page)
    dialog = select(root, "dialog#sandbox-confirm")[0]
    assert dialog.attr("role") == "alertdialog" and [b.text() for b in select(root, "dialog button")] == [
        "Cancel", "Confirm"]
    banner = select(root, "#sandbox-consent")[0]
    assert banner.attr("role") == "dialog" and "Cookies?" in banner.text()
    assert page.index('id="sandbox-consent-wrap"') < page.index('id="tickets-table"')  # first in <body>
    assert "table tbody > *:not(.sandbox-loading){display:none !important}" in page and "},700);" in page
    assert '"#submit-solved"' in page and "},300);" in page
    assert page.count("window.sandboxPending=") == 4  # two waiting scripts, each counting up and down
    # Everything else is byte for byte where it was.
    for line in PAGE.splitlines()[2:6]:
        assert line in page
    assert changes == ["asked to confirm submits of [data-confirm]", "inserted a cookie banner 'Cookies?' (1x)",
                       "delayed the rows of table tbody by 700 ms", "moved #submit-solved down after 300 ms"]


def test_ops_that_need_an_element_leave_a_page_without_one_untouched():
    page, changes = apply(({"confirm": {"selector": "[data-confirm]"}},
                           {"slow_list": {"selector": "table tbody", "delay_ms": 10}},
                           {"move_after_load": {"selector": "#refund-submit", "delay_ms": 10}},
                           {"rename": {"selector": "#refund-submit", "to": "x"}}), PLAIN)
    assert page == PLAIN
    assert changes == ["confirm: nothing matches [data-confirm] (0x)", "slow_list: nothing matches table tbody (0x)",
                       "move_after_load: nothing matches #refund-submit (0x)", "renamed #refund-submit to 'x' (0x)"]
    assert could_match(PAGE, parse_selector("TBODY")) and not could_match(PLAIN, parse_selector("p .nope"))


def test_the_consent_banner_stays_away_once_chosen_in_this_episode_only():
    op = ({"cookie_banner": {"text": "Cookies?"}},)
    chosen = PageContext({CONSENT_COOKIE: "reject.ep-1"}, episode="ep-1")
    assert apply(op, PAGE, chosen) == (PAGE, ["no cookie banner: consent already reject in this episode (0x)"])
    elsewhere = PageContext({CONSENT_COOKIE: "accept.ep-1"}, episode="ep-2")
    page, _ = apply(op, PAGE, elsewhere)
    assert 'id="sandbox-consent"' in page and "sandbox_consent=accept.ep-2; path=/" in page


def test_a_page_without_body_tags_gets_the_snippets_at_its_ends():
    page, _ = apply(({"cookie_banner": {"text": "C"}}, {"confirm": {"selector": "button"}}), "<button>x</button>")
    assert page.startswith('<div id="sandbox-consent-wrap">') and page.endswith("</script>")


def profile(action: dict, match: dict | None = None) -> dict:
    return {"name": "p", "seed": 1, "rules": [{"name": "r", "match": match or {"method": "GET"}, "action": action}]}


@pytest.mark.parametrize(("doc", "place", "hint"), [
    (profile({"kind": "html", "ops": [{"slow_list": {"delay_ms": -1}}]}),
     "rules[0] (r).action.ops[0].slow_list.delay_ms: expected a number between 0 and 60000", ""),
    (profile({"kind": "html", "ops": [{"move_after_load": {"delay_ms": 5}}]}),
     "rules[0] (r).action.ops[0].move_after_load.selector: missing", "move_after_load needs selector and delay_ms"),
    (profile({"kind": "html", "ops": [{"confirm": {"selector": "form > button"}}]}),
     "rules[0] (r).action.ops[0].confirm.selector: cannot read the selector", "write #id"),
    (profile({"kind": "html", "ops": [{"confirm": {"selector": "[x=</script>]"}}]}),
     "rules[0] (r).action.ops[0].confirm.selector: '[x=</script>]' has < or a backslash", ""),
    (profile({"kind": "html", "ops": [{"cookie_banner": {"txt": "x"}}]}),
     "rules[0] (r).action.ops[0].cookie_banner.txt: unknown field", "did you mean 'text'"),
    (profile({"kind": "html", "ops": [{"slow_lists": {}}]}),
     "rules[0] (r).action.ops[0].slow_lists: unknown operation", "did you mean 'slow_list'"),
    (profile({"kind": "page_size", "per_page": 101}), "rules[0] (r).action.per_page: expected at most 100", "1 to 100"),
    (profile({"kind": "page_size"}), "rules[0] (r).action.per_page: missing", "a page_size action needs per_page"),
    (profile({"kind": "page_size", "per_page": 2}, {"method": "POST"}),
     "rules[0] (r).match.method: page_size changes list pages", "method: GET"),
    (profile({"kind": "session_expired"}), "rules[0] (r).match.method: session_expired acts on form posts",
     "add method: POST"),
    (profile({"kind": "session_expired", "ttl": 1}, {"method": "POST"}),
     "rules[0] (r).action.ttl: unknown field", ""),
])
def test_bad_new_ops_and_kinds_name_the_file_rule_field_and_fix(doc, place, hint):
    with pytest.raises(FaultProfileError) as caught:
        parse_profile(doc, "f.yaml")
    assert str(caught.value.message).startswith("f.yaml: " + place), caught.value.message
    assert hint in (caught.value.hint or "")


def test_defaults_are_filled_in():
    rule = parse_profile(profile({"kind": "html", "ops": [{"confirm": {}}, {"slow_list": {}}]}), "f.yaml").rules[0]
    assert rule.action.params["ops"] == ({"confirm": {"selector": "[data-confirm]"}},
                                         {"slow_list": {"selector": "table tbody", "delay_ms": 1500}})
    expiry = parse_profile(profile({"kind": "session_expired"}, {"method": "POST", "service": "helpdesk", "nth": 2}),
                           "f.yaml").rules[0]
    assert expiry.action.terminal and expiry.match.nth == (2,)
