"""A local run's GGUF exports as Try it and ``chat --export`` find them: which export a
request names, and what renders and tokenises its prompts as the trained model's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backends import registry
from backends.evaluate.request import EvalRequest, UsageProblem
from backends.evaluate.setup import find_run, trained_output


@dataclass(frozen=True)
class GgufExport:
    """A run's GGUF export, with what renders and tokenises its prompts as the trained model's."""

    run_id: str
    name: str
    path: Path
    tokenizer: str
    """The trained model's tokenizer (its chat template): a folder, or the base model's name."""


def gguf_export(request: EvalRequest, export: str) -> GgufExport:
    """The GGUF export called ``export`` of the run ``request.tuned`` names."""
    from backends.local.export import gguf_exports

    name = request.tuned or ""
    if not name:
        raise UsageProblem(f"--export {export!r} needs --tuned RUN: the run it was exported from.")
    folder = find_run(request, name)
    if folder is None:
        raise UsageProblem(
            f"--export {export!r}: --tuned {name!r} is not a run of this workspace "
            "(finetune-tui runs lists them)."
        )
    spec = folder.read_spec()
    if not registry.is_local(spec.backend):
        raise UsageProblem(
            f"Run {folder.run_id} was trained on {spec.backend}: it has no GGUF export here."
        )
    found = gguf_exports(folder)
    if export not in found:
        have = f"its GGUF exports are {', '.join(found)}" if found else "it has no GGUF export"
        raise UsageProblem(
            f"Run {folder.run_id} has no GGUF export {export!r}: {have} "
            f"(finetune-tui export {folder.run_id} --to gguf makes one)."
        )
    output = trained_output(folder.output_dir)
    tokenizer = spec.model
    if output is not None and (not output.adapter or _has_tokenizer(output.path)):
        tokenizer = str(output.path)
    return GgufExport(folder.run_id, export, found[export], tokenizer)


def gguf_export_names(request: EvalRequest) -> list[str]:
    """The GGUF exports of the run ``request.tuned`` names (none for anything else); never raises."""
    from backends.local.export import gguf_exports

    try:
        folder = find_run(request, request.tuned or "") if request.tuned else None
        if folder is None or not registry.is_local(folder.read_spec().backend):
            return []
        return list(gguf_exports(folder))
    except (UsageProblem, OSError, ValueError, KeyError, TypeError):
        return []


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))
