"""The models a hosted backend can fine-tune: the catalog, merged with the provider's own list.

The catalog (``backends.catalog``) is a dated table. Where the provider's API lists its
fine-tunable models (Together: the supported-model catalog and each model's training limits;
an OpenAI-compatible API: ``/models``), the list it answers is merged in: the API adds the
models the table lacks and updates context limits and adaptations; prices stay the table's
dated ones ("price unknown" for a model without one).

The answer is kept in the cache folder (``models/<backend>.json``) with the day it was
fetched and the address it came from, so screens and commands read it without a network call
and say where it came from ("from Together's API, fetched 2026-12-01" or "catalog of
2025-06"). ``refresh`` asks the API; it never raises: no key, a refused key or an unreachable
API leave the catalog (or the last good answer) in place. Screens call it in a worker, the CLI
through ``current`` (the cache while it is fresh).

A backend that can list its models has ``fetch_models() -> list[ListedModel]`` (it may raise)
and ``model_list_address() -> str``; nothing here imports the backends.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

from backends import locations
from backends.catalog import (
    DPO,
    PRICES_AS_OF,
    SUPERVISED,
    HostedModel,
    Provider,
    base_of_fine_tuned,
    hosted_models,
)
from backends.files import write_json_atomic
from backends.tunability import Tunability, tunability

MAX_AGE = timedelta(days=1)
FETCH_TIMEOUT_S = 10.0
"""A model list is a nicety: a provider that does not answer within this keeps the catalog's."""
"""How long a fetched list is used before ``current`` asks again."""
CACHE_VERSION = 1


@dataclass(frozen=True)
class ListedModel:
    """One model as a provider's API lists it (what it does not say is ``None``/empty)."""

    name: str
    context_tokens: int | None = None
    adapters: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    deprecated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "context_tokens": self.context_tokens,
            "adapters": list(self.adapters),
            "methods": list(self.methods),
            "deprecated": self.deprecated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListedModel | None:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            return None
        context = data.get("context_tokens")
        return cls(
            name,
            context if isinstance(context, int) and context > 0 else None,
            tuple(str(a) for a in data.get("adapters") or ()),
            tuple(str(m) for m in data.get("methods") or ()),
            bool(data.get("deprecated")),
        )


@runtime_checkable
class ListsModels(Protocol):
    name: str
    label: str
    provider: Provider

    def model_list(self) -> ModelList: ...

    def fetch_models(self) -> list[ListedModel]: ...

    def model_list_address(self) -> str: ...


@dataclass(frozen=True)
class ModelList:
    """The models one backend offers, and where the list came from."""

    backend: str
    label: str
    provider: Provider
    entries: tuple[HostedModel, ...]
    """Catalog entries (context and adaptations updated from the API) and API-only models."""
    names: tuple[str, ...]
    """Every model id to offer, catalog first (a compatible API's models have no entry)."""
    fetched: date | None = None
    """When the API's list was fetched; ``None``: the static catalog (or the profile's list)."""
    from_api: tuple[str, ...] = ()
    """The models the API listed."""

    @property
    def source(self) -> str:
        if self.fetched is not None:
            return f"from {self.label}'s API, fetched {self.fetched.isoformat()}"
        if self.provider is Provider.COMPATIBLE:
            return f"{self.label}'s profile"
        return f"catalog of {PRICES_AS_OF}"

    def find(self, model: str) -> HostedModel | None:
        name = model.strip()
        name = base_of_fine_tuned(name) or name
        return next((entry for entry in self.entries if entry.matches(name)), None)

    def listed(self, model: str) -> bool:
        """The model is one this list offers (by name or alias)."""
        return self.find(model) is not None or model.strip() in self.names

    def tunability(self, model: str, *, today: date) -> Tunability:
        return tunability(self.provider, model, today=today, entries=self.entries)


def _cache_file(backend: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in backend)
    return locations.cache_root() / "models" / f"{safe}.json"


