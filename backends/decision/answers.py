"""The checklist's answers: what a person told us on the Decide screens.

Plain dataclasses with ``to_dict``/``from_dict`` so they round-trip through
``decision.json``. Every figure is optional: ``None`` means "not answered",
never zero. Measured figures (filled in by later steps) live apart from what
the person typed, so the UI can say which is which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from backends.catalog import Provider

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class UseCaseCategory(str, Enum):
    STYLE = "style"
    KNOWLEDGE = "knowledge"
    TASK_ACCURACY = "task_accuracy"
    EFFICIENCY = "efficiency"
    FUNCTION_CALLING = "function_calling"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    UseCaseCategory.STYLE: "Tone, style or format consistency",
    UseCaseCategory.KNOWLEDGE: "Domain knowledge",
    UseCaseCategory.TASK_ACCURACY: "Accuracy on a narrow task",
    UseCaseCategory.EFFICIENCY: "Shorter prompts: lower cost and latency",
    UseCaseCategory.FUNCTION_CALLING: "Function calling / tool use",
    UseCaseCategory.OTHER: "Something else",
}


class PromptingTried(str, Enum):
    NO = "no"
    ZERO_SHOT = "zero_shot"
    FEW_SHOT = "few_shot"

    @property
    def label(self) -> str:
        return {
            "no": "Not yet",
            "zero_shot": "Zero-shot (instructions only)",
            "few_shot": "Few-shot (instructions + examples)",
        }[self.value]


class Reuse(str, Enum):
    SINGLE = "single"
    SHARED = "shared"
    RETRAIN = "retrain"

    @property
    def label(self) -> str:
        return {
            "single": "One task, one team",
            "shared": "Several products or teams would reuse it",
            "retrain": "It must be retrained as the data changes",
        }[self.value]


class OrgAccess(str, Enum):
    """Can the person's OpenAI organisation still create fine-tuning jobs?"""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return {
            "yes": "Yes: it existed before May 2026",
            "no": "No: it was created since May 2026",
            "unknown": "I don't know",
        }[self.value]

    def as_bool(self) -> bool | None:
        return {"yes": True, "no": False, "unknown": None}[self.value]


@dataclass
class UseCase:
    category: UseCaseCategory | None = None
    description: str = ""
    current_model: str = ""
    target_score: float | None = None
    """The share of acceptable answers (0-100) the person needs."""


@dataclass
class Alternatives:
    prompting: PromptingTried = PromptingTried.NO
    prompting_score: float | None = None
    prompting_notes: str = ""
    rag_tried: bool = False
    rag_score: float | None = None
    rag_notes: str = ""

    def best_score(self) -> tuple[str, float] | None:
        """The best alternative that was tried and scored, as (name, score)."""
        scored: list[tuple[str, float]] = []
        if self.prompting is not PromptingTried.NO and self.prompting_score is not None:
            name = (
                "few-shot prompting"
                if self.prompting is PromptingTried.FEW_SHOT
                else "zero-shot prompting"
            )
            scored.append((name, self.prompting_score))
        if self.rag_tried and self.rag_score is not None:
            scored.append(("RAG", self.rag_score))
        return max(scored, key=lambda item: item[1]) if scored else None


@dataclass
class Cost:
    provider: Provider = Provider.OPENAI
    model: str = ""
    org_access: OrgAccess = OrgAccess.UNKNOWN
    examples: int | None = None
    """How many high-quality examples the person has."""
    prep_hours: float | None = None
    hourly_rate: float | None = None
    compute_estimate: float | None = None
    """The person's own estimate of the training bill (USD), until it is measured."""


@dataclass
class Benefit:
    expected_score: float | None = None
    """The share of acceptable answers (0-100) the person expects after fine-tuning."""
    prompt_tokens_now: int | None = None
    prompt_tokens_after: int | None = None
    requests_per_month: int | None = None
    price_now: float | None = None
    """USD per 1M input tokens of the model used today (catalog default)."""
    price_after: float | None = None
    """USD per 1M input tokens of the fine-tuned model (catalog default)."""
    reuse: Reuse = Reuse.SINGLE


