"""Reading what an OpenAI-compatible endpoint sent back: chat completion bodies, checked for the
fields every reply has, one-line descriptions of replies that are not the protocol, and the
numbers a context-length error states ("maximum context length is 700 tokens")."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import openai

from repopack.errors import ModelError


@dataclass(frozen=True)
class ChatResult:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None


def chat_result(body: Any, where: str) -> ChatResult:
    """Read a chat.completion body from ``where``, refusing one without the fields every reply has."""
    if not isinstance(body, dict):
        raise ModelError(f"the reply from {where} is JSON but not a chat completion: {snippet(json.dumps(body))}")
    if isinstance(body.get("error"), dict):
        said = " ".join(str(body["error"].get("message") or body["error"]).split())
        raise ModelError(f"the endpoint {where} answered 200 with an error: {snippet(said)}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ModelError(f"the reply from {where} has no 'choices': {snippet(json.dumps(body))}")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise ModelError(f"the reply from {where} has no 'choices[0].message': {snippet(json.dumps(body))}")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise ModelError(f"the reply from {where} has a non-text 'content': {snippet(json.dumps(content))}")
    usage: dict[str, Any] = body["usage"] if isinstance(body.get("usage"), dict) else {}
    return ChatResult(
        text=content or "",
        input_tokens=int_or_none(usage.get("prompt_tokens")),
        output_tokens=int_or_none(usage.get("completion_tokens")),
        finish_reason=choice.get("finish_reason"),
    )


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def dump(obj: Any) -> str:
    try:
        return json.dumps(obj.to_dict() if hasattr(obj, "to_dict") else obj, default=str)
    except (TypeError, ValueError):
        return repr(obj)


def snippet(text: str | None, limit: int = 80) -> str:
    """The start of what came back, on one line, quoted."""
    flat = " ".join((text or "").split())
    return repr(flat[:limit] + ("…" if len(flat) > limit else "")) if flat else "an empty body"


def not_protocol(where: str, content_type: str, body: str, expected: str) -> str:
    """One line for a 200 whose body is not what the protocol sends."""
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    html = "html" in kind.lower() or body.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
    hint = ("; is the base URL an API endpoint? OpenAI-compatible URLs usually end in /v1" if html
            else "; is the endpoint OpenAI-compatible?")
    return f"HTTP 200 from {where} is not {expected}: {kind} body {snippet(body)}{hint}"


_NUMBER = r"(\d[\d,]*)"
_LIMIT_PATTERNS = (  # what servers say, in the wording of OpenAI, vLLM, llama.cpp, Anthropic-style gateways
    re.compile(r"maximum context length is " + _NUMBER, re.I),
    re.compile(r"context (?:length|window|size|limit) (?:of |is |= ?)?" + _NUMBER, re.I),
    re.compile(r"(?:limit|maximum) (?:of |is )?" + _NUMBER + r" tokens", re.I),
    re.compile(r"tokens? > " + _NUMBER + r" maximum", re.I),
)
_REQUESTED_PATTERNS = (
    re.compile(r"(?:resulted in|you requested|requested|prompt (?:has|contains|is)) " + _NUMBER + r" tokens", re.I),
    re.compile(_NUMBER + r" tokens > \d", re.I),
)


def stated_context_limit(exc: openai.APIStatusError) -> tuple[int | None, int | None]:
    """(limit, requested) from a context-length error, where the server said them."""
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
    limit = int_or_none(inner.get("n_ctx")) or int_or_none(body.get("n_ctx"))  # llama.cpp server
    requested = int_or_none(inner.get("n_prompt_tokens")) or int_or_none(body.get("n_prompt_tokens"))
    message = str(exc.message)

    def first(patterns: tuple[re.Pattern[str], ...]) -> int | None:
        for pattern in patterns:
            found = pattern.search(message)
            if found:
                return int(found.group(1).replace(",", ""))
        return None

    limit = limit or first(_LIMIT_PATTERNS)
    requested = requested or first(_REQUESTED_PATTERNS)
    return (limit if limit and limit > 0 else None), (requested if requested and requested > 0 else None)
