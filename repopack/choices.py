"""The closed sets of choices, typed: one vocabulary per idea across code, prompts and output.

Each is a `StrEnum`, so a member compares equal to its text and prints as it (``Mode.FULL ==
"full"``); flags, config values and JSON keep the same words they always had.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """The fidelity a file goes into the prompt at, best first."""

    FULL = "full"
    FOCUSED = "focused"  # the skeleton with the bodies that matter for the question expanded
    SKELETON = "skeleton"
    PATH = "path"  # named in the directory tree only
    DROPPED = "dropped"  # not in the prompt at all


class Format(StrEnum):
    """How the prompt is rendered."""

    XML = "xml"
    MARKDOWN = "markdown"
    PLAIN = "plain"

    @property
    def extension(self) -> str:
        return {Format.XML: ".xml", Format.MARKDOWN: ".md", Format.PLAIN: ".txt"}[self]


class Order(StrEnum):
    """Where the most relevant files go in the prompt."""

    RELEVANCE_LAST = "relevance-last"
    RELEVANCE_FIRST = "relevance-first"
    PATH = "path"


class Images(StrEnum):
    """Which images of the repository go to the model (see packing/images.py)."""

    AUTO = "auto"  # only when the question asks for pictures, then the ones it needs
    NONE = "none"
    ALL = "all"


class Severity(StrEnum):
    """How much a review finding matters, worst first (prompts, findings, reports and --fail-on)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def values(choice: type[StrEnum]) -> tuple[str, ...]:
    """The words of a choice, in declaration order (for click.Choice and error messages)."""
    return tuple(member.value for member in choice)
