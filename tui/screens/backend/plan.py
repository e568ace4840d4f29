"""From the Backend stage's choices to backends, specs and words: no widgets here.

The screens call these; the work itself is in ``backends`` (the same
functions ``finetune-tui train`` uses: ``hosted_spec``, ``LocalSettings.to_spec``,
each backend's ``availability``/``prepare``/``launch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

from backends import registry
from backends.backend import Availability
from backends.catalog import (
    DEFAULT_LOCAL_MODEL,
    METHOD_NAMES,
    Provider,
    find_hosted,
    hosted_models,
)
from backends.runs.values import AUTO, DPO, FULL, LORA, QLORA, SUPERVISED, RunSpec
from tui.state import BackendChoice, DatasetChoice

if TYPE_CHECKING:
    from backends.data.report import DatasetReport
    from backends.hosted.backend import HostedBackend
    from backends.local.backend import LocalBackend
    from backends.migration import Offer


@dataclass(frozen=True)
class Option:
    """One place to train, as the Where step shows it."""

    name: str
    ready: bool
    """Usable as it is."""
    selectable: bool
    """Can be chosen (a missing key or endpoint is entered on the Settings step)."""
    reason: str
    hint: str = ""

    @property
    def label(self) -> str:
        return registry.label(self.name)


def provider_of(name: str) -> Provider:
    """The catalog provider of a backend (the local catalog for none chosen yet)."""
    info = registry.find(name)
    return info.provider if info is not None and info.provider else Provider.LOCAL


def takes_tier(choice: BackendChoice) -> bool:
    """Whether the chosen backend takes a training tier (Azure), so a chosen tier counts."""
    info = registry.find(choice.backend)
    return info is not None and info.training_tiers


def hosted_backend(choice: BackendChoice, today: date, *, name: str | None = None) -> HostedBackend:
    """The hosted backend ``name`` (default: the chosen one) with the Settings step's options."""
    name = name or choice.backend
    if not registry.is_hosted(name):
        name = registry.DEFAULT_HOSTED
    backend = registry.get(name).create(
        secret=choice.secret or None,
        today=today,
        azure_endpoint=choice.azure_endpoint,
        api_version=choice.api_version,
    )
    return cast("HostedBackend", backend)


def local_backend(choice: BackendChoice) -> LocalBackend:
    """The local backend, with the GPUs already found (if any)."""
    return cast("LocalBackend", registry.get(registry.LOCAL).create(inventory=choice.gpus))


def check_option(name: str, choice: BackendChoice, today: date) -> Option:
    """Whether ``name`` can be used here and now, and why not (blocking: may run nvidia-smi)."""
    info = registry.get(name)
    if not info.hosted:
        backend = local_backend(choice)
        found = backend.availability()
        if choice.gpus is None and found.ok:
            choice.gpus = backend.inventory
        return Option(name, found.ok, found.ok, found.reason, found.hint)
    hosted = hosted_backend(choice, today, name=name)
    found = hosted.availability()
    if not info.accepts_new_jobs(today):
        from backends.migration import closed_for

        reason = found.reason if found.ok else (closed_for(name, today) or found.reason)
        return Option(name, False, False, reason, found.hint if found.ok else "")
    if found.ok:
        reason = found.reason
        if info.no_new_jobs_from is not None:
            reason += f" New jobs until {info.no_new_jobs_from:%-d %b %Y}."
        return Option(name, True, True, reason, found.hint)
    enterable = "credential" in found.reason or "endpoint" in found.reason
    return Option(name, False, enterable, found.reason, _settings_hint(found, enterable))


def _settings_hint(found: Availability, enterable: bool) -> str:
    if not enterable:
        return found.hint
    return f"{found.hint}, or enter it on the Settings step (kept in memory only)."


def take_offer(choice: BackendChoice, offer: Offer, refusal: str, instead_of: str) -> None:
    """Pre-fill the Backend stage with an offer taken after OpenAI refused: its backend and model
    (the data stays what the Dataset step chose), and the reason, for the decision record."""
    choice.backend = offer.backend
    if registry.is_local(offer.backend):
        choice.local_model = offer.model
    else:
        choice.hosted_model = offer.model
    first = refusal.split(". ")[0].rstrip(".")
    choice.offer_reason = (
        f"Offer taken: {first}; {offer.label} with {offer.model}, comparable to {instead_of}, "
        "on the same data."
    )
    choice.offered_backend = offer.backend


