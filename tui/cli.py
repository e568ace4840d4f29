"""The ``finetune-tui`` command: the wizard, plus headless subcommands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from tui import __version__
from tui.commands import COMMAND_MODULES

DESCRIPTION = (
    "A terminal wizard from 'should I fine-tune an LLM at all?' to a trained model "
    "you have measured. Run without a command to open the wizard."
)


WORKSPACE_HELP = "where decisions and runs are kept (default: ./.finetune)"


def build_parser(*, with_commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``with_commands=False``: only what opening the wizard reads."""
    parser = argparse.ArgumentParser(prog="finetune-tui", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"finetune-tui {__version__}")
    parser.add_argument("--workspace", metavar="DIR", default=None, help=WORKSPACE_HELP)
    if with_commands and COMMAND_MODULES:
        subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name in COMMAND_MODULES:
            importlib.import_module(name).register(subparsers)
        # ``--workspace`` before or after the command: SUPPRESS keeps the one given before.
        for command in set(subparsers.choices.values()):
            command.add_argument(
                "--workspace", metavar="DIR", default=argparse.SUPPRESS, help=WORKSPACE_HELP
            )
    return parser


def _quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop writing, say nothing (the shell's 141 status)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def opens_wizard(argv: Sequence[str]) -> bool:
    """No command, at most ``--workspace DIR``: the wizard, which needs no command's parser.

    Building every command's parser imports the registry and the command modules; the
    first screen should not wait for that.
    """
    if len(argv) == 2 and argv[0] == "--workspace":
        return not argv[1].startswith("-")
    return not argv or (len(argv) == 1 and argv[0].startswith("--workspace="))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(with_commands=not opens_wizard(arguments)).parse_args(arguments)
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
