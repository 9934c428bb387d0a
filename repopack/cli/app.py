"""The `repopack` click group and the one place errors become exit codes.

Each command lives in its own module under repopack/cli/ and registers itself on
`cli`.  Modules are imported only when their command runs (or for --help), so
`repopack pack` never pays for the openai SDK or Textual.
"""

from __future__ import annotations

import importlib
import sys

import click

from repopack import __version__
from repopack.errors import RepopackError
from repopack.util.env import env
from repopack.util.fmt import error_line

COMMAND_MODULES = ("pack", "rank", "map", "ask", "undo", "models", "eval", "chat", "review", "explain_tests",
                   "cache", "scan", "tokens", "mcp")
# command name -> module under repopack.cli
COMMANDS = {name.replace("_", "-"): name for name in COMMAND_MODULES}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"repopack.cli.{COMMANDS[cmd_name]}")
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="repopack")
def cli() -> None:
    """repopack: the best prompt for a question about a repository, under a token budget."""
    from repopack.config import reset_warnings

    reset_warnings()  # each command prints its settings warnings once (in-process runs share the module)


_NO_ARGS_IS_HELP: tuple[type[Exception], ...] = tuple(
    t for t in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if isinstance(t, type))


def usage_line(exc: click.UsageError) -> str:
    """'repopack: error: No such option: --max-cots (see repopack review --help)'."""
    message = " ".join(exc.format_message().split())
    where = exc.ctx.command_path if exc.ctx is not None else "repopack"
    return f"repopack: error: {message} (see {where} --help)"


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="repopack", standalone_mode=False)
    except RepopackError as exc:
        click.echo(error_line(exc), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("repopack: interrupted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # click's own usage errors, in the one-line format, exit 2
        if isinstance(exc, _NO_ARGS_IS_HELP):  # bare `repopack`: the help itself, as before
            exc.show()
        else:
            click.echo(usage_line(exc), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("repopack: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        if env("debug"):
            raise
        click.echo(f"repopack: internal error: {exc.__class__.__name__}: {exc} (set REPOPACK_DEBUG=1 for details)",
                   err=True)
        sys.exit(1)


def console_main() -> None:
    """The `repopack` executable: `main`, in a process that ends with the command."""
    from repopack.util.collector import mark_one_shot_process

    mark_one_shot_process()
    main()
