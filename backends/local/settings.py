"""What a local run trains with: the adapter and every hyperparameter, with defaults.

``LocalSettings`` lives in ``run.json`` under ``settings["local"]`` (the one
source of truth the worker reads); the main scalars are copied into
``hyperparameters`` too, so a runs list can show them like a hosted run's.
A ``run.json`` or a TOML file with the same keys re-creates the settings
(``finetune-tui train --config``). Settings written before the adapter had its own name say
``"method": "lora"``: that reads as ``adapter`` lora (the objective stays supervised).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from backends import registry
from backends.backend import Problem
from backends.files import read_regular_file
from backends.runs.values import ADAPTERS, DPO, FULL, LORA, QLORA, SUPERVISED, RunSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BACKEND_NAME = registry.LOCAL
PRECISIONS = ("auto", "bf16", "fp16", "fp32")

DEFAULT_LR = {LORA: 2e-4, QLORA: 2e-4, FULL: 2e-5}
"""The usual starting points: adapters take a larger step than full fine-tuning."""
DEFAULT_DPO_LR = {LORA: 5e-6, QLORA: 5e-6, FULL: 5e-7}
"""DPO moves a model that already answers well: a step about 40x smaller than SFT's."""

LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust", "apo_zero", "apo_down", "sppo_hard", "nca_pair")
"""trl's pairwise DPO losses a user picks from (``sigmoid`` is the DPO paper's)."""
AUTO_REFERENCE = "auto"
PRECOMPUTED_REFERENCE = "precompute"
REFERENCES = (AUTO_REFERENCE, PRECOMPUTED_REFERENCE)
"""``auto``: under LoRA/QLoRA the adapter-disabled base model is the reference (no second copy
in memory), under full fine-tuning a frozen copy of the starting model. ``precompute``: the
reference log-probabilities are computed once before training, so no reference stays in memory."""

_INT_RANGES = {
    "max_steps": (1, 100_000_000),
    "eval_steps": (1, 100_000_000),
    "batch_size": (1, 65_536),
    "grad_accum": (1, 65_536),
    "max_length": (1, 1_048_576),
    "lora_r": (1, 65_536),
    "lora_alpha": (1, 1_048_576),
    "save_steps": (1, 100_000_000),
    "logging_steps": (1, 100_000_000),
    "gpus": (1, 1024),
    "save_total_limit": (1, 100_000),
    "seed": (0, 2**32 - 1),
    "max_prompt_length": (1, 1_048_576),
    "max_completion_length": (1, 1_048_576),
}
"""Whole-number settings and their sane range (beyond it a run cannot mean it)."""
_OPTIONAL = ("max_steps", "eval_steps", "max_prompt_length", "max_completion_length")
_FLOAT_RANGES = {
    "epochs": (0.0, 10_000.0, True),
    "learning_rate": (0.0, 1e308, True),
    "lora_dropout": (0.0, 0.99, False),
    "validation_split": (0.0, 0.49, False),
    "warmup_ratio": (0.0, 0.99, False),
}
"""Number settings: (bound, highest, the bound excluded: ``True`` means above it, not at it)."""
_FLAGS = {"learning_rate": "--lr", "assistant_only_loss": "--full-loss"}


def flag(name: str) -> str:
    """The command-line flag of a setting (``max_steps`` → ``--max-steps``)."""
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


def _finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


_HYPER_COPY = {
    "n_epochs": "epochs",
    "max_steps": "max_steps",
    "learning_rate": "learning_rate",
    "batch_size": "batch_size",
    "gradient_accumulation_steps": "grad_accum",
    "max_length": "max_length",
    "lora_r": "lora_r",
}


