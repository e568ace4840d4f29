"""Can a model be fine-tuned at a provider today, what to know about it, and what replaces it.

The rules read the dated table in ``backends/catalog.py`` and apply OpenAI's wind-down
for a given day (organisations created since May 2026 cannot create jobs; nobody can
from 6 January 2027; existing fine-tuned models keep serving), so tests pass the day in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backends.catalog import (
    DEFAULT_LOCAL_MODEL,
    METHOD_NAMES,
    OPENAI_NO_NEW_JOBS_FROM,
    OPENAI_NO_NEW_ORGS_SINCE,
    OPENAI_WIND_DOWN,
    TOGETHER_MODELS_PAGE,
    HostedModel,
    Provider,
    base_of_fine_tuned,
    find_any_hosted,
    find_hosted,
    hosted_models,
)


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
    entries: tuple[HostedModel, ...] | None = None,
) -> Tunability:
    """Apply the catalog and the providers' rules to one model on one day.

    ``entries``: the provider's models when known better than the catalog (its API's list,
    ``backends.model_lists``); ``None``: the catalog's."""
    model = model.strip()
    if not model:
        return Tunability(provider, model, False, "No model chosen yet.")
    if provider is Provider.LOCAL:
        return _local_tunability(model)

    if entries is None:
        entry = find_hosted(provider, model)
    else:
        name = base_of_fine_tuned(model) or model
        entry = next((e for e in entries if e.matches(name)), None)
    label = provider.label
    if entry is None and provider.accepts_unknown_models:
        return Tunability(
            provider,
            model,
            True,
            f"{model} is not in finetune-tui's catalog: {label} decides whether it can be tuned "
            "(price unknown).",
            (f"Listed models and prices: {TOGETHER_MODELS_PAGE}.",)
            if provider is Provider.TOGETHER
            else (),
        )
    if entry is None:
        offered = hosted_models(provider) if entries is None else entries
        known = ", ".join(m.aliases[0] if m.aliases else m.name for m in offered)
        return Tunability(
            provider,
            model,
            False,
            f"{model} is not fine-tunable on {label}.",
            (f"Fine-tunable on {label}: {known}.",),
        )

    notes: list[str] = []
    methods = " or ".join(METHOD_NAMES.get(method, method) for method in entry.methods)
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


REPLACEMENTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "gpt-4o-mini",
        (
            ("azure", "gpt-4o-mini"),
            ("together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"),
            ("nebius", "meta-llama/Meta-Llama-3.1-8B-Instruct"),
            ("local", "Qwen/Qwen2.5-1.5B-Instruct"),
        ),
    ),
    (
        "gpt-4.1-mini",
        (
            ("azure", "gpt-4.1-mini"),
            ("together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"),
            ("nebius", "meta-llama/Meta-Llama-3.1-8B-Instruct"),
            ("local", "Qwen/Qwen2.5-1.5B-Instruct"),
        ),
    ),
    (
        "gpt-4.1-nano",
        (
            ("azure", "gpt-4.1-nano"),
            ("together", "meta-llama/Llama-3.2-3B-Instruct"),
            ("local", DEFAULT_LOCAL_MODEL),
        ),
    ),
    (
        "gpt-4o",
        (
            ("azure", "gpt-4o"),
            ("together", "meta-llama/Llama-3.3-70B-Instruct-Reference"),
            ("nebius", "meta-llama/Llama-3.3-70B-Instruct"),
        ),
    ),
    (
        "gpt-4.1",
        (
            ("azure", "gpt-4.1"),
            ("together", "meta-llama/Llama-3.3-70B-Instruct-Reference"),
            ("nebius", "meta-llama/Llama-3.3-70B-Instruct"),
        ),
    ),
    (
        "gpt-3.5-turbo",
        (
            ("together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"),
            ("local", "Qwen/Qwen2.5-1.5B-Instruct"),
        ),
    ),
)
"""OpenAI models and comparable ones elsewhere, by backend name: a suggestion of size and
class (the user measures whether the replacement is as good in Evaluate)."""


def replacements(model: str) -> tuple[tuple[str, str], ...]:
    """``(backend, model)`` pairs comparable to OpenAI's ``model`` (an ``ft:`` name: its base)."""
    base = base_of_fine_tuned(model) or model.strip()
    entry = find_hosted(Provider.OPENAI, base)
    names = (entry.name, *entry.aliases) if entry is not None else (base,)
    for family, offers in sorted(REPLACEMENTS, key=lambda item: -len(item[0])):
        if any(name == family or name.startswith(f"{family}-2") for name in names):
            return offers
    return REPLACEMENTS[0][1]
