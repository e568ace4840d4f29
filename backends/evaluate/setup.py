"""From an ``EvalRequest`` to what an evaluation runs with: the data, the runners, the judge.

The rules that decide it live here, for the CLI and the Evaluate stage alike (how each
model is reached is ``connections``; a run's GGUF exports, ``gguf_exports``):
where the models run (``guess_provider``), which model a tuned run means (the
first of ``output/merged``, ``output/adapter``, ``output/model`` for a local
run; the fine-tuned model for a hosted one), what that training cost (the
run's trained tokens at the catalog's price), the held-out set (never an
example the tuned model learnt from), and the judge (its provider, its key
checked before anything is sent, its price before it runs).

Everything raises ``UsageProblem``, ``BackendError`` or ``ValueError`` saying
what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backends import registry
from backends.evaluate.connections import (
    hosted_runner,
    hosted_settings,
    inference_refusal,
    local_runner,
    runner_for,
)
from backends.evaluate.request import EvalRequest, UsageProblem, guess_provider
from backends.evaluate.runners import HostedRunner, Runner

if TYPE_CHECKING:
    from backends.evaluate.prompts import EvalSet
    from backends.evaluate.verdicts import JudgeEstimate
    from backends.runs import RunFolder
    from backends.runs.status import RunStatus
    from backends.runs.values import RunSpec
    from backends.workspace import Workspace

OUTPUT_FOLDERS = (("merged", False), ("adapter", True), ("model", False))
"""A local run's ``output/`` folders, the first present winning; ``True``: an adapter of the run's base."""


@dataclass(frozen=True)
class TrainedOutput:
    """The model a local run left in ``output/``."""

    path: Path
    adapter: bool
    """``path`` is a LoRA adapter of the run's base model (else a whole model)."""


@dataclass
class Tuned:
    """The tuned model's runner, the training file it learnt from, and the training bill."""

    runner: Runner
    trained_on: str | None = None
    training_cost: float | None = None


@dataclass
class JudgeSetup:
    runner: Runner
    estimate: JudgeEstimate


@dataclass
class Evaluation:
    """What ``session.run`` needs: the request resolved."""

    request: EvalRequest
    provider: str
    eval_set: EvalSet
    base: Runner
    tuned: Runner | None = None
    training_cost: float | None = None
    judge: JudgeSetup | None = None
    current: Runner | None = None
    """The current fine-tune's runner (``request.current``), on the provider that serves it."""


# --- the tuned model ------------------------------------------------------------


def trained_output(output: Path) -> TrainedOutput | None:
    """The model a local run left in ``output``: merged, else adapter, else model; ``None``: none yet."""
    for name, adapter in OUTPUT_FOLDERS:
        path = output / name
        if path.is_dir():
            return TrainedOutput(path, adapter)
    return None


def training_cost(spec: RunSpec, status: RunStatus) -> float | None:
    """What a hosted run's training cost: its trained tokens at its provider's catalog price for
    the run's objective and adaptation (a profile's listed price where the catalog has none);
    ``None`` when unknown."""
    from backends.catalog import find_hosted

    if not status.trained_tokens:
        return None
    info = registry.find(spec.backend)
    if info is None or info.provider is None:
        return None
    entry = find_hosted(info.provider, spec.model)
    per_million = (
        entry.training_price(spec.method, spec.adapter)
        if entry is not None
        else info.listed_price(spec.model)
    )
    if per_million is None:
        return None
    return status.trained_tokens * per_million / 1e6


def find_run(request: EvalRequest, name: str) -> RunFolder | None:
    """The workspace's run called ``name`` (a unique prefix will do), or ``None``."""
    from backends.runs import RunStore
    from backends.runs.store import RunIdRefused
    from backends.workspace import Workspace

    store = RunStore.of(Workspace.at(request.workspace))
    try:
        return store.find(name)
    except RunIdRefused as error:
        if not name.strip() or "/" not in name:  # a path with '..' may still be a model folder
            raise UsageProblem(f"The tuned model {name!r}: {error.args[0]}") from error
        return None
    except (KeyError, OSError):
        return None


