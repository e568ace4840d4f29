"""After OpenAI: when it cannot create the job, the other backends, each with a comparable model.

Used by ``finetune-tui train``, the Cost step and the Backend step alike: ``refusal`` says
why OpenAI cannot take the job (the registry's ``no_new_jobs_from`` date, or an organisation
created too late; the API's 403 ``training_not_available`` says it at launch), ``offers`` lists where the same data can go instead (the catalog's
``replacements``), only backends this installation has.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import date

from backends import registry
from backends.catalog import OPENAI_NO_NEW_ORGS_SINCE, OPENAI_WIND_DOWN, Provider
from backends.tunability import replacements


@dataclass(frozen=True)
class Offer:
    backend: str
    model: str

    @property
    def label(self) -> str:
        return registry.label(self.backend)

    def command(self, data: str, validation: str | None = None) -> str:
        """``finetune-tui train`` for the same data on this backend."""
        words = ["finetune-tui", "train", "--backend", self.backend, "--model", self.model]
        words += ["--data", data] + (["--validation", validation] if validation else [])
        return shlex.join(words)


def closed_for(backend: str, today: date) -> str | None:
    """Why ``backend`` creates no new jobs on ``today`` (the registry's date), or ``None``."""
    info = registry.find(backend)
    if info is None or info.accepts_new_jobs(today) or info.no_new_jobs_from is None:
        return None
    return (
        f"{info.label} creates no new fine-tuning jobs since "
        f"{info.no_new_jobs_from:%-d %B %Y}. {OPENAI_WIND_DOWN}"
    )


def refusal(backend: str, today: date, *, org_has_access: bool | None = None) -> str | None:
    """Why ``backend`` cannot create the job: its closing date (``closed_for``), or, at OpenAI,
    an organisation created since May 2026 (``org_has_access`` False); ``None`` when it can."""
    closed = closed_for(backend, today)
    if closed is not None:
        return closed
    info = registry.find(backend)
    if org_has_access is False and info is not None and info.provider is Provider.OPENAI:
        return (
            f"{info.label} creates no fine-tuning jobs for organisations created since "
            f"{OPENAI_NO_NEW_ORGS_SINCE}. {OPENAI_WIND_DOWN}"
        )
    return None


def offers(model: str, today: date) -> list[Offer]:
    """Backends that still train, each with a model comparable to ``model``."""
    found = []
    for backend, candidate in replacements(model):
        info = registry.find(backend)
        if info is None or not info.accepts_new_jobs(today):
            continue
        found.append(Offer(backend, candidate))
    return found


def offer_lines(model: str, today: date, data: str, validation: str | None = None) -> list[str]:
    """The offers in words, one per line, each with its command for the same data."""
    lines = [f"Train {model}'s replacement elsewhere with the same data:"]
    for offer in offers(model, today):
        lines.append(f"  {offer.label}: {offer.model}")
        lines.append(f"    {offer.command(data, validation)}")
    lines.append(
        "Then measure both on the same held-out prompts (cost per 1,000 requests included): "
        "finetune-tui eval --provider openai --tuned ft:…, and --tuned RUN for the replacement."
    )
    return lines
