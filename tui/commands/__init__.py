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

COMMANDS: dict[str, str] = {
    "inspect": "tui.commands.inspect",
    "train": "tui.commands.train_hosted",
    "attach": "tui.commands.train_hosted",
    "jobs": "tui.commands.train_hosted",
    "download": "tui.commands.train_hosted",
    "estimate": "tui.commands.train_local",
    "cancel": "tui.commands.train_local",
    "resume": "tui.commands.train_local",
    "save": "tui.commands.train_local",
    "merge": "tui.commands.merge_push",
    "push": "tui.commands.merge_push",
    "export": "tui.commands.export",
    "runs": "tui.commands.runs",
    "watch": "tui.commands.runs",
    "eval": "tui.commands.evaluate",
    "chat": "tui.commands.chat",
}
"""Each command's module: ``finetune-tui inspect ...`` builds only the parser it runs (a name
missing here still works: the whole parser is built)."""