@dataclass(frozen=True)
class LocalSettings:
    """Adapter and hyperparameters of a local run; every field has a sensible default."""

    adapter: str = LORA
    objective: str = SUPERVISED
    """What training optimises: ``supervised`` (SFT) or ``dpo`` (preference pairs)."""
    epochs: float = 3.0
    max_steps: int | None = None
    """When set, training stops after this many optimizer steps (overrides ``epochs``)."""
    learning_rate: float | None = None
    """``None``: 2e-4 for LoRA/QLoRA, 2e-5 for full fine-tuning."""
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("all-linear",)
    packing: bool = False
    gradient_checkpointing: bool = True
    assistant_only_loss: bool = True
    eval_steps: int | None = None
    """Evaluate every N steps; ``None``: once per epoch (when there is validation data)."""
    validation_split: float = 0.0
    """Fraction of the training file held out for validation when no validation file is given."""
    save_steps: int = 100
    save_total_limit: int = 3
    logging_steps: int = 1
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    seed: int = 42
    precision: str = "auto"
    """``auto``: bf16 where the GPU supports it, else fp16 on CUDA, else fp32."""
    gpus: int = 1
    """More than one: ``accelerate launch`` with one process per GPU."""
    accelerate_config: str | None = None
    """An accelerate YAML, or a DeepSpeed JSON, passed to ``accelerate launch``."""
    merge: bool = False
    """After training, also save the base model with the adapter merged in (16-bit)."""
    beta: float = 0.1
    """DPO: how far the policy may move from the reference (higher: closer to it)."""
    loss_type: str = "sigmoid"
    """DPO: one of ``LOSS_TYPES``."""
    max_prompt_length: int | None = None
    """DPO: keep the last N tokens of a longer prompt; ``None``: no limit of its own."""
    max_completion_length: int | None = None
    """DPO: keep the first N tokens of a longer answer; ``None``: no limit of its own."""
    reference: str = AUTO_REFERENCE
    """DPO: one of ``REFERENCES``."""
    from_run: str | None = None
    """DPO: the run folder of a finished SFT run whose adapter (or model) is the starting point."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_modules", tuple(self.target_modules))

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return default_lr(self.adapter, self.objective)

    @property
    def is_dpo(self) -> bool:
        return self.objective == DPO

    @property
    def uses_adapter(self) -> bool:
        return self.adapter in (LORA, QLORA)

    def problems(self) -> list[Problem]:
        """What is wrong with these values (empty when they make sense)."""
        out: list[Problem] = []
        if self.adapter not in ADAPTERS:
            out.append(Problem(f"adapter must be one of {', '.join(ADAPTERS)}", where="adapter"))
        if self.objective not in (SUPERVISED, DPO):
            out.append(
                Problem(
                    f"objective must be {SUPERVISED} or {DPO}, not {self.objective!r}",
                    where="objective",
                )
            )
        if self.precision not in PRECISIONS:
            out.append(
                Problem(f"precision must be one of {', '.join(PRECISIONS)}", where="precision")
            )
        for name, (low, high) in _INT_RANGES.items():
            value = getattr(self, name)
            if value is None and name in _OPTIONAL:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                unset = " (or unset)" if name in _OPTIONAL else ""
                out.append(
                    Problem(
                        f"{flag(name)} must be a whole number from {low:,} to {high:,}{unset}, "
                        f"not {_shown(value)}.",
                        where=name,
                    )
                )
        number: Any
        for name, (bound, highest, positive) in _FLOAT_RANGES.items():
            number = getattr(self, name)
            if number is None and name == "learning_rate":
                continue  # the adapter's default
            if name == "epochs" and self.max_steps is not None and _finite(number):
                continue  # max_steps wins: epochs only has to be a number
            inside = _finite(number) and (number > bound if positive else number >= bound)
            if not (inside and number <= highest):
                span = f"above {bound:g}" if positive else f"at least {bound:g}"
                out.append(
                    Problem(
                        f"{flag(name)} must be a finite number {span} and at most {highest:g}, "
                        f"not {_shown(number)}.",
                        where=name,
                    )
                )
        if _finite(self.learning_rate) and self.lr > 1:
            out.append(
                Problem(
                    f"{flag('learning_rate')} {self.lr:g} is far above the usual 1e-5 to 1e-3: "
                    "the training will very likely diverge (it then stops as failed).",
                    fatal=False,
                    where="learning_rate",
                )
            )
        if self.uses_adapter and not self.target_modules:
            out.append(
                Problem("target_modules must name at least one module", where="target_modules")
            )
        out.extend(self._dpo_problems())
        if self.accelerate_config and not Path(self.accelerate_config).is_file():
            out.append(
                Problem(
                    f"The accelerate/DeepSpeed config {self.accelerate_config} does not exist.",
                    where="accelerate_config",
                )
            )
        return out

    def _dpo_problems(self) -> list[Problem]:
        out: list[Problem] = []
        if not (_finite(self.beta) and 0 < self.beta <= 1000):
            out.append(
                Problem(f"beta must be above 0 and at most 1000, not {self.beta!r}", where="beta")
            )
        if self.loss_type not in LOSS_TYPES:
            out.append(
                Problem(f"loss_type must be one of {', '.join(LOSS_TYPES)}", where="loss_type")
            )
        if self.reference not in REFERENCES:
            out.append(
                Problem(f"reference must be one of {', '.join(REFERENCES)}", where="reference")
            )
        if self.max_prompt_length is not None and self.max_prompt_length >= self.max_length:
            out.append(
                Problem(
                    f"max_prompt_length ({self.max_prompt_length}) must be below max_length "
                    f"({self.max_length}): the answers need room too",
                    where="max_prompt_length",
                )
            )
        if self.from_run is not None and not self.is_dpo:
            out.append(
                Problem(
                    "from_run starts a DPO run from an SFT run: use it with dpo", where="from_run"
                )
            )
        return out

    # --- conversions ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["target_modules"] = list(self.target_modules)
        return out

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LocalSettings:
        """Settings from a dict (``run.json``, TOML); unknown keys are ignored.

        An older ``"method": "lora"`` (or qlora, full) is the adapter; ``"method": "supervised"``
        is the objective, which lives in the ``RunSpec``.
        """
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "adapter" not in values and data.get("method") in ADAPTERS:
            values["adapter"] = data["method"]
        if isinstance(values.get("target_modules"), str):
            values["target_modules"] = tuple(
                part.strip() for part in values["target_modules"].split(",") if part.strip()
            )
        return cls(**values)

    def updated(self, **changes: Any) -> LocalSettings:
        """A copy with the given fields changed; ``None`` values are skipped."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def hyperparameters(self) -> dict[str, int | float]:
        out: dict[str, int | float] = {}
        for hyper, name in _HYPER_COPY.items():
            value = self.lr if name == "learning_rate" else getattr(self, name)
            if value is not None:
                out[hyper] = value
        if self.is_dpo:
            out["beta"] = self.beta
        return out

    def to_spec(
        self,
        *,
        model: str,
        dataset: str,
        dataset_sha256: str = "",
        validation: str | None = None,
        validation_sha256: str | None = None,
        name: str = "",
        extra_settings: Mapping[str, Any] | None = None,
    ) -> RunSpec:
        """The run's spec. A model that is a local folder or file is kept as its absolute
        path: the worker runs elsewhere, and a relative ``tiny`` would read as a hub id there."""
        return RunSpec(
            backend=BACKEND_NAME,
            model=_absolute_if_local(model),
            dataset=dataset,
            dataset_sha256=dataset_sha256,
            validation=validation,
            validation_sha256=validation_sha256,
            method=self.objective,
            adapter=self.adapter,
            hyperparameters=self.hyperparameters(),
            seed=self.seed,
            settings={**(extra_settings or {}), "local": self.to_dict()},
            name=name,
        )

    @classmethod
    def from_spec(cls, spec: RunSpec) -> LocalSettings:
        local = spec.settings.get("local")
        data = dict(local) if isinstance(local, Mapping) else {}
        if spec.adapter is not None and "method" not in data:
            data.setdefault("adapter", spec.adapter)
        data["objective"] = spec.method
        return cls.from_mapping(data)


