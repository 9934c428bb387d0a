"""The one exception hierarchy of repopack.

The core raises these; the CLI maps each class to a one-line message and the exit
code documented in README.md.  Messages name the input and, where there is one, the fix.
"""

from __future__ import annotations


class RepopackError(Exception):
    """Base class: every error repopack expects to happen to a user."""

    exit_code = 1


class UsageError(RepopackError):
    """Flags or arguments that do not make sense together."""

    exit_code = 2


class ConfigError(RepopackError):
    """A bad config file, config key or setting value."""

    exit_code = 3


class RepoError(RepopackError):
    """The path is missing, not a directory, empty, or git failed."""

    exit_code = 4


class OutputError(RepopackError):
    """The output (-o, --output-file, --manifest) cannot be written there: a directory, no space, no access."""

    exit_code = 1


class BudgetError(RepopackError):
    """The token budget cannot hold even the prompt's fixed parts."""

    exit_code = 5


class ModelError(RepopackError):
    """The model endpoint failed in a way retries did not fix."""

    exit_code = 6


class NoModelConfiguredError(ModelError):
    """No endpoint or API key is configured."""

    exit_code = 7


class AuthError(ModelError):
    """The endpoint refused the key (401/403) or does not know the model (404)."""

    exit_code = 8


class RateLimitError(ModelError):
    """429 or 5xx after bounded retries."""

    exit_code = 9


class ContextOverflowError(ModelError):
    """The prompt is longer than the model accepts, even after shrinking once.

    ``limit`` and ``requested`` are the numbers the server stated, when it stated them
    ("maximum context length is 700 tokens ... resulted in 861 tokens"), in its units.
    """

    exit_code = 10

    def __init__(self, message: str, *, limit: int | None = None, requested: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.requested = requested


class CostLimitError(RepopackError):
    """The estimated cost is above --max-cost."""

    exit_code = 11


class ApplyError(RepopackError):
    """An edit could not be applied (escape attempt, stale file, hunk mismatch)."""

    exit_code = 12


class NothingToUndoError(ApplyError):
    """No apply journal to undo."""

    exit_code = 14


class ReviewError(RepopackError):
    """GitHub API or review set-up failure."""

    exit_code = 13


class RemoteError(RepoError):
    """A remote repository could not be fetched: unknown or unreachable host, no repository there."""

    exit_code = 15


class RemoteRefError(RemoteError):
    """The branch, tag or commit given with --ref (or @REF) does not exist in the remote repository."""

    exit_code = 16


class RemoteAuthError(RemoteError):
    """The remote refused access: missing or wrong credentials (GITHUB_TOKEN, git credentials, ssh keys)."""

    exit_code = 17
