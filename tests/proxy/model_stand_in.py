"""A stand-in model server, OpenAI-compatible as vLLM and llama.cpp's server are: `GET /v1/models`,
`POST /v1/chat/completions` answered whole or, with `"stream": true`, as server-sent events
(`data: {chunk}` ... `data: [DONE]`), chunked, one token per event. aiohttp on 127.0.0.1, in a
thread of its own, so a test (or bench/bench_routes.py) can drive it with blocking clients.

What a test can hold it to:
- `seen`: every request as it arrived (method, path, headers), to check what the proxy sent on;
- `gate`: with `gated=True`, the stream stops after its first event until the test sets the gate,
  and `opened` says whether it was set (True) or the wait gave up (False): a proxy that buffered
  the stream would hold that first event back, so the test never sees it and never opens the gate;
- `pause_ms` before event `pause_at`: a known gap, which the recording must keep.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field

from aiohttp import web

MODEL = "stand-in-model"
GATE_TIMEOUT = 15.0  # only a buffering proxy ever makes the stream wait this long


def tokens_for(prompt: str, count: int) -> list[str]:
    """The answer's tokens: deterministic, so a recorded answer can be compared with a replayed one."""
    words = (prompt.split() or ["hello"]) * (count // max(1, len(prompt.split())) + 1)
    return [f"{word}{i} " for i, word in enumerate(words[:count])]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class ModelStandIn:
    tokens: int = 6
    pause_at: int = 3  # the event before which the stream pauses
    pause_ms: float = 0.0
    gated: bool = False
    seen: list[Seen] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    opened: bool | None = None
    port: int = 0

    # -- the server -----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        return app

    async def models(self, request: web.Request) -> web.Response:
        self._saw(request)
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "test"}]})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self._saw(request)
        body = await request.json()
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        tokens = tokens_for(prompt, int(body.get("max_tokens") or self.tokens))
        if not body.get("stream"):
            return web.json_response(completion(tokens))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        events = [chunk_event(i, token) for i, token in enumerate(tokens)]
        events += [finish_event(), b"data: [DONE]\n\n"]
        for i, event in enumerate(events):
            if i == 1 and self.gated:
                self.opened = await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, GATE_TIMEOUT)
            if i == self.pause_at and self.pause_ms:
                await asyncio.sleep(self.pause_ms / 1000.0)
            await response.write(event)
        await response.write_eof()
        return response

    def _saw(self, request: web.Request) -> None:
        self.seen.append(Seen(request.method, request.path_qs, {k.lower(): v for k, v in request.headers.items()}))

    # -- running it ----------------------------------------------------------------------------

    def __enter__(self) -> ModelStandIn:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def start() -> None:
            self._runner = web.AppRunner(self.app(), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(start())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the stand-in model server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening: afterwards nothing answers on its port."""
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def completion(tokens: list[str]) -> dict:
    return {"id": "chatcmpl-standin", "object": "chat.completion", "created": 1700000000, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens)},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": len(tokens), "total_tokens": len(tokens) + 1}}


def chunk_event(i: int, token: str) -> bytes:
    delta = {"role": "assistant", "content": token} if i == 0 else {"content": token}
    chunk = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def finish_event() -> bytes:
    chunk = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def main() -> None:
    """`python -m tests.proxy.model_stand_in`: serve until killed, in a process of its own (the bench
    runs it so, so that the server and the client do not share one interpreter)."""
    import signal

    with ModelStandIn() as server:
        print(f"listening on {server.port}", flush=True)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    main()
