"""Which models can be fine-tuned where, with what method, and at what price.

One table shared by every step: the Cost question of the checklist, the
dataset linter (context limits, tokenizer, billed tokens) and the hosted
backends (model lists). Prices are in US dollars per million tokens and carry
the date they were taken from the provider's price list: they go stale, so the
UI always shows that date next to a figure computed from them.

OpenAI is winding down self-serve fine-tuning: organisations created since
May 2026 cannot create jobs, nobody can create new jobs from 6 January 2027,
and fine-tuned models that already exist keep serving. ``tunability`` applies
those rules for a given day (``backends/tunability.py``), so tests pass the day in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum


class Provider(str, Enum):
    OPENAI = "openai"
    AZURE = "azure"
    TOGETHER = "together"
    COMPATIBLE = "compatible"
    """Any OpenAI-compatible fine-tuning API (its models and prices are in its profile)."""
    LOCAL = "local"

    @property
    def label(self) -> str:
        return {
            "openai": "OpenAI",
            "azure": "Azure OpenAI",
            "together": "Together AI",
            "compatible": "the OpenAI-compatible provider",
            "local": "Local GPU",
        }[self.value]

    @property
    def accepts_unknown_models(self) -> bool:
        """The provider trains models the catalog does not list (it decides; the price is unknown)."""
        return self in (Provider.TOGETHER, Provider.COMPATIBLE)


DATA_PROVIDERS = tuple(p for p in Provider if p is not Provider.COMPATIBLE)
"""The providers a dataset's cost is figured for (a compatible API's prices are its profile's)."""

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
METHOD_NAMES = {SUPERVISED: "SFT", DPO: "DPO"}
"""How a method is named in a sentence."""
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
    adapters: tuple[str, ...] = ()
    """Adaptations the provider offers for this model (``lora``, ``full``); empty: it decides."""
    training_prices: tuple[tuple[str, str, float], ...] = ()
    """``(method, adapter, $ per 1M tokens)`` where the price depends on both (Together)."""
    source: str = ""
    """The page the entry was read from, with ``PRICES_AS_OF`` its date."""

    def training_price(self, method: str = SUPERVISED, adapter: str | None = None) -> float | None:
        """$ per 1M training tokens for ``method`` and ``adapter`` (``None``: the first listed)."""
        for listed_method, listed_adapter, price in self.training_prices:
            if listed_method == method and adapter in (None, listed_adapter):
                return price
        return None if self.training_prices else self.prices.training

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

# --- Together AI -----------------------------------------------------------
TOGETHER_MODELS_PAGE = "https://docs.together.ai/docs/fine-tuning-models"
TOGETHER_PRICES_PAGE = "https://www.together.ai/pricing#fine-tuning"
TOGETHER_PRICES_AS_OF = "2025-06"
_TOGETHER_NOTE = (
    "Open-weights model: token counts use an OpenAI tokenizer as an approximation; "
    "the model can also be downloaded after training (LoRA adapter or merged weights)."
)


def _together_prices(size: str) -> tuple[tuple[str, str, float], ...]:
    """Together bills training per token by model size, objective and adaptation."""
    table = {
        # size: (SFT LoRA, SFT full, DPO LoRA, DPO full), $ per 1M tokens
        "small": (0.48, 0.54, 1.20, 1.35),  # up to 16B parameters
        "medium": (1.50, 1.65, 3.75, 4.12),  # 17B-69B
        "large": (2.90, 3.20, 7.25, 8.00),  # 70B-100B
    }[size]
    return (
        (SUPERVISED, "lora", table[0]),
        (SUPERVISED, "full", table[1]),
        (DPO, "lora", table[2]),
        (DPO, "full", table[3]),
    )


def _together(
    name: str, context: int, size: str, serving: float, *, full: bool = True
) -> HostedModel:
    prices = _together_prices(size)
    return HostedModel(
        Provider.TOGETHER,
        name,
        (),  # no short names: Together's API takes the full id ("org/model") only
        (SUPERVISED, DPO),
        context,
        "cl100k_base",
        Prices(prices[0][2], serving, serving, serving, serving),
        note=_TOGETHER_NOTE,
        adapters=("lora", "full") if full else ("lora",),
        training_prices=prices if full else tuple(p for p in prices if p[1] == "lora"),
        source=f"{TOGETHER_MODELS_PAGE}, {TOGETHER_PRICES_PAGE} ({TOGETHER_PRICES_AS_OF})",
    )


TOGETHER_CATALOG: tuple[HostedModel, ...] = (
    _together("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", 131_072, "small", 0.18),
    _together("meta-llama/Meta-Llama-3.1-70B-Instruct-Reference", 65_536, "large", 0.88),
    _together("meta-llama/Llama-3.3-70B-Instruct-Reference", 131_072, "large", 0.88),
    _together("meta-llama/Llama-3.2-3B-Instruct", 131_072, "small", 0.06),
    _together("Qwen/Qwen2.5-7B-Instruct", 32_768, "small", 0.30),
    _together("Qwen/Qwen2.5-14B-Instruct", 32_768, "small", 0.80, full=False),
    _together("Qwen/Qwen2.5-72B-Instruct", 32_768, "large", 1.20, full=False),
    _together("mistralai/Mistral-7B-Instruct-v0.2", 32_768, "small", 0.20),
    _together("google/gemma-2-9b-it", 8_192, "small", 0.30),
)
"""Models Together fine-tunes (its list changes often: a model id not here is still accepted)."""

CATALOG = CATALOG + TOGETHER_CATALOG

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
