"""Which calls a profile hits: per-episode counters and seeded draws, no wall clock.

`EpisodeFaults(profile, episode_seed).decide(call)` is all the proxy asks; `episode_seed` is the
episode's fault seed (`Episode.fault_seed`: the world seed unless a per-trial sweep chose another).
Every decision and every value drawn comes from `draw(profile seed, episode seed, rule index,
match count, salt)`, a
hash: two runs of the same agent against the same profile and world meet the same faults at the
same calls, and concurrent episodes, each with its own `EpisodeFaults`, cannot disturb each other.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import struct
from dataclasses import dataclass

from sandbox.faults.model import Profile, Rule, call_key

_SCALE = float(1 << 53)


def draw(*parts: object) -> float:
    """A number in [0, 1) that depends only on `parts`."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return (struct.unpack(">Q", digest)[0] >> 11) / _SCALE


@dataclass(frozen=True)
class Call:
    """What the decision may look at: the request, its service, and the episode clock."""

    host: str
    method: str
    path: str  # without the query
    service: str | None
    clock_s: float  # seconds of episode time since the episode started (1 per exchange)
    mcp_tool: str | None = None  # the tool of an MCP tools/call (read only when a rule looks at MCP)
    via: str = "agent"  # agent: a request the agent made; webhook: a fake's delivery to the agent's endpoint


@dataclass(frozen=True)
class Firing:
    """A rule that fires on a call: its match count `n` (1-based) and its seeds, for the action's draws."""

    rule: Rule
    n: int
    seeds: tuple[int, int]

    def draw(self, salt: str) -> float:
        return draw(*self.seeds, self.rule.index, self.n, salt)


class EpisodeFaults:
    """The state of one profile in one episode: match counters, firings, expired sessions."""

    def __init__(self, profile: Profile, episode_seed: int) -> None:
        self.profile = profile
        self.seeds = (profile.seed, episode_seed)
        self.counts = [0] * len(profile.rules)
        self.fired = [0] * len(profile.rules)
        self.locked: set[int] = set()  # expire_session rules waiting for a re-authentication

    def reset(self) -> None:
        """Back to the episode's start: no call counted, no rule fired, no session expired."""
        self.counts = [0] * len(self.profile.rules)
        self.fired = [0] * len(self.profile.rules)
        self.locked = set()

    def may_match(self, call: Call) -> bool:
        """Could `decide(call)` count or fire anything, whatever the counters say? False means it
        returns [] and changes nothing (so the proxy need not fetch the shared counters)."""
        prefilter = self.profile.prefilter
        if prefilter is None:
            return False
        if self.profile.may_lock:
            return True  # an expired session refuses calls no rule's pattern names
        return prefilter.match(call_key(call.method, call.host, call.service, call.path)) is not None

    def decide(self, call: Call) -> list[Firing]:
        """The rules that act on `call`, in order (at most one terminal action, last)."""
        prefilter = self.profile.prefilter
        if prefilter is None or (not self.locked and prefilter.match(
                call_key(call.method, call.host, call.service, call.path)) is None):
            return []  # no rule can match this call: nothing to count, nothing fires
        firings: list[Firing] = []
        terminal = False
        for rule in self.profile.rules:
            action = rule.action
            if (rule.index in self.locked and call.method != "GET"
                    and fnmatch.fnmatchcase(call.path, action.params["reauth_path"])):
                self.locked.discard(rule.index)  # signed in again (a form post, a token request): good again
                continue
            if not matches(rule, call):
                continue
            self.counts[rule.index] += 1
            n = self.counts[rule.index]
            if rule.index in self.locked:
                fires = True  # still expired: refused until the agent re-authenticates
            else:
                fires = self._fires(rule, n, call)
            if not fires or terminal:
                continue
            self.fired[rule.index] += 1
            firings.append(Firing(rule, n, self.seeds))
            if action.kind == "expire_session" and action.params.get("until") == "reauth":
                self.locked.add(rule.index)
            terminal = terminal or action.terminal
        return firings

    def _fires(self, rule: Rule, n: int, call: Call) -> bool:
        m = rule.match
        if m.nth and n not in m.nth:
            return False
        if m.every is not None and n % m.every:
            return False
        if m.after_s is not None and call.clock_s < m.after_s:
            return False
        if m.times is not None and self.fired[rule.index] >= m.times:
            return False
        if m.probability is not None and draw(*self.seeds, rule.index, n, "fires") >= m.probability:
            return False
        return True


def matches(rule: Rule, call: Call) -> bool:
    """Does `call` satisfy the rule's host/method/path/service/mcp_tool fields?"""
    m = rule.match
    if m.via != call.via:
        return False
    if m.methods and call.method not in m.methods:
        return False
    if m.services and call.service not in m.services:
        return False
    if m.host_re is not None and not m.host_re.match(call.host.lower()):
        return False
    if m.path_re is not None and not m.path_re.match(call.path):
        return False
    if m.mcp_tool_re is not None and (call.mcp_tool is None or not m.mcp_tool_re.match(call.mcp_tool)):
        return False
    return True


def latency_ms(firing: Firing) -> float:
    """The delay a latency action asks for on this firing: fixed, uniform, or lognormal with a cap."""
    params = firing.rule.action.params
    if "ms" in params:
        return float(params["ms"])
    if "uniform_ms" in params:
        low, high = params["uniform_ms"]
        return round(low + (high - low) * firing.draw("latency"), 3)
    spec = params["lognormal"]
    # Box-Muller from two seeded uniforms: a standard normal, then exp(mu + sigma * z).
    u1 = max(firing.draw("latency-1"), 1e-12)
    u2 = firing.draw("latency-2")
    z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)
    value = spec["median_ms"] * math.exp(spec["sigma"] * z)
    return round(min(value, spec["cap_ms"]), 3)
