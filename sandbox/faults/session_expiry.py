"""session_expired: the web session runs out while the agent fills in a form.

The form's post is answered at the proxy, never forwarded (so nothing is written): 303 to the
service's sign-in page (`ServiceSpec.web_login`) with `?next=<the form's page>`, as a real
dashboard sends a timed-out user back, and every cookie the request carried expired, except the
sandbox's own consent cookie (a real site keeps your cookie choice across a sign-in). A browser
agent signs in again, lands back on the form's page through `next`, and must post it again.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from sandbox.faults.html_js import CONSENT_COOKIE


def form_page(path: str, referer: str | None, host: str) -> str:
    """Where the form was: the Referer's path and query when it is a page of the same host (a form
    posts from its page), else the post's own path (forms post to their page's URL)."""
    if referer:
        parts = urlsplit(referer)
        if parts.hostname == host.lower() and parts.path.startswith("/") and not parts.path.startswith("//"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return path


def login_location(login_url: str, next_page: str) -> str:
    separator = "&" if "?" in login_url else "?"
    return f"{login_url}{separator}next={quote(next_page, safe='/')}"


def cookie_names(cookie_header: str) -> list[str]:
    """The cookies a request carries, the consent cookie left out, in header order."""
    names = (part.split("=", 1)[0].strip() for part in cookie_header.split(";") if "=" in part)
    return [name for name in dict.fromkeys(names) if name and name != CONSENT_COOKIE]


def expired_cookies(names: list[str]) -> list[str]:
    """Set-Cookie values that end each cookie now."""
    return [f"{name}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly" for name in names]
