"""A loopback OpenAI-compatible chat-completions server whose misbehaviour is scripted per request.

Real clients meet rate limits, dying workers, dropped connections, stalls and garbage; this server produces each of
them on demand over real HTTP so that the `openai` backend (and the corpus run above it) is tested against the wire
protocol rather than a mock. Stdlib only; one thread per connection; HTTP/1.1 keep-alive like real servers.

    with FaultServer(script=lambda body, attempt: [RATE_LIMIT, RESET][attempt] if attempt < 2 else OK) as server:
        OpenAIBackend("fake-model", [server.base_url]) ...
        server.requests_seen, server.max_in_flight, server.connections

`script` decides what each chat-completions request gets:
- a callable `(body, attempt) -> action`, where `attempt` counts earlier requests with the same messages and seed
  (so "fail the first two tries of every prompt" is one line and independent of arrival order), or
- a sequence of actions consumed in arrival order (then `OK`), or None (always `OK`).

Run standalone (e.g. for a benchmark, so that the server does not share the client's GIL):
    python -m tests.fault_server --port 0 --latency 0.05     # prints the base URL on its first line
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK = "ok"
RATE_LIMIT = "429"  # 429 with the server's Retry-After header
SERVER_ERROR = "500"
BAD_REQUEST = "400"  # a permanent client error with a message
TOO_LONG = "400-detail"  # a prompt over the context, worded as `transformers serve` (FastAPI's {"detail": ...})
INVALID = "422"  # FastAPI's validation error: {"detail": [{"loc": [...], "msg": ...}]}
TOO_LARGE = "413"  # a proxy's HTML page
UNAVAILABLE = "503"  # a plain-text 503 of a proxy whose upstream is restarting
FINAL_ERROR = "500-final"  # a 500 with `x-should-retry: false`: the server says a retry cannot help
RESET = "reset"  # the connection is reset without a response
HANG = "hang"  # no response until the client gives up (or the server closes)
EMPTY = "empty"  # 200 with an empty completion
MALFORMED = "malformed"  # 200 with a body that is not JSON
NO_CHOICES = "no_choices"  # 200 with valid JSON but no choices
ACTIONS = (OK, RATE_LIMIT, SERVER_ERROR, BAD_REQUEST, TOO_LONG, INVALID, TOO_LARGE, UNAVAILABLE, FINAL_ERROR, RESET,
           HANG, EMPTY, MALFORMED, NO_CHOICES)
TOO_LONG_DETAIL = "The prompt has 600 tokens, but the model takes at most 512, prompt and answer (`--max-model-len`)."


Script = Callable[[dict[str, Any], int], str] | Sequence[str] | None


@dataclass
class Seen:
    """One chat-completions request as the server received it."""

    body: dict[str, Any]
    action: str
    attempt: int
    arrived: float  # time.monotonic() at arrival
    port: int  # the server port it came in on (FaultServer pools share one log)


def default_reply(body: dict[str, Any]) -> str:
    """A deterministic note derived from the request, so tests can tie each text to its prompt and seed."""
    user = " ".join(m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user")
    digest = _request_key(body)[:8]
    return f"Пациент жалуется: {user.strip()[:200]} [{digest}]"


def _request_key(body: dict[str, Any]) -> str:
    payload = json.dumps([body.get("messages"), body.get("seed")], ensure_ascii=False, sort_keys=True)
    return hashlib.sha1(payload.encode()).hexdigest()


@dataclass
class _State:
    script: Script
    latency: float
    model: str
    retry_after: str | Callable[[], str]
    reply: Callable[[dict[str, Any]], str]
    hang_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[Seen] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0  # TCP connections accepted: a client that keeps its connections alive opens few
    closing: threading.Event = field(default_factory=threading.Event)
    api_key: str | None = None  # when set, requests without `Authorization: Bearer <api_key>` get a 401

    def decide(self, body: dict[str, Any], port: int) -> str:
        with self.lock:
            key = _request_key(body)
            attempt = self.attempts.get(key, 0)
            self.attempts[key] = attempt + 1
            if self.script is None:
                action = OK
            elif callable(self.script):
                action = self.script(body, attempt)
            else:
                index = len(self.seen)
                action = self.script[index] if index < len(self.script) else OK
            if action not in ACTIONS:
                raise ValueError(f"unknown fault action {action!r}; expected one of {ACTIONS}")
            self.seen.append(Seen(body, action, attempt, time.monotonic(), port))
            return action


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # As real servers do: without it, Nagle's algorithm holds the body back behind the headers until the
        # client's delayed ACK (~40 ms), which would dominate any latency measured through this server.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.state.lock:
            self.server.state.connections += 1

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _refused(self) -> bool:
        key = self.server.state.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return False
        self._json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        return True

    def do_GET(self) -> None:
        state = self.server.state
        if self._refused():
            return
        if self.path.rstrip("/") == "/health":
            self._json(200, {"status": "ok"})
        elif self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": state.model, "object": "model", "owned_by": "test"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            self._json(400, {"error": {"message": f"request body is not JSON: {exc}", "type": "invalid_request"}})
            return
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._answer(state, body)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _answer(self, state: _State, body: dict[str, Any]) -> None:
        action = state.decide(body, self.server.server_address[1])
        if state.latency:
            time.sleep(state.latency)
        if body.get("model") != state.model:
            message = f"The model `{body.get('model')}` does not exist."
            self._json(404, {"error": {"message": message, "type": "NotFoundError", "code": 404}})
        elif action == RATE_LIMIT:
            retry_after = state.retry_after() if callable(state.retry_after) else state.retry_after
            error = {"error": {"message": "Rate limit reached, slow down", "type": "rate_limit"}}
            self._json(429, error, {"Retry-After": retry_after})
        elif action == SERVER_ERROR:
            self._json(500, {"error": {"message": "worker crashed", "type": "server_error"}})
        elif action == BAD_REQUEST:
            self._json(400, {"error": {"message": "messages: prompt is too long for this model", "type": "invalid"}})
        elif action == TOO_LONG:
            self._json(400, {"detail": TOO_LONG_DETAIL})
        elif action == INVALID:
            error = {"loc": ["body", "temperature"], "msg": "Input should be less than or equal to 2", "type": "le"}
            self._json(422, {"detail": [error]})
        elif action == TOO_LARGE:
            page = ("<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 "
                    "Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
            self._raw(413, page.encode(), "text/html")
        elif action == UNAVAILABLE:
            self._raw(503, b"upstream connect error or disconnect/reset before headers", "text/plain")
        elif action == FINAL_ERROR:
            error = {"error": {"message": "the model failed on this input", "type": "server_error"}}
            self._json(500, error, {"x-should-retry": "false"})
        elif action == RESET:
            self._reset()
        elif action == HANG:
            state.closing.wait(state.hang_seconds)
            self._reset()
        elif action == MALFORMED:
            self._raw(200, b'{"id": "cmpl-1", "choices": [{"message": {"content": "trunc', "application/json")
        elif action == NO_CHOICES:
            self._json(200, {"id": "cmpl-1", "object": "chat.completion", "model": state.model, "choices": []})
        else:
            text = "" if action == EMPTY else state.reply(body)
            self._json(200, _completion(body, state.model, text))

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json", headers)

    def _raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed worker or a proxy would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:  # the socket was reset on purpose
            pass


def _completion(body: dict[str, Any], model: str, text: str) -> dict[str, Any]:
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion_words = len(text.split())
    return {
        "id": "chatcmpl-" + _request_key(body)[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_words,
            "completion_tokens": completion_words,
            "total_tokens": prompt_words + completion_words,
        },
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # hanging handlers are released by `closing`, never joined
    request_queue_size = 256
    state: _State

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its keep-alive connections (a run stopping early) is normal, not a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FaultServer:
    """An OpenAI-compatible loopback server (see the module docstring); use as a context manager.

    `latency` is added to every chat-completions answer; `retry_after` is the Retry-After header of 429s (seconds or
    an HTTP date, or a callable returning one); `hang_seconds` bounds a HANG; `reply(body)` makes the note text.
    Several servers can share one log by passing the same `state` of another server (see `FaultServer.pool`).
    """

    def __init__(
        self,
        script: Script = None,
        latency: float = 0.0,
        model: str = "fake-model",
        retry_after: str | Callable[[], str] = "1",
        reply: Callable[[dict[str, Any]], str] = default_reply,
        hang_seconds: float = 30.0,
        port: int = 0,
        api_key: str | None = None,
        _state: _State | None = None,
    ) -> None:
        self.state = _state or _State(script, latency, model, retry_after, reply, hang_seconds, api_key=api_key)
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def pool(cls, n: int, **kwargs: Any) -> list[FaultServer]:
        """`n` servers (different ports) sharing one script, log and in-flight count."""
        first = cls(**kwargs)
        return [first] + [cls(_state=first.state) for _ in range(n - 1)]

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start the server first"
        return self._httpd.server_address[1]

    @property
    def requests_seen(self) -> list[Seen]:
        with self.state.lock:
            return list(self.state.seen)

    @property
    def max_in_flight(self) -> int:
        return self.state.max_in_flight

    @property
    def connections(self) -> int:
        return self.state.connections

    def start(self) -> FaultServer:
        self._httpd = _Server(("127.0.0.1", self._port), _Handler)
        self._httpd.state = self.state
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.state.closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve OpenAI-compatible chat completions on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every completion")
    parser.add_argument("--model", default="fake-model", help="the only model id the server accepts")
    args = parser.parse_args(argv)
    # One thread per connection: a short GIL hand-over interval keeps dozens of waking connection threads from
    # queueing behind each other for 5 ms turns, so the scripted latency stays what the client sees.
    sys.setswitchinterval(0.0002)
    server = FaultServer(latency=args.latency, model=args.model, port=args.port).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
