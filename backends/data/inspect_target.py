"""What a dataset is inspected against: the options, and the model they resolve to.

``InspectOptions`` is what the caller asks for; ``resolve_target`` turns it into
an ``InspectTarget``: the catalog entry (hosted), the tokenizer the figures are
counted with, the context limit, and notes on anything approximate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backends.catalog import HostedModel, Provider, find_hosted
from backends.data.tokenizer import EncodingChoice, load_encoding

if TYPE_CHECKING:
    from backends.data.local_tokens import LocalTokenizer, TemplateCounter

DEFAULT_ENCODING = "o200k_base"


@dataclass(frozen=True)
class InspectOptions:
    model: str = "gpt-4o-mini"
    provider: Provider = Provider.OPENAI
    epochs: int | None = None
    """``None``: the service's automatic rule."""
    max_length: int | None = None
    """Local training: the longest sequence; hosted: the catalog's context limit."""
    price_overrides: Mapping[str, float] = field(default_factory=dict)
    engine: str = "auto"
    workers: int | None = None
    keep: int = 20
    allow_download: bool = True
    is_validation: bool = False


@dataclass(frozen=True)
class InspectTarget:
    entry: HostedModel | None
    encoding: EncodingChoice
    """What the report's figures are counted with."""
    context_limit: int | None
    notes: tuple[str, ...]
    scan_encoding: EncodingChoice | None = None
    """The tiktoken encoding the scan checks with (``None``: ``encoding``)."""
    local: LocalTokenizer | None = None
    """Local provider: the model's tokenizer, when it loaded offline."""

    @property
    def scan_choice(self) -> EncodingChoice:
        return self.scan_encoding or self.encoding

    def recounter(self) -> TemplateCounter | None:
        """A fresh per-file counter through the model's chat template (local models)."""
        if self.local is None:
            return None
        from backends.data import local_tokens

        return local_tokens.TemplateCounter(self.local, self.context_limit, local_tokens.BATCH)


def _hosted_entry(provider: Provider, model: str) -> HostedModel | None:
    """The catalog's entry, or for a provider whose API lists its models the merged list's
    (its context limit is the provider's own, as kept in the cache; no network here)."""
    if provider is Provider.LOCAL:
        return None
    if provider.accepts_unknown_models:
        from backends.model_lists import cached_for_provider

        return cached_for_provider(provider).find(model)
    return find_hosted(provider, model)


def resolve_target(options: InspectOptions) -> InspectTarget:
    entry = _hosted_entry(options.provider, options.model)
    notes: list[str] = []
    name = entry.encoding if entry else DEFAULT_ENCODING
    _count, choice = load_encoding(name, options.engine, options.allow_download)
    limit = options.max_length if options.max_length else (entry.context_tokens if entry else None)
    if options.provider is Provider.LOCAL:
        from backends.data.local_tokens import (
            LocalTokenizerUnavailable,
            describe_unavailable,
            load_local_tokenizer,
        )

        try:
            local = load_local_tokenizer(options.model)
        except LocalTokenizerUnavailable as exc:
            notes.append(describe_unavailable(options.model, str(exc), choice.used))
        else:
            return InspectTarget(None, local.choice, limit, (), choice, local)
    elif entry is None:
        notes.append(
            f"{options.model} is not in the {options.provider.label} catalog: no context limit or price; counted with {choice.used}."
        )
    return InspectTarget(entry, choice, limit, tuple(notes))
