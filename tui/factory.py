"""The one way to build the app, shared by `repopack chat` and the tests."""

from __future__ import annotations

from pathlib import Path

from repopack.config import load_settings, warn_once
from repopack.errors import RepoError
from repopack.packing.walk import resolve_root

from .app import RepopackApp
from .controller import Controller
from .transcript import Transcript, latest_transcript


def create_app(path: str | Path = ".", *, model: str | None = None, base_url: str | None = None,
               budget: int | None = None, resume: bool = False, images: str | None = None,
               max_images: int | None = None) -> RepopackApp:
    """Settings from the repository's configuration and the flags; nothing is packed yet."""
    root = resolve_root(path)
    flags = {"model": model, "base_url": base_url, "budget": budget, "images": images, "max_images": max_images}
    warnings: list[str] = []

    def warn(message: str) -> None:  # on stderr (seen after quitting) and in the app
        warn_once(message)
        warnings.append(message)

    settings = load_settings(root, {k: v for k, v in flags.items() if v is not None}, warn=warn)
    transcript = None
    if resume:
        saved = latest_transcript(root)
        if saved is None:
            raise RepoError(f"nothing to resume in {root}: no saved chat transcript (start without --resume)")
        transcript = Transcript.load(saved)
    return RepopackApp(Controller(root, settings, transcript, warnings=tuple(warnings)))
