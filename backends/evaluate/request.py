"""What to evaluate, as one value: the CLI's arguments and the Evaluate stage's choice both become it.

``EvalRequest`` names the data (a held-out file, or a seeded split of the
training file), the base model and where it runs, the alternatives (zero-shot,
few-shot k, RAG k), the tuned model (a run id or a model), the optional LLM
judge, and the connection (a key typed for this session, the Azure endpoint).
``setup`` resolves it into runners; ``session`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backends import registry
from backends.evaluate.runners import DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY, DEFAULT_MAX_TOKENS

DEFAULT_K = 3
"""Few-shot and RAG examples per prompt unless told."""


class UsageProblem(Exception):
    """A request that cannot be evaluated as given (the message says why)."""


@dataclass
class EvalRequest:
    data: str
    """The held-out examples (with ``split``: the training data a share is held out of)."""
    model: str
    """The base model."""
    provider: str | None = None
    """Where the models run (a backend name); ``None``: guessed from ``model``."""
    train: str | None = None
    """The examples few-shot and RAG draw from."""
    split: float | None = None
    """Treat ``data`` as training data and hold out this seeded share."""
    seed: int = 0
    limit: int | None = None
    """Evaluate the first N examples."""
    zero_shot: bool = True
    few_shot: int = DEFAULT_K
    """0 leaves few-shot out."""
    rag: int = DEFAULT_K
    """0 leaves RAG out."""
    tuned: str | None = None
    """A run id of the workspace, or a tuned model (``ft:…``, a folder, an adapter folder)."""
    current: str | None = None
    """A fine-tuned model already in use (``ft:…``): its own row, "current fine-tune"."""
    current_provider: str | None = None
    """Where ``current`` is served; ``None``: OpenAI for an ``ft:`` name, else ``where``."""
    training_cost: float | None = None
    """The training bill when the tuned run does not say (e.g. the Dataset step's estimate)."""
    max_tokens: int = DEFAULT_MAX_TOKENS
    concurrency: int = DEFAULT_CONCURRENCY
    batch_size: int = DEFAULT_BATCH_SIZE
    judge: str | None = None
    """A hosted model grading every answer 1-5 (``None``: no judge)."""
    judge_provider: str | None = None
    """Where the judge runs; ``None``: the evaluation's provider (when hosted)."""
    workspace: str | None = None
    secret: str | None = field(default=None, repr=False)
    """A key typed in the TUI for this session (the command line reads the environment only)."""
    azure_endpoint: str | None = None
    api_version: str | None = None

    @property
    def where(self) -> str:
        """The provider the models run on: the one named, else guessed from the base model."""
        return self.provider or guess_provider(self.model)

    @property
    def current_where(self) -> str:
        """The provider serving the current fine-tune: the one named, OpenAI's for an ``ft:``
        model, else the evaluation's."""
        if self.current_provider:
            return self.current_provider
        current = (self.current or "").strip()
        return guess_provider(current) if current.startswith("ft:") else self.where

    def problem(self) -> str | None:
        """Why the numbers cannot be used, or ``None``."""
        for name in ("few_shot", "rag", "limit", "max_tokens", "concurrency", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < (1 if name not in ("few_shot", "rag") else 0):
                return f"--{name.replace('_', '-')} must be at least 1 (0 for --few-shot/--rag)."
        if self.split is not None and self.train:
            return "--split holds examples out of --data; give --train or --split, not both."
        return None


def guess_provider(model: str) -> str:
    """Local for a path, a ``.gguf`` file or an ``owner/name`` hub id; else the default hosted one."""
    if Path(model).expanduser().exists() or model.lower().endswith(".gguf"):
        return registry.LOCAL
    if "/" in model and not model.startswith("ft:"):
        return registry.LOCAL
    return registry.DEFAULT_HOSTED
