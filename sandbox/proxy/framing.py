"""Every answer leaves framed as HTTP requires: no body on 1xx, 204, 304 or an answer to HEAD.

mitmproxy sends whatever body a response holds, and frames it as its headers say, whoever made
it. Upstream answers are read by the rules (mitmproxy reads no body after a HEAD or a 304), but the
proxy's own answers are built with one: a replay miss or an egress refusal to a HEAD, a recorded
304 that kept its body, a fault's vendor error. On a kept-alive connection the client reads those
stray bytes as the start of its next answer, and that answer is garbage. So this stage, the last
before the ledger, applies `sandbox.proxy.flows.exact_framing` to every answer: the ledger records
what the agent gets, and no stage above needs to remember the rule.

Its `responseheaders` hook puts the framing headers of an upstream answer right before they can be
sent: a streamed answer's headers leave before the `response` hook runs.
"""

from __future__ import annotations

from mitmproxy import http

from sandbox.proxy.flows import exact_framing


class ExactFraming:
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            exact_framing(flow.request.method, flow.response)

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            exact_framing(flow.request.method, flow.response)
