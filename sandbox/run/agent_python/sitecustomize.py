"""Makes Python clients that pin their own CA bundle trust the sandbox's CA, with no agent change.

`sandbox env` (sandbox/run/agent_env.py) puts this folder first on the agent's PYTHONPATH, so every
Python the agent starts imports this file at start-up (Python's `site` imports the first
`sitecustomize` on the path). Other clients already trust the sandbox CA through the environment
(requests: REQUESTS_CA_BUNDLE; httpx, urllib, aiohttp, slack_sdk, PyGithub, zenpy: SSL_CERT_FILE or
REQUESTS_CA_BUNDLE); the stripe SDK does not: `stripe.ca_bundle_path` is the CA file inside the
stripe package, and every one of its HTTP clients (requests, httpx, aiohttp, urllib, pycurl)
verifies with that file alone. It is pointed at $SSL_CERT_FILE as soon as the agent imports stripe.

Only the sandbox CA, as REQUESTS_CA_BUNDLE and SSL_CERT_FILE give it: every TLS connection an agent
makes goes through the sandbox proxy, which presents the sandbox's certificates for every host,
allow-listed ones included, so no public CA is ever needed. certifi is deliberately left alone: a
shell that ran `eval "$(sandbox env EP)"` may start the sandbox itself, and mitmproxy verifies the
real upstreams of allow-listed hosts with certifi's bundle.

Nothing is imported here: an import hook does the above when (if ever) the agent imports stripe,
so a Python without it, or one that never imports it, is unaffected. A
`sitecustomize` this one hides (a virtualenv's, Debian's /usr/lib/python3.X/sitecustomize.py) is run
after it, as Python would have run it. Standard library only: it runs in any Python 3.8+.
"""

import importlib.machinery
import os
import sys

_CA = os.environ.get("SSL_CERT_FILE", "")


def _point_stripe(module):
    module.ca_bundle_path = _CA


class _ThenLoader:
    """A module's own loader, then `then(module)` once the module has run."""

    def __init__(self, loader, then):
        self._loader, self._then = loader, then

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._then(module)

    def __getattr__(self, name):  # resource readers, get_code, is_package...: the module's own loader's
        return getattr(self._loader, name)


class _AfterImport:
    """On sys.meta_path: finds nothing itself; for a watched name it asks the finders after it and
    wraps the loader they return."""

    def __init__(self, hooks):
        self.hooks = hooks

    def find_spec(self, name, path=None, target=None):
        then = self.hooks.get(name)
        if then is None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenLoader(spec.loader, then)
                return spec
        return None


def _run_hidden_sitecustomize():
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = type(sys)("sitecustomize")
    module.__file__, module.__spec__, module.__loader__ = spec.origin, spec, spec.loader
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # as site.py reports a failing sitecustomize, and goes on
        sys.stderr.write(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n{type(exc).__name__}: {exc}\n")


if _CA and os.path.isfile(_CA):
    sys.meta_path.insert(0, _AfterImport({"stripe": _point_stripe}))
_run_hidden_sitecustomize()
