"""The ``finetune-tui`` command: the wizard, plus headless subcommands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from tui import __version__
from tui.commands import COMMAND_MODULES, COMMANDS

DESCRIPTION = (
    "A terminal wizard from 'should I fine-tune an LLM at all?' to a trained model "
    "you have measured. Run without a command to open the wizard."
)


WORKSPACE_HELP = "where decisions and runs are kept (default: ./.finetune)"


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The command line with the commands of ``modules`` (all of them by default)."""
    parser = argparse.ArgumentParser(prog="finetune-tui", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"finetune-tui {__version__}")
    parser.add_argument("--workspace", metavar="DIR", default=None, help=WORKSPACE_HELP)
    if modules:
        subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name in modules:
            importlib.import_module(name).register(subparsers)
        # ``--workspace`` before or after the command: SUPPRESS keeps the one given before.
        for command in set(subparsers.choices.values()):
            command.add_argument(
                "--workspace", metavar="DIR", default=argparse.SUPPRESS, help=WORKSPACE_HELP
            )
    return parser


def modules_needed(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules whose parsers ``argv`` needs: none for the wizard, one for a command.

    Building every command's parser imports the registry and every command module; the
    first screen and ``finetune-tui inspect`` should not wait for that. Anything else
    (``--help``, an unknown or misspelt command) gets the whole parser and its messages.
    """
    rest = list(argv)
    if rest[:1] == ["--workspace"] and len(rest) >= 2 and not rest[1].startswith("-"):
        rest = rest[2:]
    elif rest[:1] and rest[0].startswith("--workspace="):
        rest = rest[1:]
    if not rest:
        return ()
    module = COMMANDS.get(rest[0])
    return (module,) if module is not None else COMMAND_MODULES


def _quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop writing, say nothing (the shell's 141 status)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(modules_needed(arguments)).parse_args(arguments)
    handler = getattr(args, "handler", None)
    if handler is not None:
        from tui.commands.run_cli import CommandRefused

        try:
            code = int(handler(args) or 0)
            sys.stdout.flush()
        except BrokenPipeError:
            return _quiet_broken_pipe()
        except CommandRefused as refused:
            print(refused, file=sys.stderr)
            return refused.code
        except OSError as error:  # the disk, not a bug: say which path and what is wrong
            from backends.files import disk_problem

            print(disk_problem(error), file=sys.stderr)
            return 1
        return code

    from tui.app import FinetuneApp

    app = FinetuneApp(workspace=args.workspace)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
