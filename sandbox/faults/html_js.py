"""The UI nuisance that lives in the browser: snippets the html action puts into a page, each a
little inline markup and (where it must act after load) a tiny script.

    confirm:         {selector: "[data-confirm]"}       a confirmation dialog before a destructive submit
    cookie_banner:   {text, accept, reject}             a consent banner over the page until one is chosen
    slow_list:       {selector: "table tbody", delay_ms} the rows load late: "Loading…" first
    move_after_load: {selector, delay_ms}               a banner pushes the element down after load

None of them parses the page: each is inserted as text after `<body ...>` or before `</body>`,
which keeps the rewrite far below a millisecond for a 50 KB page. One that needs an element (the
selector) is left out when the page cannot hold one (`could_match`), so an untouched page comes
back byte for byte. Scripts that wait count themselves in `window.sandboxPending` until done: a
browser agent that adapts waits for it to reach 0 (sandbox/tasks/oracles/browser/adapt.py).

Text-only agents (curl, an SDK posting the form) never run the scripts: confirm, slow_list and
move_after_load change nothing for them, and the banner is only markup in the page they read.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

CONFIRM_ID = "sandbox-confirm"
CONSENT_ID = "sandbox-consent"
# The consent cookie: `<choice>.<episode id>`, so a browser reused for another episode is asked again.
CONSENT_COOKIE = "sandbox_consent"
LOADING_CLASS = "sandbox-loading"
MOVED_BANNER_CLASS = "sandbox-moved-banner"

_BODY_START = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


@dataclass
class PageContext:
    """What a page's rewrite may know about the request: its cookies and the episode."""

    cookies: dict[str, str] = field(default_factory=dict)
    episode: str = ""


def at_body_start(page: str, snippet: str) -> str:
    found = _BODY_START.search(page)
    return page[:found.end()] + snippet + page[found.end():] if found else snippet + page


def at_body_end(page: str, snippet: str) -> str:
    # The last </body>: one inside a script's string would come earlier.
    at = page.rfind("</body")
    if at < 0:
        at = page.lower().rfind("</body")
    return page[:at] + snippet + page[at:] if at >= 0 else page + snippet


def could_match(page: str, compounds, lowered: Callable[[], bytes] | None = None) -> bool:
    """False when no element of `page` can match the selector: an id, class, attribute or tag one
    of its compounds needs is not in the page's text at all (cheap: no parsing). True is a maybe.
    Ids, classes and attribute values are case-sensitive in HTML; tag and attribute names are not,
    so those are looked for in `lowered()` (the page's bytes, ASCII lower-cased: the caller keeps
    one) when the page does not have them as written."""
    exact, names = [], []
    for part in compounds:
        exact += [*part.ids, *part.classes, *(v for _, v in part.attrs if v)]
        names += [name for name, _ in part.attrs] + ([f"<{part.tag}"] if part.tag else [])
    if any(token not in page for token in exact):
        return False
    missing = [token for token in names if token not in page]
    if missing:
        text = lowered() if lowered is not None else page.encode("utf-8", "surrogatepass").lower()
        return all(token.lower().encode() in text for token in missing)
    return True


def _script(body: str) -> str:
    return f"<script>(function(){{{body}}})();</script>"


def _pending(delta: str) -> str:
    return f"window.sandboxPending=(window.sandboxPending||0){delta}1;"


def confirm(page: str, arg: dict, context: PageContext) -> tuple[str, str]:
    selector = arg["selector"]
    dialog = (
        f'<dialog id="{CONFIRM_ID}" role="alertdialog" aria-modal="true" aria-labelledby="{CONFIRM_ID}-text" '
        'style="border:1px solid #888;padding:1.5em;font-family:sans-serif;max-width:28em">'
        f'<p id="{CONFIRM_ID}-text">Are you sure?</p>'
        f'<button type="button" id="{CONFIRM_ID}-cancel">Cancel</button> '
        f'<button type="button" id="{CONFIRM_ID}-ok">Confirm</button></dialog>'
    )
    # Capture phase: the dialog opens before any other submit handler; a confirmed button's next
    # submit goes through once.
    script = _script(
        f"var sel={json.dumps(selector)},d=document.getElementById('{CONFIRM_ID}'),held=null;"
        "document.addEventListener('submit',function(e){var b=e.submitter;if(!b||!b.matches(sel))return;"
        "if(b.dataset.sandboxConfirmed){delete b.dataset.sandboxConfirmed;return;}"
        f"e.preventDefault();held=b;document.getElementById('{CONFIRM_ID}-text').textContent="
        "b.getAttribute('data-confirm')||'Are you sure?';d.showModal();},true);"
        f"document.getElementById('{CONFIRM_ID}-cancel').onclick=function(){{held=null;d.close();}};"
        f"document.getElementById('{CONFIRM_ID}-ok').onclick=function(){{var b=held;held=null;d.close();"
        "if(b){b.dataset.sandboxConfirmed='1';b.form.requestSubmit(b);}};"
    )
    return at_body_end(page, dialog + script), f"asked to confirm submits of {selector}"