def chosen_because(choice: BackendChoice) -> str:
    """Why the chosen backend: the offer taken, or the user's pick."""
    if choice.offer_reason and choice.offered_backend == choice.backend:
        return choice.offer_reason
    return "The user's pick."


# --- specs -------------------------------------------------------------------------
def default_hosted_model(choice: BackendChoice, data: DatasetChoice, cost_model: str) -> str:
    provider = provider_of(choice.backend)
    for candidate in (choice.hosted_model, data.model, cost_model):
        if candidate.strip() and find_hosted(provider, candidate) is not None:
            return candidate.strip()
    if choice.hosted_model.strip():
        return choice.hosted_model.strip()
    models = hosted_models(provider)
    if not models:
        listed = registry.get(choice.backend).models if registry.is_hosted(choice.backend) else ()
        return listed[0] if listed else ""
    return (models[0].aliases or (models[0].name,))[0]


def default_local_model(choice: BackendChoice, data: DatasetChoice) -> str:
    """The model chosen earlier: on Settings, else the Dataset step's local model, else the default."""
    if choice.local_model.strip():
        return choice.local_model.strip()
    if data.provider is Provider.LOCAL and data.model.strip():
        return data.model.strip()
    return DEFAULT_LOCAL_MODEL


def build_spec(choice: BackendChoice, data: DatasetChoice, *, hash_files: bool = True) -> RunSpec:
    """The spec the Launch step hands to the backend; raises ``ValueError`` for a bad value."""
    from backends.files import sha256_of

    if registry.is_local(choice.backend):
        from pathlib import Path

        from backends.local.settings import LocalSettings

        local = choice.local or LocalSettings()
        train = Path(data.train).expanduser()
        return local.to_spec(
            model=choice.local_model.strip() or DEFAULT_LOCAL_MODEL,
            dataset=str(train.resolve()),
            dataset_sha256=sha256_of(train) if hash_files and train.is_file() else "",
            validation=str(Path(data.validation).expanduser().resolve())
            if data.validation
            else None,
        )
    from backends.hosted.spec import hosted_hyperparameters, hosted_spec, parse_metadata

    settings: dict[str, object] = {}
    if takes_tier(choice) and choice.training_type:
        settings["training_type"] = choice.training_type
    if choice.wandb_project.strip():
        settings["wandb"] = {"project": choice.wandb_project.strip()}
    return hosted_spec(
        choice.backend,
        model=choice.hosted_model,
        data=data.train,
        validation=data.validation or None,
        method=choice.hosted_method,
        hyperparameters=hosted_hyperparameters(
            choice.hosted_method, dict(choice.hyper), backend=choice.backend
        ),
        suffix=choice.suffix.strip() or None,
        seed=int(choice.seed) if choice.seed.strip() else None,
        settings=settings,
        metadata=parse_metadata(choice.metadata),
        hash_files=hash_files,
        adapter=hosted_adapter(choice),
    )


def hosted_adapter(choice: BackendChoice) -> str | None:
    """The adaptation the hosted job uses: the chosen one where the backend offers a choice."""
    info = registry.find(choice.backend)
    if info is None or not info.adapters:
        return None
    return choice.hosted_adapter if choice.hosted_adapter in info.adapters else info.adapters[0]


# --- words -----------------------------------------------------------------------
OBJECTIVE_LABELS = {SUPERVISED: "Supervised (SFT)", DPO: "DPO (preference pairs)"}
ADAPTER_LABELS = {LORA: "LoRA adapter", QLORA: "QLoRA adapter", FULL: "Full fine-tuning"}
ADAPTER_NAMES = {LORA: "LoRA", QLORA: "QLoRA", FULL: "full"}
"""How an adaptation is named in a sentence (``METHOD_NAMES`` for the objective)."""