@dataclass
class Measured:
    """Figures later steps measure; ``None`` until they do (never invented)."""

    examples: int | None = None
    """Valid examples in the training file the Dataset step inspected."""
    training_tokens: int | None = None
    """Tokens the provider would bill (all epochs)."""
    training_cost: float | None = None
    gpu_memory_gb: float | None = None
    baseline_score: float | None = None
    """Share of acceptable answers (0-100) of the best alternative, measured."""
    tuned_score: float | None = None
    quality_measure: str = ""
    """What counted as acceptable for those shares (e.g. "judge grade 4 or 5")."""
    few_shot_prompt_tokens: float | None = None
    """Mean prompt tokens per request few-shot prompting needed on the held-out examples."""
    few_shot_k: int | None = None
    rag_prompt_tokens: float | None = None
    plain_prompt_tokens: float | None = None
    """Mean prompt tokens per request of the plain prompt (what a tuned model is sent)."""
    source: str = ""
    """What produced these figures (a dataset path, a run id)."""


@dataclass
class Training:
    """Where the Backend stage chose to train, and why (blank until a backend is chosen)."""

    backend: str = ""
    """The registry name (``together``, ``local``...)."""
    label: str = ""
    """The provider as the user saw it (``Together AI``)."""
    model: str = ""
    reason: str = ""
    """The offer taken after OpenAI refused (``backends.migration``), or "The user's pick."."""


@dataclass
class Answers:
    use_case: UseCase = field(default_factory=UseCase)
    alternatives: Alternatives = field(default_factory=Alternatives)
    cost: Cost = field(default_factory=Cost)
    benefit: Benefit = field(default_factory=Benefit)
    measured: Measured = field(default_factory=Measured)
    training: Training = field(default_factory=Training)

    def to_dict(self) -> dict[str, Any]:
        return _encode(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answers:
        """Build from ``decision.json``'s ``answers``; raises ``AnswersError`` naming the field."""
        if not isinstance(data, dict):
            raise AnswersError("answers", "expected an object")
        return cls(
            use_case=_section(UseCase, data, "use_case"),
            alternatives=_section(Alternatives, data, "alternatives"),
            cost=_section(Cost, data, "cost"),
            benefit=_section(Benefit, data, "benefit"),
            measured=_section(Measured, data, "measured"),
            training=_section(Training, data, "training"),
        )


class AnswersError(ValueError):
    """A field of a saved decision that cannot be read back."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


_Section = TypeVar("_Section", bound="DataclassInstance")


def _section(cls: type[_Section], data: dict[str, Any], name: str) -> _Section:
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise AnswersError(name, "expected an object")
    defaults = cls()
    values: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name not in raw:
            continue
        default = getattr(defaults, spec.name)
        values[spec.name] = _coerce(raw[spec.name], spec.type, default, f"{name}.{spec.name}")
    return cls(**values)


def _coerce(value: Any, annotation: Any, default: Any, path: str) -> Any:
    """Check one saved value against its field's declared type (a string under PEP 563)."""
    kind = str(annotation)
    optional = "None" in kind
    if value is None:
        if optional:
            return None
        raise AnswersError(path, "must not be null")
    enum_type = _ENUMS.get(kind.split(" ")[0])
    if enum_type is not None:
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum_type)
            raise AnswersError(path, f"{value!r} is not one of {allowed}") from None
    if kind.startswith("bool"):
        if isinstance(value, bool):
            return value
        raise AnswersError(path, f"expected true or false, got {value!r}")
    if kind.startswith("int"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise AnswersError(path, f"expected a whole number, got {value!r}")
    if kind.startswith("float"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise AnswersError(path, f"expected a number, got {value!r}")
    if kind.startswith("str"):
        if isinstance(value, str):
            return value
        raise AnswersError(path, f"expected text, got {value!r}")
    return default


_ENUMS: dict[str, type[Enum]] = {
    "UseCaseCategory": UseCaseCategory,
    "PromptingTried": PromptingTried,
    "Reuse": Reuse,
    "OrgAccess": OrgAccess,
    "Provider": Provider,
}