def _known_to_provider(runner: HostedRunner, name: str) -> None:
    """``--tuned`` that is no run must be a model the provider has: a typo is refused here, not
    scored as a row of failed answers (an unreachable provider is left to the run to report)."""
    if runner.model_missing():
        raise UsageProblem(
            f"The tuned model {name!r} is neither a run of this workspace (the runs list shows them) "
            f"nor a model {runner.settings.label} knows."
        )


@dataclass(frozen=True)
class RunData:
    """The files a workspace run trained and validated on."""

    run_id: str
    train: str
    validation: str | None


def run_data(workspace: Workspace, name: str) -> RunData | None:
    """The data of the workspace's run called ``name`` (``None``: no such run, or unreadable)."""
    from backends.runs import RunStore
    from backends.runs.store import RunIdRefused

    if not name.strip():
        return None
    try:
        folder = RunStore.of(workspace).find(name)
        spec = folder.read_spec() if folder is not None else None
    except (KeyError, OSError, ValueError, RunIdRefused):
        return None
    if folder is None or spec is None:
        return None
    return RunData(folder.run_id, spec.dataset, spec.validation or None)


def held_out_problem(eval_from: str, *, split: bool, trained: RunData | None) -> str | None:
    """Why the examples to evaluate on would all be ones the tuned run learnt from, said up front.

    ``eval_from``: the held-out file, or the training file a split is taken from. The same
    file as the run's training file holds out nothing (the examples are also compared one by
    one when the evaluation loads them).
    """
    if trained is None or not eval_from.strip() or not _same_file(eval_from, trained.train):
        return None
    what = f"a split of {eval_from}" if split else eval_from
    fix = (
        f"evaluate on its validation file {trained.validation}"
        if trained.validation
        else "evaluate on a held-out file with examples it never saw"
    )
    return (
        f"Every example of {what} is in the tuned model's training file (run {trained.run_id} "
        f"trained on the whole of it): {fix}."
    )


def _same_file(one: str, other: str) -> bool:
    try:
        return Path(one).expanduser().resolve() == Path(other).expanduser().resolve()
    except (OSError, RuntimeError):
        return False


def tuned_model(request: EvalRequest, provider: str) -> Tuned:
    """The tuned model ``request.tuned`` names: a run of the workspace, else a model on ``provider``."""
    name = request.tuned or ""
    folder = find_run(request, name)
    if folder is None:
        runner = runner_for(provider, name, request)
        if isinstance(runner, HostedRunner) and registry.get(provider).models_endpoint:
            _known_to_provider(runner, name)
        return Tuned(runner)
    spec = folder.read_spec()
    if registry.is_local(spec.backend):
        output = trained_output(folder.output_dir)
        if output is None:
            raise UsageProblem(
                f"Run {folder.run_id} has no trained model in {folder.output_dir} yet."
            )
        if output.adapter:
            local = local_runner(spec.model, request, adapter=str(output.path))
        else:
            local = local_runner(str(output.path), request)
        return Tuned(local, spec.dataset)
    from backends.hosted.settings import settings_of

    refusal = inference_refusal(spec.backend)
    if refusal:
        raise UsageProblem(f"Run {folder.run_id}: {refusal}")
    status = folder.read_status()
    if not status.fine_tuned_model:
        raise UsageProblem(
            f"Run {folder.run_id} has no fine-tuned model yet (it is "
            f"{folder.read_status().state.value})."
        )
    runner = hosted_runner(spec.backend, status.fine_tuned_model, request, settings_of(spec))
    return Tuned(runner, spec.dataset, training_cost(spec, status))


def current_model(request: EvalRequest) -> Runner:
    """The fine-tuned model in use today (``request.current``) on the provider that serves it;
    a model that provider does not have is refused before anything is sent."""
    import dataclasses

    name = (request.current or "").strip()
    provider = request.current_where
    # A key typed for the evaluation's provider is not this provider's.
    asked = request if provider == request.where else dataclasses.replace(request, secret=None)
    runner = runner_for(provider, name, asked)
    hosted = isinstance(runner, HostedRunner) and registry.get(provider).models_endpoint
    if hosted and isinstance(runner, HostedRunner) and runner.model_missing():
        raise UsageProblem(
            f"--current {name!r} is not a model {runner.settings.label} knows "
            "(finetune-tui jobs --backend openai lists your fine-tuned models)."
        )
    return runner