def settings_lines(choice: BackendChoice) -> list[tuple[str, str]]:
    """``(label, value)`` rows describing the chosen settings, for the Launch summary."""
    rows: list[tuple[str, str]]
    if registry.is_local(choice.backend):
        from backends.local.settings import LocalSettings

        s = choice.local or LocalSettings()
        length = f"{s.max_steps} steps" if s.max_steps else f"{s.epochs:g} epochs"
        rows = [
            ("Adapter", s.adapter),
            ("Length", length),
            ("Learning rate", f"{s.lr:g}"),
            ("Batch", f"{s.batch_size} × {s.grad_accum} accumulation, max {s.max_length} tokens"),
        ]
        if s.uses_adapter:
            rows.append(("LoRA", f"r {s.lora_r}, alpha {s.lora_alpha}"))
        if s.is_dpo:
            rows.insert(0, ("Objective", "DPO (preference pairs)"))
            rows.append(("DPO", f"beta {s.beta:g}, {s.loss_type} loss, reference {s.reference}"))
        return rows
    names = registry.get(choice.backend).hyperparameter_names(choice.hosted_method)
    method = choice.hosted_method
    rows = [("Method", OBJECTIVE_LABELS.get(method, method))]
    adapter = hosted_adapter(choice)
    if adapter:
        rows.append(("Adaptation", ADAPTER_LABELS.get(adapter, adapter)))
        if adapter == FULL:
            names = tuple(n for n in names if not n.startswith("lora_"))
    hyper = ", ".join(f"{name} {choice.hyper.get(name, '').strip() or AUTO}" for name in names)
    rows.append(("Hyperparameters", hyper))
    extras = [
        f"suffix {choice.suffix.strip()}" if choice.suffix.strip() else "",
        f"seed {choice.seed.strip()}" if choice.seed.strip() else "",
        f"tier {choice.training_type}" if takes_tier(choice) and choice.training_type else "",
    ]
    if any(extras):
        rows.append(("Options", ", ".join(e for e in extras if e)))
    return rows


def price_line(choice: BackendChoice, report: DatasetReport | None) -> str:
    """What the job should cost, from the Dataset step's report (hosted only), at the price of the
    chosen objective and adaptation (``training_price``)."""
    provider = provider_of(choice.backend)
    entry = find_hosted(provider, choice.hosted_model)
    per_million = (
        entry.training_price(choice.hosted_method, hosted_adapter(choice))
        if entry
        else registry.get(choice.backend).listed_price(choice.hosted_model)
    )
    adapter = hosted_adapter(choice)
    what = METHOD_NAMES.get(choice.hosted_method, choice.hosted_method) + (
        f", {ADAPTER_NAMES.get(adapter, adapter)}" if adapter else ""
    )
    if report is None or report.cancelled:
        if per_million is None:
            return "Price: see the provider's price list (no dataset report to count tokens)."
        return (
            f"Price: ${per_million:.2f} per 1M training tokens ({what}; inspect the data for a "
            "total)."
        )
    same_model = entry is not None and find_hosted(provider, report.model) == entry
    if (
        same_model
        and report.provider == provider.value
        and report.estimated_cost_usd is not None
        and report.price_per_1m == per_million
    ):
        return (
            f"Estimated price: ${report.estimated_cost_usd:,.2f} for {report.charged_tokens:,} "
            f"training tokens ({report.epochs} epochs × {report.billing_tokens:,}) at "
            f"${report.price_per_1m:.2f} per 1M, prices as of {report.prices_as_of}."
        )
    if per_million is None:
        return (
            f"Price: {report.charged_tokens:,} training tokens; {choice.hosted_model} has no "
            "per-token price in the catalog (see the provider's price list)."
        )
    approx = report.charged_tokens * per_million / 1e6
    if same_model and report.provider == provider.value:
        return (
            f"Estimated price: ${approx:,.2f} for {report.charged_tokens:,} training tokens at "
            f"${per_million:.2f} per 1M ({what}), prices as of {report.prices_as_of}."
        )
    return (
        f"Estimated price: about ${approx:,.2f} ({report.charged_tokens:,} tokens counted for "
        f"{report.model} at ${per_million:.2f} per 1M, {what}); inspect the data again for this "
        "model."
    )