def cookie_banner(page: str, arg: dict, context: PageContext) -> tuple[str, str]:
    choice = context.cookies.get(CONSENT_COOKIE, "")
    if context.episode and choice.endswith("." + context.episode):
        return page, f"no cookie banner: consent already {choice.partition('.')[0]} in this episode (0x)"
    text = html.escape(arg.get("text", "We use cookies to improve your experience."))
    accept = html.escape(arg.get("accept", "Accept all"))
    reject = html.escape(arg.get("reject", "Reject all"))

    def button(name: str, label: str) -> str:
        # A label toggling the hidden checkbox dismisses it without JavaScript; the click also sets
        # the cookie (when scripts run), so the banner stays away on the episode's next pages.
        cookie = json.dumps(f"{CONSENT_COOKIE}={name}.{context.episode}; path=/; SameSite=Lax")
        return (f'<label for="{CONSENT_ID}-dismiss" id="{CONSENT_ID}-{name}" role="button" tabindex="0" '
                f"onclick='document.cookie={html.escape(cookie, quote=True)}' "
                'style="display:inline-block;margin-left:.5em;padding:.5em 1em;background:#1f6feb;color:#fff;'
                f'cursor:pointer">{label}</label>')

    banner = (
        f'<div id="{CONSENT_ID}-wrap"><input type="checkbox" id="{CONSENT_ID}-dismiss" style="display:none">'
        f'<div id="{CONSENT_ID}" role="dialog" aria-modal="true" aria-label="Cookie consent" '
        'style="position:fixed;top:0;left:0;right:0;bottom:0;z-index:2147483646;background:rgba(0,0,0,0.25);'
        'display:flex;align-items:flex-end">'
        '<div style="background:#fff;color:#111;padding:1em 2em;width:100%;font-family:sans-serif;'
        'box-shadow:0 -2px 8px rgba(0,0,0,.3)">'
        f'<p id="{CONSENT_ID}-text" style="display:inline">{text}</p>{button("accept", accept)}'
        f'{button("reject", reject)}</div></div>'
        f"<style>#{CONSENT_ID}-dismiss:checked + #{CONSENT_ID}{{display:none !important}}</style></div>"
    )
    return at_body_start(page, banner), f"inserted a cookie banner {arg.get('text', '')!r} (1x)"


def slow_list(page: str, arg: dict, context: PageContext) -> tuple[str, str]:
    selector, delay = arg["selector"], int(arg["delay_ms"])
    # Rows stay in the HTML; a style hides them at once (before the first paint) and the script
    # shows a "Loading…" row in their place until the delay is over.
    style = (f'<style id="sandbox-slow-list">{selector} > *:not(.{LOADING_CLASS}){{display:none !important}}'
             "</style>")
    script = _script(
        _pending("+") + f"var lists=document.querySelectorAll({json.dumps(selector)});"
        "lists.forEach(function(l){var t=l.tagName,row=document.createElement("
        "t==='TBODY'||t==='TABLE'||t==='THEAD'?'tr':(t==='UL'||t==='OL'?'li':'div'));"
        f"row.className='{LOADING_CLASS}';row.setAttribute('role','status');"
        "if(row.tagName==='TR'){var c=document.createElement('td');c.colSpan=99;c.textContent='Loading…';"
        "row.appendChild(c);}else{row.textContent='Loading…';}l.insertBefore(row,l.firstChild);"
        "l.setAttribute('aria-busy','true');});"
        "setTimeout(function(){lists.forEach(function(l){l.removeAttribute('aria-busy');"
        f"l.querySelectorAll('.{LOADING_CLASS}').forEach(function(r){{r.remove();}});}});"
        "var s=document.getElementById('sandbox-slow-list');if(s)s.remove();" + _pending("-") + f"}},{delay});"
    )
    return (at_body_end(at_body_start(page, style), script),
            f"delayed the rows of {selector} by {delay} ms")


def move_after_load(page: str, arg: dict, context: PageContext) -> tuple[str, str]:
    selector, delay = arg["selector"], int(arg["delay_ms"])
    script = _script(
        _pending("+") + "setTimeout(function(){"
        f"document.querySelectorAll({json.dumps(selector)}).forEach(function(el){{"
        f"var b=document.createElement('div');b.className='{MOVED_BANNER_CLASS}';b.setAttribute('role','note');"
        "b.textContent='New: this page has a fresh look. Tell us what you think.';"
        "b.style.cssText='display:block;margin:0 0 12px;padding:20px;background:#fdf0c2;color:#3a2f00;"
        "font-family:sans-serif';el.parentNode.insertBefore(b,el);});" + _pending("-") + f"}},{delay});"
    )
    return at_body_end(page, script), f"moved {selector} down after {delay} ms"


# name -> (rewrite, needs an element matching its selector)
OPS = {"confirm": (confirm, True), "cookie_banner": (cookie_banner, False), "slow_list": (slow_list, True),
       "move_after_load": (move_after_load, True)}
