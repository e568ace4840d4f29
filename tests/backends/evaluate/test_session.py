"""``backends.evaluate.session``: compare, then judge, with progress by phase and a cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from backends.evaluate import session
from backends.evaluate.compare import TUNED, ZERO_SHOT
from backends.evaluate.judge_cost import estimate_judge_cost
from backends.evaluate.prompts import load_eval_set
from backends.evaluate.request import EvalRequest
from backends.evaluate.runners import Generation, Request, ResultCallback, Runner
from backends.evaluate.setup import Evaluation, JudgeSetup
from backends.evaluate.wording import benefit_lines, summary_lines
from tests.support.data_files import write_jsonl
from tests.support.evaluate import qa


class FakeRunner(Runner):
    """Answers every request with ``answer(request)``, here and at once."""

    def __init__(self, model: str, answer: Callable[[Request], str]) -> None:
        self.model = self.label = model
        self.answer = answer
        self.asked = 0

    def run(
        self,
        requests: Sequence[Request],
        *,
        cancel: threading.Event | None = None,
        on_result: ResultCallback | None = None,
    ) -> list[Generation | None]:
        results: list[Generation | None] = []
        for request in requests:
            if cancel is not None and cancel.is_set():
                results.append(None)
                continue
            self.asked += 1
            generation = Generation(
                request.key, self.answer(request), prompt_tokens=10, completion_tokens=2
            )
            results.append(generation)
            if on_result is not None:
                on_result(generation)
        return results


def right(request: Request) -> str:
    question = str(request.messages[-1]["content"])
    return str(2 * int(question.split()[2].rstrip("?")))


def evaluation(tmp_path: Path, *, judge: bool) -> tuple[Evaluation, FakeRunner]:
    data = write_jsonl(tmp_path / "eval.jsonl", [qa(i) for i in range(100, 104)])
    eval_set = load_eval_set(data)
    request = EvalRequest(data=str(data), model="base", few_shot=0, rag=0, tuned="tuned")
    grader = FakeRunner("grader", lambda request: '{"score": 4}')
    setup = None
    if judge:
        estimate = estimate_judge_cost(eval_set.examples, 2, "grader", count=len)
        setup = JudgeSetup(grader, estimate)
    base = FakeRunner("base", lambda request: "no idea")
    tuned = FakeRunner("tuned", right)
    return Evaluation(request, "local", eval_set, base, tuned, 12.0, setup), grader


def test_compare_then_judge(tmp_path: Path) -> None:
    prepared, grader = evaluation(tmp_path, judge=True)
    seen: list[tuple[int, int, str]] = []
    comparison = session.run(prepared, progress=lambda *event: seen.append(event))
    assert list(comparison.methods) == [ZERO_SHOT, TUNED]
    assert comparison.methods[TUNED].scores["exact_match"].mean == 1.0
    assert comparison.methods[ZERO_SHOT].scores["exact_match"].mean == 0.0
    assert comparison.judge is not None and comparison.judge.judged == 8
    assert comparison.methods[TUNED].scores["judge"].mean == 4.0
    assert grader.asked == 8
    phases = [phase for _, _, phase in seen]
    assert phases == [session.REQUESTS] * 8 + [session.JUDGED] * 8
    assert seen[-1] == (8, 8, session.JUDGED)
    assert not comparison.cancelled
    lines = benefit_lines(comparison, 8)
    assert lines[0].startswith("Quality gain (token F1): +")
    assert any(line.startswith("Judge: grader, rubric v1, 8 of 8") for line in lines)
    assert summary_lines(comparison)[0].startswith("Quality gain (token F1): +")


def test_no_judge_means_compare_only(tmp_path: Path) -> None:
    prepared, grader = evaluation(tmp_path, judge=False)
    comparison = session.run(prepared)
    assert comparison.judge is None and grader.asked == 0
    assert comparison.benefit is not None and comparison.benefit.training_cost == 12.0


def test_a_cancel_keeps_what_finished_and_skips_the_judge(tmp_path: Path) -> None:
    prepared, grader = evaluation(tmp_path, judge=True)
    cancel = threading.Event()

    def progress(done: int, total: int, phase: str) -> None:
        if done == 3:
            cancel.set()

    comparison = session.run(prepared, cancel=cancel, progress=progress)
    assert comparison.cancelled
    assert sum(r.answered for r in comparison.methods.values()) == 3
    assert comparison.judge is None and grader.asked == 0
    assert (
        benefit_lines(comparison, 8)[-1] == "Stopped: partial results (3 of 8 requests answered)."
    )
    assert summary_lines(comparison)[-1] == "Interrupted: partial results."