# --- the data -------------------------------------------------------------------


def load_set(request: EvalRequest) -> EvalSet:
    """The evaluation set the request names (a held-out file, or a seeded split of ``data``)."""
    from backends.evaluate.prompts import load_eval_set, split_eval_set

    if request.split is not None:
        return split_eval_set(
            request.data, fraction=request.split, seed=request.seed, limit=request.limit
        )
    return load_eval_set(request.data, request.train, limit=request.limit)


# --- the judge ------------------------------------------------------------------


def default_judge_provider(provider: str) -> str:
    """Where the judge runs when nobody says: the evaluation's provider when hosted, else the default."""
    return provider if registry.is_hosted(provider) else registry.DEFAULT_HOSTED


def judge_provider(request: EvalRequest, provider: str) -> str:
    """The judge's provider: the one named, else the evaluation's (when hosted)."""
    if request.judge_provider:
        return request.judge_provider
    if registry.is_local(provider):
        first, *others = registry.hosted_names()
        alternatives = f" (or {', '.join(others)})" if others else ""
        raise UsageProblem(
            f"the judge {request.judge} runs on a hosted model, and the evaluation is local: "
            f"add --judge-provider {first}{alternatives}."
        )
    return provider


def judge_estimate(request: EvalRequest, eval_set: EvalSet, provider: str) -> JudgeEstimate:
    """The judge's price before it runs, for the methods the request will answer with."""
    from backends.evaluate.judge_cost import estimate_judge_cost, planned_methods

    methods = planned_methods(
        zero_shot=request.zero_shot,
        few_shot_k=request.few_shot,
        rag_k=request.rag,
        has_pool=bool(eval_set.pool),
        tuned=bool(request.tuned),
        current=bool(request.current),
    )
    return estimate_judge_cost(
        eval_set.examples,
        methods,
        request.judge or "",
        provider=judge_provider(request, provider),
        max_answer_tokens=request.max_tokens,
    )


def judge_runner(request: EvalRequest, provider: str) -> Runner:
    """The hosted judge's runner (its key checked now, before anything is sent)."""
    from backends.evaluate.judge import judge_runner as hosted_judge
    from backends.hosted.errors import HostedError

    settings = hosted_settings(judge_provider(request, provider), request)
    secret = request.secret or None
    problem = settings.missing(secret)
    if problem:
        raise HostedError(f"The judge needs {settings.label}: {problem}", kind="config")
    return hosted_judge(
        settings, request.judge or "", secret=secret, concurrency=request.concurrency
    )


# --- all of it --------------------------------------------------------------------


def prepare(request: EvalRequest) -> Evaluation:
    """The held-out set, the base and tuned runners, the training bill and the judge."""
    from backends.evaluate.prompts import drop_trained

    problem = request.problem()
    if problem:
        raise UsageProblem(problem)
    provider = request.where
    eval_set = load_set(request)
    base = runner_for(provider, request.model, request)
    tuned = tuned_model(request, provider) if request.tuned else None
    current = current_model(request) if (request.current or "").strip() else None
    if tuned is not None and tuned.trained_on and Path(tuned.trained_on).is_file():
        drop_trained(eval_set, tuned.trained_on)
        if not eval_set.examples:
            raise UsageProblem("every evaluation example is in the tuned model's training file.")
    cost = None
    if tuned is not None:
        cost = tuned.training_cost if tuned.training_cost is not None else request.training_cost
    judge = None
    if request.judge:
        judge = JudgeSetup(
            judge_runner(request, provider), judge_estimate(request, eval_set, provider)
        )
    return Evaluation(
        request,
        provider,
        eval_set,
        base,
        tuned.runner if tuned is not None else None,
        cost,
        judge,
        current,
    )


__all__ = [
    "OUTPUT_FOLDERS",
    "EvalRequest",
    "Evaluation",
    "JudgeSetup",
    "RunData",
    "TrainedOutput",
    "Tuned",
    "UsageProblem",
    "current_model",
    "default_judge_provider",
    "guess_provider",
    "held_out_problem",
    "judge_estimate",
    "judge_provider",
    "judge_runner",
    "load_set",
    "prepare",
    "run_data",
    "trained_output",
    "training_cost",
    "tuned_model",
]
