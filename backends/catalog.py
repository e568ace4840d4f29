"""Which models can be fine-tuned where, with what method, and at what price.

One table shared by every step: the Cost question of the checklist, the
dataset linter (context limits, tokenizer, billed tokens) and the hosted
backends (model lists). Prices are in US dollars per million tokens and carry
the date they were taken from the provider's price list: they go stale, so the
UI always shows that date next to a figure computed from them.

OpenAI is winding down self-serve fine-tuning: organisations created since
May 2026 cannot create jobs, nobody can create new jobs from 6 January 2027,
and fine-tuned models that already exist keep serving. ``tunability`` applies
those rules for a given day, so tests pass the day in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum


class Provider(str, Enum):
    OPENAI = "openai"
    AZURE = "azure"
    LOCAL = "local"

    @property
    def label(self) -> str:
        return {"openai": "OpenAI", "azure": "Azure OpenAI", "local": "Local GPU"}[self.value]


PRICES_AS_OF = "2025-06"
"""When the prices below were read off the providers' price lists."""

OPENAI_NO_NEW_ORGS_SINCE = "May 2026"
OPENAI_NO_NEW_JOBS_FROM = date(2027, 1, 6)
OPENAI_WIND_DOWN = (
    "OpenAI is winding down self-serve fine-tuning: organisations created since "
    f"{OPENAI_NO_NEW_ORGS_SINCE} cannot create jobs, nobody can from "
    f"{OPENAI_NO_NEW_JOBS_FROM:%-d %b %Y}; existing fine-tuned models keep serving."
)

# Fine-tuning methods, as the OpenAI API names them.
SUPERVISED = "supervised"
DPO = "dpo"
REINFORCEMENT = "reinforcement"


@dataclass(frozen=True)
class Prices:
    """US dollars per 1M tokens; ``None`` where no public per-token price exists."""

    training: float | None = None
    base_input: float | None = None
    base_output: float | None = None
    tuned_input: float | None = None
    tuned_output: float | None = None


@dataclass(frozen=True)
class HostedModel:
    provider: Provider
    name: str
    """The snapshot name the provider's API takes as the base model."""
    aliases: tuple[str, ...]
    methods: tuple[str, ...]
    context_tokens: int
    """Longest training example the provider accepts; longer ones are truncated."""
    encoding: str
    """The tiktoken encoding that counts this model's tokens."""
    prices: Prices = field(default_factory=Prices)
    legacy: bool = False
    note: str = ""

    def matches(self, model: str) -> bool:
        return model == self.name or model in self.aliases


_GPT41_CONTEXT = 65_536
_GPT4O_CONTEXT = 65_536
_AZURE_PRICE_NOTE = (
    "Azure bills training per token and each deployed fine-tuned model per hour of "
    "hosting; prices differ by region (Azure pricing page)."
)

