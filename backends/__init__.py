"""The engine behind finetune-tui. Importable and testable without Textual.

Nothing in this package imports ``tui`` or ``textual`` (an import-linter
contract in pyproject.toml checks it in CI).
"""