def _read_cache(backend: str, address: str | None) -> tuple[date, list[ListedModel]] | None:
    try:
        data = orjson.loads(_cache_file(backend).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return None
    if address is not None and data.get("address") != address:
        return None
    try:
        fetched = date.fromisoformat(str(data.get("fetched")))
    except ValueError:
        return None
    raw = data.get("models")
    if not isinstance(raw, list):
        return None
    models = [m for m in (ListedModel.from_dict(r) for r in raw if isinstance(r, dict)) if m]
    return fetched, models


def _write_cache(backend: str, address: str, fetched: date, models: list[ListedModel]) -> None:
    payload = {
        "version": CACHE_VERSION,
        "backend": backend,
        "address": address,
        "fetched": fetched.isoformat(),
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "models": [m.to_dict() for m in models],
    }
    with contextlib.suppress(OSError):  # a read-only cache folder: the list is just not kept
        write_json_atomic(_cache_file(backend), payload)


def merge(
    backend: str,
    label: str,
    provider: Provider,
    listed: list[ListedModel] | None,
    *,
    fetched: date | None = None,
    profile_models: tuple[str, ...] = (),
) -> ModelList:
    """The catalog's entries for ``provider`` with ``listed`` merged in (``None``: none)."""
    entries = list(hosted_models(provider))
    names = [entry.name for entry in entries] + [m for m in profile_models]
    from_api: list[str] = []
    for model in listed or ():
        from_api.append(model.name)
        at = next((i for i, e in enumerate(entries) if e.matches(model.name)), None)
        if at is not None:
            entry = entries[at]
            entries[at] = replace(
                entry,
                context_tokens=model.context_tokens or entry.context_tokens,
                adapters=model.adapters or entry.adapters,
                methods=model.methods or entry.methods,
            )
            continue
        if model.name not in names:
            names.append(model.name)
        if model.context_tokens:
            entries.append(
                HostedModel(
                    provider,
                    model.name,
                    (),
                    model.methods or (SUPERVISED, DPO),
                    model.context_tokens,
                    "cl100k_base",
                    legacy=model.deprecated,
                    note=f"Listed by {label}'s API, not in finetune-tui's catalog: price "
                    "unknown; tokens are counted with an OpenAI tokenizer (an approximation).",
                    adapters=model.adapters,
                    source=f"{label}'s API",
                )
            )
    return ModelList(
        backend, label, provider, tuple(entries), tuple(names), fetched, tuple(from_api)
    )


def _profile_models(backend: str) -> tuple[str, ...]:
    from backends import registry

    info = registry.find(backend)
    return info.models if info is not None else ()


def cached(
    backend: str, label: str, provider: Provider, *, address: str | None = None
) -> ModelList:
    """The merged list from the cache (no network): the catalog alone when nothing is kept.

    ``address``: only a list fetched from there counts (``None``: any)."""
    kept = _read_cache(backend, address)
    profile = _profile_models(backend)
    if kept is None:
        return merge(backend, label, provider, None, profile_models=profile)
    fetched, models = kept
    return merge(backend, label, provider, models, fetched=fetched, profile_models=profile)


def cached_for(hosted: ListsModels) -> ModelList:
    return cached(hosted.name, hosted.label, hosted.provider, address=_address(hosted))


def cached_for_provider(provider: Provider) -> ModelList:
    """The list of the backend that trains at ``provider`` (any address)."""
    from backends import registry

    info = registry.for_provider(provider)
    if info is None:
        return merge(provider.value, provider.label, provider, None)
    return cached(info.name, info.label, provider)


def _today() -> date:
    try:
        return locations.today()
    except ValueError:  # a malformed FINETUNE_TUI_TODAY is reported where it matters
        return date.today()


def _address(hosted: ListsModels) -> str:
    try:
        return hosted.model_list_address()
    except Exception:
        return ""


def refresh(hosted: ListsModels, *, today: date | None = None) -> ModelList:
    """Ask the API for its models and keep the answer; never raises (the cache or the
    catalog when the API does not answer)."""
    address = _address(hosted)
    try:
        models = hosted.fetch_models()
    except Exception:
        return cached_for(hosted)
    if not models:
        return cached_for(hosted)
    day = today or _today()
    _write_cache(hosted.name, address, day, models)
    return merge(
        hosted.name,
        hosted.label,
        hosted.provider,
        models,
        fetched=day,
        profile_models=_profile_models(hosted.name),
    )


def current(
    hosted: ListsModels, *, today: date | None = None, max_age: timedelta = MAX_AGE
) -> ModelList:
    """The kept list while it is younger than ``max_age``, else a fresh one (``refresh``)."""
    kept = cached_for(hosted)
    day = today or _today()
    if kept.fetched is not None and day - kept.fetched < max_age:
        return kept
    return refresh(hosted, today=day)