CATALOG: tuple[HostedModel, ...] = (
    # --- OpenAI -------------------------------------------------------------
    HostedModel(
        Provider.OPENAI,
        "gpt-4.1-2025-04-14",
        ("gpt-4.1",),
        (SUPERVISED, DPO),
        _GPT41_CONTEXT,
        "o200k_base",
        Prices(25.00, 2.00, 8.00, 3.00, 12.00),
    ),
    HostedModel(
        Provider.OPENAI,
        "gpt-4.1-mini-2025-04-14",
        ("gpt-4.1-mini",),
        (SUPERVISED, DPO),
        _GPT41_CONTEXT,
        "o200k_base",
        Prices(5.00, 0.40, 1.60, 0.80, 3.20),
    ),
    HostedModel(
        Provider.OPENAI,
        "gpt-4.1-nano-2025-04-14",
        ("gpt-4.1-nano",),
        (SUPERVISED, DPO),
        _GPT41_CONTEXT,
        "o200k_base",
        Prices(1.50, 0.10, 0.40, 0.20, 0.80),
    ),
    HostedModel(
        Provider.OPENAI,
        "gpt-4o-2024-08-06",
        ("gpt-4o",),
        (SUPERVISED, DPO),
        _GPT4O_CONTEXT,
        "o200k_base",
        Prices(25.00, 2.50, 10.00, 3.75, 15.00),
    ),
    HostedModel(
        Provider.OPENAI,
        "gpt-4o-mini-2024-07-18",
        ("gpt-4o-mini",),
        (SUPERVISED, DPO),
        _GPT4O_CONTEXT,
        "o200k_base",
        Prices(3.00, 0.15, 0.60, 0.30, 1.20),
    ),
    HostedModel(
        Provider.OPENAI,
        "o4-mini-2025-04-16",
        ("o4-mini",),
        (REINFORCEMENT,),
        _GPT41_CONTEXT,
        "o200k_base",
        Prices(None, 1.10, 4.40, 4.00, 16.00),
        note="Reinforcement fine-tuning only, billed per hour of training ($100/h).",
    ),
    HostedModel(
        Provider.OPENAI,
        "gpt-3.5-turbo-0125",
        ("gpt-3.5-turbo",),
        (SUPERVISED,),
        16_385,
        "cl100k_base",
        Prices(8.00, 0.50, 1.50, 3.00, 6.00),
        legacy=True,
        note="Legacy model: newer, cheaper models tune better.",
    ),
    HostedModel(
        Provider.OPENAI,
        "davinci-002",
        (),
        (SUPERVISED,),
        16_384,
        "cl100k_base",
        Prices(6.00, 2.00, 2.00, 12.00, 12.00),
        legacy=True,
        note="Legacy completion model (prompt/completion data).",
    ),
    HostedModel(
        Provider.OPENAI,
        "babbage-002",
        (),
        (SUPERVISED,),
        16_384,
        "cl100k_base",
        Prices(0.40, 0.40, 0.40, 1.60, 1.60),
        legacy=True,
        note="Legacy completion model (prompt/completion data).",
    ),
    # --- Azure OpenAI (regional availability; per-token prices vary) -------
    HostedModel(
        Provider.AZURE,
        "gpt-4.1-2025-04-14",
        ("gpt-4.1",),
        (SUPERVISED, DPO),
        _GPT41_CONTEXT,
        "o200k_base",
        note=_AZURE_PRICE_NOTE,
    ),
    HostedModel(
        Provider.AZURE,
        "gpt-4.1-mini-2025-04-14",
        ("gpt-4.1-mini",),
        (SUPERVISED, DPO),
        _GPT41_CONTEXT,
        "o200k_base",
        note=_AZURE_PRICE_NOTE,
    ),
    HostedModel(
        Provider.AZURE,
        "gpt-4.1-nano-2025-04-14",
        ("gpt-4.1-nano",),
        (SUPERVISED, DPO),
        32_768,  # Azure trains gpt-4.1-nano on examples of up to 32k tokens
        "o200k_base",
        note=_AZURE_PRICE_NOTE,
    ),
    HostedModel(
        Provider.AZURE,
        "gpt-4o-2024-08-06",
        ("gpt-4o",),
        (SUPERVISED, DPO),
        _GPT4O_CONTEXT,
        "o200k_base",
        note=_AZURE_PRICE_NOTE,
    ),
    HostedModel(
        Provider.AZURE,
        "gpt-4o-mini-2024-07-18",
        ("gpt-4o-mini",),
        (SUPERVISED, DPO),
        _GPT4O_CONTEXT,
        "o200k_base",
        note=_AZURE_PRICE_NOTE,
    ),
    HostedModel(
        Provider.AZURE,
        "o4-mini-2025-04-16",
        ("o4-mini",),
        (REINFORCEMENT,),
        _GPT41_CONTEXT,
        "o200k_base",
        note="Reinforcement fine-tuning only. " + _AZURE_PRICE_NOTE,
    ),
    HostedModel(
        Provider.AZURE,
        "gpt-35-turbo-0125",
        ("gpt-35-turbo", "gpt-3.5-turbo"),
        (SUPERVISED,),
        16_385,
        "cl100k_base",
        legacy=True,
        note=_AZURE_PRICE_NOTE,
    ),
)

DEFAULT_LOCAL_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def hosted_models(provider: Provider) -> list[HostedModel]:
    return [model for model in CATALOG if model.provider is provider]


def base_of_fine_tuned(model: str) -> str | None:
    """``ft:gpt-4o-mini-2024-07-18:org::abc123`` → ``gpt-4o-mini-2024-07-18``."""
    if not model.startswith("ft:"):
        return None
    parts = model.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else None


