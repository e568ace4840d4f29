"""What a local run trains with: the adapter and every hyperparameter, with defaults.

``LocalSettings`` lives in ``run.json`` under ``settings["local"]`` (the one
source of truth the worker reads); the main scalars are copied into
``hyperparameters`` too, so a runs list can show them like a hosted run's.
A ``run.json`` or a TOML file with the same keys re-creates the settings
(``finetune-tui train --config``). Settings written before the adapter had its own name say
``"method": "lora"``: that reads as ``adapter`` lora (the objective stays supervised).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from backends import registry
from backends.backend import Problem
from backends.files import read_regular_file
from backends.runs.values import ADAPTERS, FULL, LORA, QLORA, SUPERVISED, RunSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BACKEND_NAME = registry.LOCAL
PRECISIONS = ("auto", "bf16", "fp16", "fp32")

DEFAULT_LR = {LORA: 2e-4, QLORA: 2e-4, FULL: 2e-5}
"""The usual starting points: adapters take a larger step than full fine-tuning."""

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_modules", tuple(self.target_modules))

    @property
    def lr(self) -> float:
        return (
            self.learning_rate
            if self.learning_rate is not None
            else DEFAULT_LR.get(self.adapter, 2e-4)
        )

    @property
    def uses_adapter(self) -> bool:
        return self.adapter in (LORA, QLORA)

    def problems(self) -> list[Problem]:
        """What is wrong with these values (empty when they make sense)."""
        out: list[Problem] = []
        if self.adapter not in ADAPTERS:
            out.append(Problem(f"adapter must be one of {', '.join(ADAPTERS)}", where="adapter"))
        if self.precision not in PRECISIONS:
            out.append(
                Problem(f"precision must be one of {', '.join(PRECISIONS)}", where="precision")
            )
        positive_ints = ("batch_size", "grad_accum", "max_length", "lora_r", "lora_alpha")
        for name in (*positive_ints, "save_steps", "logging_steps", "gpus", "save_total_limit"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                out.append(Problem(f"{name} must be a whole number ≥ 1, not {value!r}", where=name))
        for name in ("max_steps", "eval_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                out.append(Problem(f"{name} must be a whole number ≥ 1 or unset", where=name))
        if self.max_steps is None and not self.epochs > 0:
            out.append(Problem("epochs must be above 0 (or set max_steps)", where="epochs"))
        if not self.lr > 0:
            out.append(Problem("learning_rate must be above 0", where="learning_rate"))
        if not 0 <= self.lora_dropout < 1:
            out.append(Problem("lora_dropout must be in [0, 1)", where="lora_dropout"))
        if not 0 <= self.validation_split < 0.5:
            out.append(Problem("validation_split must be in [0, 0.5)", where="validation_split"))
        if not 0 <= self.warmup_ratio < 1:
            out.append(Problem("warmup_ratio must be in [0, 1)", where="warmup_ratio"))
        if self.uses_adapter and not self.target_modules:
            out.append(
                Problem("target_modules must name at least one module", where="target_modules")
            )
        if self.accelerate_config and not Path(self.accelerate_config).is_file():
            out.append(
                Problem(
                    f"The accelerate/DeepSpeed config {self.accelerate_config} does not exist.",
                    where="accelerate_config",
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
            method=SUPERVISED,
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
        return cls.from_mapping(data)


@dataclass(frozen=True)
class RunConfig:
    """A ``--config`` file: model, data and settings (any may be missing)."""

    model: str | None = None
    data: str | None = None
    validation: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


def read_run_config(path: Path) -> RunConfig:
    """A ``run.json`` of an earlier run, or a TOML file (flat keys, or a ``[local]`` table)."""
    text = read_regular_file(Path(path))  # not /dev/zero, not a FIFO
    if Path(path).suffix.lower() == ".json":
        import orjson

        data = orjson.loads(text)
        local = (data.get("settings") or {}).get("local") or {}
        return RunConfig(data.get("model"), data.get("dataset"), data.get("validation"), local)
    data = tomllib.loads(text.decode("utf-8"))
    local = data.get("local", data)
    return RunConfig(
        data.get("model"),
        data.get("data") or data.get("dataset"),
        data.get("validation"),
        {k: v for k, v in local.items() if k not in ("model", "data", "dataset", "validation")},
    )


def _absolute_if_local(model: str) -> str:
    path = Path(model.strip()).expanduser()
    try:
        return str(path.resolve()) if model.strip() and path.exists() else model
    except OSError:
        return model