def default_lr(adapter: str, objective: str = SUPERVISED) -> float:
    """The learning rate used when none is given, for this adapter and objective."""
    table = DEFAULT_DPO_LR if objective == DPO else DEFAULT_LR
    return table.get(adapter, table[LORA])


@dataclass(frozen=True)
class RunConfig:
    """A ``--config`` file: model, data and settings (any may be missing)."""

    model: str | None = None
    data: str | None = None
    validation: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


class ConfigShapeError(ValueError):
    """A ``--config`` file whose values are not of the expected type (named in the message)."""


def _text_field(data: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ConfigShapeError(
                f"field {name!r} must be a string (a path or a name), not {type(value).__name__} "
                f"{_shown(value)}"
            )
        return value
    return None


def _table(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigShapeError(
            f"field {where!r} must be a table of settings, not {type(value).__name__} {_shown(value)}"
        )
    return value


SETTINGS_TABLE = "local"
"""The TOML table (and ``run.json``'s ``settings`` key) holding a local run's settings."""
_TEXT, _FLAG, _WHOLE, _NUMBER = (str,), (bool,), (int,), (int, float)
_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    **{f.name: _WHOLE for f in fields(LocalSettings)},
    **dict.fromkeys(
        (
            "adapter",
            "precision",
            "lr_scheduler",
            "accelerate_config",
            "objective",
            "loss_type",
            "reference",
            "from_run",
        ),
        _TEXT,
    ),
    **dict.fromkeys(("packing", "gradient_checkpointing", "assistant_only_loss", "merge"), _FLAG),
    **dict.fromkeys(
        ("epochs", "learning_rate", "lora_dropout", "validation_split", "warmup_ratio", "beta"),
        _NUMBER,
    ),
    "target_modules": (str, list, tuple),
}
"""The type each setting of a config file must have."""
_KIND_WORDS = {str: "a string", bool: "true/false", int: "a whole number", float: "a number"}


def _checked_settings(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The known settings of ``values``, each of its expected type (``None`` for unset)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        expected = _SETTING_TYPES.get(name)
        if expected is None or value is None:
            out[name] = value
            continue
        wrong_bool = isinstance(value, bool) and bool not in expected
        if wrong_bool or not isinstance(value, expected):
            kinds = " or ".join(
                {
                    "str": "a string",
                    "bool": "true/false",
                    "int": "a whole number",
                    "float": "a number",
                    "list": "a list",
                    "tuple": "a list",
                }[k.__name__]
                for k in expected
            )
            raise ConfigShapeError(
                f"field '{where}{name}' must be {kinds}, not {type(value).__name__} {_shown(value)}"
            )
        items = value if name == "target_modules" and isinstance(value, (list, tuple)) else ()
        if not all(isinstance(item, str) for item in items):
            raise ConfigShapeError(f"field '{where}{name}' must be a list of module names")
        out[name] = value
    return out


def read_run_config(path: Path) -> RunConfig:
    """A ``run.json`` of an earlier run, or a TOML file (flat keys, or a ``[local]`` table).

    ``ConfigShapeError`` (a ``ValueError``) names a field of the wrong type.
    """
    text = read_regular_file(Path(path))  # not /dev/zero, not a FIFO
    if Path(path).suffix.lower() == ".json":
        import orjson

        data = orjson.loads(text)
        if not isinstance(data, Mapping):
            raise ConfigShapeError(
                f"a run.json must hold one JSON object, not {type(data).__name__}"
            )
        local = _table(_table(data, "settings", "settings"), "local", "settings.local")
        return RunConfig(
            _text_field(data, "model"),
            _text_field(data, "dataset"),
            _text_field(data, "validation"),
            _checked_settings(local, "settings.local."),
        )
    data = tomllib.loads(text.decode("utf-8"))
    has_table = isinstance(data.get(SETTINGS_TABLE), Mapping) or SETTINGS_TABLE in data
    local = _table(data, SETTINGS_TABLE, SETTINGS_TABLE) if has_table else data
    where = f"{SETTINGS_TABLE}." if has_table else ""
    return RunConfig(
        _text_field(data, "model"),
        _text_field(data, "data", "dataset"),
        _text_field(data, "validation"),
        _checked_settings(
            {k: v for k, v in local.items() if k not in ("model", "data", "dataset", "validation")},
            where,
        ),
    )


def _absolute_if_local(model: str) -> str:
    path = Path(model.strip()).expanduser()
    try:
        return str(path.resolve()) if model.strip() and path.exists() else model
    except OSError:
        return model
