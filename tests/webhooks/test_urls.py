"""Which endpoint URLs the sandbox will deliver to: the agent's own loopback, nothing else."""

from __future__ import annotations

import json

import pytest

from sandbox.webhooks.urls import EndpointURLError, Target, check_endpoint_url, sandbox_ports


@pytest.mark.parametrize(("url", "target"), [
    ("http://127.0.0.1:8765/hooks", Target("127.0.0.1", 8765, "/hooks")),
    ("http://localhost:8765/a?b=1", Target("127.0.0.1", 8765, "/a?b=1")),  # no name lookup at send time
    ("http://[::1]:9000", Target("::1", 9000, "/")),
    ("http://LOCALHOST/x", Target("127.0.0.1", 80, "/x")),
])
def test_loopback_urls_are_accepted(url, target):
    assert check_endpoint_url(url) == target


@pytest.mark.parametrize(("url", "words"), [
    ("http://10.0.0.1:80/", "only to the agent's own loopback"),
    ("http://127.0.0.2:80/", "only to the agent's own loopback"),
    ("http://127.0.0.1.evil.example/", "only to the agent's own loopback"),
    ("ftp://127.0.0.1/", "only http://"),
    ("http://a:b@127.0.0.1:80/", "credentials"),
    ("http://127.0.0.1:99999/", "does not parse"),
    ("http://127.0.0.1:80/\r\nX: y", "control characters"),
    ("", "non-empty"),
    ("http://127.0.0.1:8080/", "belongs to the sandbox"),
])
def test_other_urls_are_refused_with_the_reason_and_the_fix(url, words):
    with pytest.raises(EndpointURLError) as err:
        check_endpoint_url(url, {8080})
    assert words in str(err.value)


def test_the_sandboxs_ports_come_from_ports_json(tmp_path):
    ports = tmp_path / "ports.json"
    assert sandbox_ports(ports) == set()
    ports.write_text(json.dumps({"proxy": 1, "control": 2, "webhooks": 3, "services": {"payments": 4}, "pid": 99}))
    assert sandbox_ports(ports) == {1, 2, 3, 4}
