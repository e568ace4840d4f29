"""Before any launch: the Dataset step's inspection for the chosen backend and model, then the
backend's own checks. The Launch step and ``finetune-tui train`` both call ``preflight``, so a
file whose report has errors never launches on any backend (nothing is uploaded, no worker
starts); warnings do not block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backends import registry
from backends.backend import Problem

if TYPE_CHECKING:
    from backends.backend import Backend
    from backends.data.findings import FindingGroup
    from backends.data.report import DatasetReport
    from backends.runs.values import RunSpec

DATA = "data"
"""``Problem.where`` of the inspection's findings: the way back is the Dataset step."""
SHOWN_GROUPS = 5


@dataclass
class Preflight:
    """What stands between a spec and its launch."""

    problems: list[Problem] = field(default_factory=list)
    spec: RunSpec | None = None
    """The spec to launch: the one checked, with any data file the backend had to convert
    replaced by its converted copy."""

    @property
    def blocked(self) -> bool:
        return any(p.fatal for p in self.problems)

    @property
    def data_blocked(self) -> bool:
        """The data has errors: fix them in the Dataset step (or the file) first."""
        return any(p.fatal and p.where == DATA for p in self.problems)


def _report(path: str, spec: RunSpec, *, validation: bool) -> DatasetReport:
    from backends.data.inspector import InspectOptions
    from backends.data.scan_process import inspect_for_command

    info = registry.get(spec.backend)
    length = spec.hyperparameters.get("max_length")
    options = InspectOptions(
        model=spec.model,
        provider=info.provider if info.provider is not None else InspectOptions().provider,
        max_length=length if isinstance(length, int) and not info.hosted else None,
        is_validation=validation,
    )
    return inspect_for_command(path, None, options)


def data_problems(spec: RunSpec) -> list[Problem]:
    """The inspection's errors (fatal) and a one-line count of its warnings, per data file."""
    from backends.data.findings import Severity
    from backends.data.scan_process import ScanFailed

    problems: list[Problem] = []
    for label, path, validation in (
        ("training", spec.dataset, False),
        ("validation", spec.validation, True),
    ):
        if not path:
            continue
        name = Path(path).name
        try:
            report = _report(path, spec, validation=validation)
        except ScanFailed as error:  # the child could not inspect it: say so, launch nothing
            problems.append(
                Problem(f"The {label} file {name} was not inspected: {error}", where=DATA)
            )
            continue
        mismatch = _objective_mismatch(report.format, spec.method)
        if mismatch:
            problems.append(Problem(f"The {label} file {name} {mismatch}", where=DATA))
        errors = report.groups(Severity.ERROR)
        if errors:
            total = sum(g.count for g in errors)
            problems.append(
                Problem(
                    f"The {label} file {name} has {total:,} error{'s' if total != 1 else ''}: "
                    "fix them before training.",
                    where=DATA,
                )
            )
            for group in errors[:SHOWN_GROUPS]:
                problems.append(Problem(f"  {_describe(group)}", where=DATA))
            if len(errors) > SHOWN_GROUPS:
                problems.append(
                    Problem(f"  … and {len(errors) - SHOWN_GROUPS} more kinds.", where=DATA)
                )
        warnings = sum(g.count for g in report.groups(Severity.WARNING))
        if warnings:
            problems.append(
                Problem(
                    f"The {label} file {name} has {warnings:,} warning{'s' if warnings != 1 else ''} "
                    "(they do not block: the Dataset report lists them).",
                    fatal=False,
                    where=DATA,
                )
            )
    return problems


def _objective_mismatch(data_format: str, method: str) -> str | None:
    """Preference pairs train with DPO, everything else supervised: say so when they differ."""
    from backends.data.formats import DataFormat
    from backends.runs.values import DPO

    if data_format == DataFormat.DPO.value and method != DPO:
        return "holds preference pairs: train it with --method dpo (objective DPO)."
    if data_format not in (DataFormat.DPO.value, DataFormat.UNKNOWN.value) and method == DPO:
        return "holds no preference pairs, but the objective is DPO: use a pairs file."
    return None


def _describe(group: FindingGroup) -> str:
    lines = [f.line for f in group.samples if f.line is not None]
    where = ""
    if lines:
        shown = ", ".join(map(str, lines[:5]))
        more = "…" if group.count > len(lines[:5]) else ""
        where = f"line{'s' if len(lines) > 1 or more else ''} {shown}{more}: "
    first = group.samples[0].message if group.samples else group.info.title
    return f"{where}{first} ({group.info.fix})"


CONVERSION = "conversion"
"""``Problem.where`` of the lines saying a data file was converted for the backend."""


def preflight(backend: Backend, spec: RunSpec) -> Preflight:
    """The backend's data conversion (where its provider takes other formats), the data
    inspection of the files it will upload, then ``backend.prepare``; all in one ``Preflight``."""
    notes: list[Problem] = []
    convert = getattr(backend, "convert_data", None)
    if convert is not None:
        try:
            spec, said = convert(spec)
        except (ValueError, OSError) as error:
            from backends.text import printable_line

            return Preflight([Problem(printable_line(str(error)), where=DATA)], spec)
        notes = [Problem(line, fatal=False, where=CONVERSION) for line in said]
    data = data_problems(spec)
    return Preflight([*notes, *data, *backend.prepare(spec)], spec)
