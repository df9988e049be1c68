"""github.com beside api.github.com in one app: the web pages route by host, so they never shadow the API.

GitHub's web pages and its REST API share paths that mean different things (`/orgs/<org>/people` is
a page, `/orgs/<org>/repos` an API route; `/<org>` is a page and would swallow API paths such as
`/octocat` if it sat in the API's URL map). The web blueprint's rules therefore live in a URL map of
their own, consulted only for requests whose Host is github.com; every other host routes through
the API's map exactly as before.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from werkzeug.routing import Map, MapAdapter

from services.code.wire import WEB_HOST, is_web_host

__all__ = ["WEB_HOST", "HostRoutedFlask", "is_web_host"]

WEB_BLUEPRINT = "web"


class HostRoutedFlask(Flask):
    """A Flask app with a second URL map for the `web` blueprint, used only on the web host."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.web_url_map = Map()
        # One converter table for both maps, so bound_int_routes' bounded `int` applies to pages too.
        self.web_url_map.converters = self.url_map.converters

    def add_url_rule(self, rule: str, endpoint: str | None = None, view_func: Any = None,
                     provide_automatic_options: bool | None = None, **options: Any) -> None:
        if endpoint is None or not endpoint.startswith(f"{WEB_BLUEPRINT}."):
            super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
            return
        # Registration happens once, at app creation, on one thread: swapping the map is safe here.
        api_map, self.url_map = self.url_map, self.web_url_map
        try:
            super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
        finally:
            self.url_map = api_map

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        adapter = super().create_url_adapter(request)  # also applies TRUSTED_HOSTS to request.host
        if request is not None and is_web_host(request.host):
            return self.web_url_map.bind_to_environ(request.environ, server_name=None, subdomain="")
        return adapter
