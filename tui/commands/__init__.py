"""Headless subcommands of ``finetune-tui`` (``inspect``, ``train``, ``runs``...).

Each module here exposes ``register(subparsers)``, which adds its parser and
sets ``handler=`` to a function ``(args) -> int`` (the exit status). Modules
are listed in ``COMMAND_MODULES``; they import heavy libraries only inside
their handler, so ``finetune-tui --help`` and the app stay fast.
"""

COMMAND_MODULES: tuple[str, ...] = (
    "tui.commands.inspect",
    "tui.commands.train_hosted",
    "tui.commands.train_local",
    "tui.commands.merge_push",
    "tui.commands.export",
    "tui.commands.runs",
    "tui.commands.evaluate",
    "tui.commands.chat",
)
