"""Render the prompt templates in ``prompts/`` (installed as ``repopack.prompts``).

A user directory (``--prompts DIR`` or config) overrides templates file by file:
``DIR/ask.j2`` replaces the shipped ``ask.j2`` and everything else still comes from
the package.  Templates are loaded with importlib.resources, so they work from a
wheel as well as from a checkout.

Every template renders in jinja2's sandbox (`SandboxedEnvironment`): a template reaches
the values it is given and nothing else (no ``__globals__``, no ``os``, no file system),
and an attempt is a one-line `ConfigError`.  A template directory only ever comes from
the user (a repository's config cannot set ``prompts``; see `repopack.config`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from repopack.errors import ConfigError

TEMPLATE_NAMES = ("system", "ask", "edit", "review", "explain_tests")
SUFFIX = ".j2"


def _shipped_source(filename: str) -> str | None:
    resource = resources.files("repopack.prompts").joinpath(filename)
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


class _PromptLoader(jinja2.BaseLoader):
    """User directory first (if any), then the shipped templates."""

    def __init__(self, prompts_dir: Path | None) -> None:
        self.prompts_dir = prompts_dir

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Any]:
        if "/" in template or "\\" in template or template.startswith("."):
            raise jinja2.TemplateNotFound(template)  # plain names only: an include never leaves the directory
        if self.prompts_dir is not None:
            path = self.prompts_dir / template
            if path.is_file():
                mtime = path.stat().st_mtime
                return path.read_text(encoding="utf-8"), str(path), lambda: path.stat().st_mtime == mtime
        source = _shipped_source(template)
        if source is None:
            raise jinja2.TemplateNotFound(template)
        return source, None, lambda: True


@cache
def _environment(prompts_dir: Path | None) -> jinja2.Environment:
    return SandboxedEnvironment(
        loader=_PromptLoader(prompts_dir),
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # prompts are plain text, never HTML
    )


def render_template(name: str, prompts_dir: Path | None = None, **context: Any) -> str:
    """Render prompt ``name`` ("ask", or "ask.j2") with ``context``."""
    filename = name if name.endswith(SUFFIX) else name + SUFFIX
    if prompts_dir is not None and not prompts_dir.is_dir():
        raise ConfigError(f"prompts directory {prompts_dir} does not exist or is not a directory")
    directory = prompts_dir.resolve() if prompts_dir is not None else None
    try:
        template = _environment(directory).get_template(filename)
        return template.render(**context)
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"no prompt template named {filename!r} (known: {', '.join(TEMPLATE_NAMES)})") from exc
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"prompt template {filename!r} needs a value: {exc.message}") from exc
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or filename
        raise ConfigError(f"prompt template {where} line {exc.lineno}: {exc.message}") from exc
    except SecurityError as exc:
        raise ConfigError(f"prompt template {filename!r} tried something templates may not do: {exc}") from exc
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, LookupError, ArithmeticError) as exc:
        raise ConfigError(f"prompt template {filename!r} failed: {exc.__class__.__name__}: {exc}") from exc
