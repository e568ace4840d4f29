"""finetune-tui: the terminal wizard (everything on screen)."""

__version__ = "0.1.0"
