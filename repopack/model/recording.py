"""Record model calls to a directory and replay them, keyed by a hash of the request.

`--record DIR` (or ``REPOPACK_RECORD=DIR``) sends each request as usual and stores the
reply in ``DIR/<hash>.json``; `--replay DIR` (``REPOPACK_REPLAY``) answers each request
from that directory and never opens a connection, so `review`, `explain-tests`, `ask`
and `chat` run deterministically in CI and in a team's own tests.

The hash covers what decides the answer: the model name, the messages (already
redacted), the call's parameters and whether it streams.  It does not cover the
endpoint, the key or the timeout, and a recording holds none of them: only the request
body and the reply.  A request with no recording is an error that names the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from repopack.errors import ModelError, UsageError
from repopack.util.env import env as repopack_env
from repopack.util.fs import atomic_write

FORMAT_VERSION = 1
RECORD_ENV = "REPOPACK_RECORD"
REPLAY_ENV = "REPOPACK_REPLAY"


@dataclass(frozen=True)
class Recording:
    mode: Literal["record", "replay"]
    directory: Path

    @classmethod
    def resolve(cls, record: str | None = None, replay: str | None = None,
                env: Mapping[str, str] | None = None) -> Recording | None:
        """Flags win over ``REPOPACK_RECORD`` / ``REPOPACK_REPLAY``; both at once is a usage error."""
        if record is None and replay is None:
            record, replay = repopack_env("record", env), repopack_env("replay", env)
        if record and replay:
            raise UsageError("give --record DIR or --replay DIR (REPOPACK_RECORD / REPOPACK_REPLAY), not both")
        if replay:
            directory = Path(replay).expanduser()
            if not directory.is_dir():
                raise UsageError(f"--replay {replay}: no such directory of recordings")
            return cls("replay", directory)
        if record:
            return cls("record", Path(record).expanduser())
        return None

    def key(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
            stream: bool) -> str:
        return request_hash(model, messages, params, stream)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str) -> dict[str, Any]:
        """The recorded reply for ``key``; a missing or unreadable recording is a ModelError."""
        path = self.path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"no recorded reply in {self.directory} for this request (hash {key[:12]}): the "
                             "prompt differs from the recorded run; record it again with --record") from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the recording {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or "reply" not in data:
            raise ModelError(f"{path} is not a repopack recording (version {FORMAT_VERSION})")
        reply = data["reply"]
        if not isinstance(reply, dict):
            raise ModelError(f"{path} is not a repopack recording (version {FORMAT_VERSION})")
        return reply

    def save(self, key: str, request: Mapping[str, Any], reply: Mapping[str, Any]) -> Path:
        """Write atomically, so an interrupted run never leaves half a recording."""
        path = self.path(key)
        text = json.dumps({"version": FORMAT_VERSION, "request": dict(request), "reply": dict(reply)},
                          indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        try:
            atomic_write(path, text)
        except OSError as exc:
            raise UsageError(f"--record {self.directory}: cannot write there: {exc.strerror or exc}") from None
        return path


def request_body(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
                 stream: bool) -> dict[str, Any]:
    """What a recording keeps of a request (no endpoint, no key, no timeout)."""
    return {"model": model, "messages": [dict(m) for m in messages], "params": dict(params), "stream": stream}


def request_hash(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
                 stream: bool) -> str:
    canonical = json.dumps(request_body(model, messages, params, stream), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