def find_hosted(provider: Provider, model: str) -> HostedModel | None:
    """The catalog entry for ``model`` (a snapshot, an alias or an ``ft:`` model)."""
    name = model.strip()
    name = base_of_fine_tuned(name) or name
    for entry in hosted_models(provider):
        if entry.matches(name):
            return entry
    return None


def find_any_hosted(model: str) -> HostedModel | None:
    """The OpenAI entry for ``model`` if there is one, else the Azure one."""
    return find_hosted(Provider.OPENAI, model) or find_hosted(Provider.AZURE, model)


@dataclass(frozen=True)
class Tunability:
    """Can ``model`` be fine-tuned at ``provider`` today, and what to know about it."""

    provider: Provider
    model: str
    tunable: bool
    summary: str
    """One line: the verdict in words."""
    notes: tuple[str, ...] = ()
    entry: HostedModel | None = None


def tunability(
    provider: Provider,
    model: str,
    *,
    today: date,
    org_has_openai_access: bool | None = None,
) -> Tunability:
    """Apply the catalog and the providers' rules to one model on one day."""
    model = model.strip()
    if not model:
        return Tunability(provider, model, False, "No model chosen yet.")
    if provider is Provider.LOCAL:
        return _local_tunability(model)

    entry = find_hosted(provider, model)
    label = provider.label
    if entry is None:
        known = ", ".join(m.aliases[0] if m.aliases else m.name for m in hosted_models(provider))
        return Tunability(
            provider,
            model,
            False,
            f"{model} is not fine-tunable on {label}.",
            (f"Fine-tunable on {label}: {known}.",),
        )

    notes: list[str] = []
    methods = ", ".join(entry.methods)
    if base_of_fine_tuned(model):
        notes.append(f"Continues training from your fine-tuned model (base {entry.name}).")
    if entry.legacy:
        notes.append(entry.note or "Legacy model.")
    elif entry.note:
        notes.append(entry.note)

    if provider is Provider.OPENAI:
        if today >= OPENAI_NO_NEW_JOBS_FROM:
            return Tunability(
                provider,
                model,
                False,
                f"OpenAI no longer creates fine-tuning jobs (since {OPENAI_NO_NEW_JOBS_FROM:%-d %b %Y}).",
                (OPENAI_WIND_DOWN, "Azure OpenAI and local training still work.", *notes),
                entry,
            )
        if org_has_openai_access is False:
            return Tunability(
                provider,
                model,
                False,
                f"Your OpenAI organisation cannot create fine-tuning jobs (new since {OPENAI_NO_NEW_ORGS_SINCE}).",
                (OPENAI_WIND_DOWN, "Azure OpenAI and local training still work.", *notes),
                entry,
            )
        days_left = (OPENAI_NO_NEW_JOBS_FROM - today).days
        notes.insert(
            0,
            f"Only {days_left} days left to create OpenAI fine-tuning jobs "
            f"(none from {OPENAI_NO_NEW_JOBS_FROM:%-d %b %Y}); existing fine-tuned models keep serving.",
        )
        if org_has_openai_access is None:
            notes.insert(
                1,
                f"Organisations created since {OPENAI_NO_NEW_ORGS_SINCE} cannot create jobs: check yours.",
            )
    return Tunability(
        provider,
        model,
        True,
        f"{entry.name} is fine-tunable on {label} ({methods}).",
        tuple(notes),
        entry,
    )


def _local_tunability(model: str) -> Tunability:
    hosted = find_any_hosted(model)
    if hosted is not None or model.startswith("ft:"):
        return Tunability(
            Provider.LOCAL,
            model,
            False,
            f"{model} is a hosted model: its weights are not published, so it cannot be trained locally.",
            (f"Pick an open-weights model instead, e.g. {DEFAULT_LOCAL_MODEL}.",),
        )
    kind = "GGUF file" if model.lower().endswith(".gguf") else "model"
    return Tunability(
        Provider.LOCAL,
        model,
        True,
        f"Open-weights {kind}: trainable on your own GPU with LoRA, QLoRA or full fine-tuning.",
        (
            "Compute cost is your GPU time; the Backend step estimates memory from the model's config.",
        ),
    )
