"""``DatasetReport``: everything the inspection found, for the UI, the CLI and JSON."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from backends.data.findings import FindingGroup, Severity
from backends.data.stats import Distribution, Histogram, ModelCost
from backends.data.tokenizer import EncodingChoice


@dataclass
class DatasetReport:
    source: str
    size_bytes: int
    provider: str
    model: str
    """The model as asked for (alias, snapshot or ``ft:`` name)."""
    model_resolved: str | None
    """The catalog snapshot it maps to; ``None`` when the catalog does not know it."""
    context_limit: int | None
    format: str
    format_counts: dict[str, int]
    lines: int
    examples: int
    """JSON objects read (one per line)."""
    valid_examples: int
    """Examples without errors: the ones counted in the figures."""
    findings: list[FindingGroup]
    encoding: EncodingChoice
    approximations: list[str]
    messages: Distribution
    tokens: Distribution
    assistant_tokens: Distribution
    histogram: Histogram
    over_limit: int
    billing_tokens: int
    epochs: int
    epochs_auto: bool
    epochs_explained: str
    charged_tokens: int
    price_per_1m: float | None
    estimated_cost_usd: float | None
    costs: list[ModelCost]
    prices_as_of: str
    images: int = 0
    cancelled: bool = False
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    """Facts about how the data was read (column mapping, split) that are not approximations."""
    validation: DatasetReport | None = None
    # Per-example figures, in file order (not in to_dict: the UI browses them).
    token_counts: array = field(default_factory=lambda: array("I"), repr=False)
    assistant_counts: array = field(default_factory=lambda: array("I"), repr=False)
    message_counts: array = field(default_factory=lambda: array("I"), repr=False)
    example_lines: array = field(default_factory=lambda: array("I"), repr=False)
    example_offsets: array = field(default_factory=lambda: array("Q"), repr=False)

    @property
    def exact(self) -> bool:
        return self.encoding.exact and not self.approximations

    def count(self, severity: Severity) -> int:
        own = sum(g.count for g in self.findings if g.severity is severity)
        return own + (self.validation.count(severity) if self.validation else 0)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def ok(self) -> bool:
        """Trainable: no errors here or in the validation file, and the scan finished."""
        return (
            self.errors == 0
            and not self.cancelled
            and not (self.validation and self.validation.cancelled)
        )

    def groups(self, severity: Severity) -> list[FindingGroup]:
        return [g for g in self.findings if g.severity is severity]

    def to_dict(self) -> dict[str, object]:
        def flat(severity: Severity) -> list[dict[str, object]]:
            return [f.to_dict() for g in self.groups(severity) for f in g.samples]

        data: dict[str, object] = {
            "source": self.source,
            "size_bytes": self.size_bytes,
            "ok": self.ok,
            "format": self.format,
            "format_counts": self.format_counts,
            "provider": self.provider,
            "model": self.model,
            "model_resolved": self.model_resolved,
            "context_limit": self.context_limit,
            "lines": self.lines,
            "examples": self.examples,
            "valid_examples": self.valid_examples,
            "errors": flat(Severity.ERROR),
            "warnings": flat(Severity.WARNING),
            "infos": flat(Severity.INFO),
            "finding_counts": {f"{g.severity.value}:{g.code}": g.count for g in self.findings},
            "findings": [g.to_dict() for g in self.findings],
            "encoding": self.encoding.used,
            "encoding_requested": self.encoding.requested,
            "tokenizer": self.encoding.to_dict(),
            "exact": self.exact,
            "approximations": self.approximations,
            "messages_per_example": self.messages.to_dict(),
            "tokens_per_example": self.tokens.to_dict(),
            "assistant_tokens_per_example": self.assistant_tokens.to_dict(),
            "histogram": self.histogram.to_dict(),
            "total_tokens": self.tokens.total,
            "assistant_tokens": self.assistant_tokens.total,
            "over_limit": self.over_limit,
            "billing_tokens": self.billing_tokens,
            "epochs": self.epochs,
            "epochs_auto": self.epochs_auto,
            "epochs_explained": self.epochs_explained,
            "charged_tokens": self.charged_tokens,
            "price_per_1m_usd": self.price_per_1m,
            "estimated_cost_usd": self.estimated_cost_usd,
            "prices_as_of": self.prices_as_of,
            "costs": [c.to_dict() for c in self.costs],
            "images": self.images,
            "notes": self.notes,
            "cancelled": self.cancelled,
            "elapsed_s": round(self.elapsed_s, 3),
            "validation": self.validation.to_dict() if self.validation else None,
        }
        return data
