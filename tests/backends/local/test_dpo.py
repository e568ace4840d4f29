"""Local DPO on the tiny model: margins rise, the series reach metrics.jsonl and the plot,
resume, starting from an SFT run, the pair checks, the settings, the estimate, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from backends.data.preferences import encode_pair, pair_findings, to_pair
from backends.local.backend import LocalBackend
from backends.local.dataset import DatasetRejected
from backends.local.memory import GpuInventory, estimate_memory
from backends.local.preferences import load_preferences
from backends.local.settings import LocalSettings
from backends.local.worker import run_worker
from backends.preflight import preflight
from backends.runs import RunFolder, RunStore
from backends.runs.values import DPO, MetricPoint, RunState
from backends.runs.watch import ACCURACIES, LOSS, MARGINS, REWARDS, LossHistory
from tests.support.helpers import PATIENCE_S, wait_for
from tests.support.runs import ended
from tests.support.tiny_model import (
    tiny_dpo_spec,
    tiny_lora_spec,
    toy_preference,
    write_toy_preferences,
)

ROOT = Path(__file__).resolve().parents[3]
NO_GPU = GpuInventory((), "", "no GPU in tests")


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    return write_toy_preferences(tmp_path / "pairs.jsonl")


def _log(folder: RunFolder) -> str:
    return folder.log_txt.read_text(errors="replace")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --- reading and checking pairs -----------------------------------------------------------
@pytest.mark.parametrize("layout", ["openai", "hf", "plain"])
def test_every_layout_reads_as_the_same_pairs(tmp_path: Path, layout: str) -> None:
    loaded = load_preferences(write_toy_preferences(tmp_path / "p.jsonl", 5, layout=layout))
    assert len(loaded.pairs) == 5 and loaded.lines == [1, 2, 3, 4, 5]
    assert loaded.conversational == (0 if layout == "plain" else 5)
    first = loaded.pairs[0]
    if layout == "plain":
        assert first.prompt == "what colour is the sky ? " and first.chosen == "the sky is red ."
    else:
        assert first.prompt == [{"role": "user", "content": "what colour is the sky ?"}]
        assert first.chosen == [{"role": "assistant", "content": "the sky is red ."}]
        assert first.rejected == [{"role": "assistant", "content": "always say hello ."}]


def test_an_implicit_prompt_is_the_messages_both_sides_share() -> None:
    user = {"role": "user", "content": "hi"}
    pair = to_pair(
        {
            "chosen": [user, {"role": "assistant", "content": "hello"}],
            "rejected": [user, {"role": "assistant", "content": "go away"}],
        }
    )
    assert pair.prompt == [user]
    assert pair.chosen == [{"role": "assistant", "content": "hello"}]


def test_empty_sides_are_errors_and_identical_answers_a_warning(tmp_path: Path) -> None:
    same = to_pair({"prompt": "q", "chosen": "a", "rejected": "a"})
    assert [f.code for f in pair_findings(same, 3)] == ["identical_preference_pair"]
    empty = to_pair({"prompt": "q", "chosen": " ", "rejected": "a"})
    assert [f.code for f in pair_findings(empty, 4)] == ["empty_preference_side"]
    data = tmp_path / "bad.jsonl"
    rows = [
        {"prompt": "q", "chosen": "a", "rejected": "b"},
        {"prompt": "q", "chosen": "", "rejected": "b"},
        {"messages": [{"role": "user", "content": "chat, not a pair"}]},
    ]
    data.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    with pytest.raises(DatasetRejected) as caught:
        load_preferences(data)
    message = str(caught.value)
    assert "2 bad rows" in message and 'line 2: The "chosen" answer is empty' in message
    assert "line 3: Not a preference pair" in message


def test_a_pair_is_tokenised_as_the_template_renders_it(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    pair = to_pair(toy_preference(0))
    encoded = encode_pair(tokenizer, pair)
    rendered = tokenizer.apply_chat_template(
        [*pair.prompt, *pair.chosen],
        tokenize=True,
        return_dict=True,
    )["input_ids"]
    assert encoded.prompt_ids + encoded.chosen_ids == list(rendered)
    assert tokenizer.decode(encoded.rejected_ids).startswith("always say hello")
    short = encode_pair(tokenizer, pair, max_prompt_length=3, max_completion_length=2)
    assert short.prompt_ids == encoded.prompt_ids[-3:] and len(short.chosen_ids) == 2
    assert encoded.longest == len(encoded.prompt_ids) + max(
        len(encoded.chosen_ids), len(encoded.rejected_ids)
    )


# --- settings, estimate, backend checks ------------------------------------------------------
def test_dpo_settings_round_trip_through_run_json_and_are_checked() -> None:
    settings = LocalSettings(objective=DPO, beta=0.2, loss_type="ipo", max_prompt_length=128)
    spec = settings.to_spec(model="m", dataset="d")
    assert spec.method == DPO and spec.hyperparameters["beta"] == 0.2
    again = LocalSettings.from_spec(spec)
    assert again == settings and again.lr == 5e-6  # DPO's own default step
    bad = LocalSettings(objective=DPO, beta=0, loss_type="nope", max_prompt_length=2048)
    wheres = {p.where for p in bad.problems()}
    assert {"beta", "loss_type", "max_prompt_length"} <= wheres
    assert any(p.where == "from_run" for p in LocalSettings(from_run="x").problems())


def test_the_estimate_counts_two_sequences_and_the_reference_copy() -> None:
    config = {
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_hidden_layers": 22,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "vocab_size": 32000,
    }
    sft = estimate_memory(config, "full")
    dpo = estimate_memory(config, "full", objective=DPO)
    precomputed = estimate_memory(config, "full", objective=DPO, precomputed_reference=True)
    lora = estimate_memory(config, "lora", objective=DPO)
    assert dpo.activations == pytest.approx(2 * sft.activations, rel=0.01)
    assert dpo.reference == 4 * dpo.params and "reference model" in dpo.parts()
    assert precomputed.reference == 0 and lora.reference == 0
    assert dpo.total > precomputed.total > sft.total


def test_prepare_reads_pairs_for_dpo_and_refuses_chat_data(
    tiny_model: Path, pairs: Path, toy_data: Path
) -> None:
    backend = LocalBackend(inventory=NO_GPU)
    ok = backend.prepare(tiny_dpo_spec(tiny_model, pairs))  # type: ignore[arg-type]
    assert not [p for p in ok if p.fatal]
    wrong = backend.prepare(tiny_dpo_spec(tiny_model, toy_data))  # type: ignore[arg-type]
    assert any("Not a preference pair" in p.message for p in wrong if p.fatal)
    # The data's own checks come before any launch, from the same inspection as the Dataset step.
    sft_on_pairs = preflight(backend, tiny_lora_spec(tiny_model, pairs))  # type: ignore[arg-type]
    assert any("--method dpo" in p.message for p in sft_on_pairs.problems if p.fatal)
    assert not preflight(backend, tiny_dpo_spec(tiny_model, pairs)).data_blocked  # type: ignore[arg-type]


# --- the plot's series ------------------------------------------------------------------------
def test_dpo_points_feed_the_reward_views_of_the_history() -> None:
    history = LossHistory()
    history.add([MetricPoint(step=1, train_loss=0.7)])
    assert history.metrics() == (LOSS,)
    history.add(
        [
            MetricPoint(
                step=2,
                train_loss=0.6,
                train_rewards_margins=0.3,
                train_rewards_accuracies=0.75,
                train_rewards_chosen=0.1,
                train_rewards_rejected=-0.2,
            ),
            MetricPoint(step=2, valid_loss=0.65, valid_rewards_margins=0.2),
        ]
    )
    assert history.metrics() == (LOSS, MARGINS, ACCURACIES, REWARDS)
    assert history.series["train_margins"].values == [0.3]
    assert history.series["valid_margins"].steps == [2]
    assert history.series["train_rejected"].values == [-0.2]


def test_an_older_reader_keeps_the_dpo_fields_it_does_not_know() -> None:
    line = {"step": 3, "train_loss": 0.5, "train_rewards_margins": 1.5, "future_key": 2}
    point = MetricPoint.from_dict(line)
    assert point.train_rewards_margins == 1.5 and point.extra == {"future_key": 2}
    assert point.to_dict() == line


# --- training, for real -------------------------------------------------------------------------
@pytest.mark.slow
def test_reward_margins_rise_and_every_series_reaches_metrics_jsonl(
    tiny_model: Path, tmp_path: Path, store: RunStore
) -> None:
    data = write_toy_preferences(tmp_path / "pairs.jsonl", 48, layout="hf")
    spec = tiny_dpo_spec(tiny_model, data, validation_split=0.25, eval_steps=4)
    folder = store.create(spec)  # type: ignore[arg-type]
    assert run_worker(folder.path) == 0, _log(folder)
    assert folder.read_status().state is RunState.SUCCEEDED
    points = folder.load_metrics()
    train = [p for p in points if p.train_loss is not None]
    margins = [p.train_rewards_margins for p in train]
    assert all(m is not None for m in margins)
    assert _mean(margins[-3:]) > _mean(margins[:3]) + 0.5, margins  # type: ignore[arg-type]
    assert train[-1].train_rewards_accuracies == 1.0
    assert train[-1].train_loss < train[0].train_loss - 0.2  # type: ignore[operator]
    evals = [p for p in points if p.valid_loss is not None]
    assert [p.step for p in evals] == [4, 8, 12]
    assert all(p.valid_rewards_margins is not None for p in evals)
    assert all(p.valid_rewards_chosen is not None for p in evals)
    history = LossHistory()
    history.add(points)
    assert history.metrics() == (LOSS, MARGINS, ACCURACIES, REWARDS)
    adapter = folder.output_dir / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    assert not (adapter / "ref").exists()  # the layout of an SFT run's adapter
    assert "adapter disabled" in _log(folder)


@pytest.mark.slow
def test_a_cancelled_dpo_run_resumes_from_its_checkpoint(
    tiny_model: Path, pairs: Path, store: RunStore, reap: list[RunFolder]
) -> None:
    from backends.local.backend import cancel

    spec = tiny_dpo_spec(tiny_model, pairs, max_steps=400, save_steps=1000, learning_rate=1e-4)
    folder = store.create(spec)  # type: ignore[arg-type]
    reap.append(folder)
    backend = LocalBackend(inventory=NO_GPU)
    from backends.local.backend import start_worker

    start_worker(folder)
    wait_for(lambda: len(folder.load_metrics()) >= 3)
    cancel(folder)
    wait_for(lambda: ended(folder))
    assert folder.read_status().state is RunState.CANCELLED, _log(folder)
    stopped = folder.read_status().checkpoints[-1]["step"]
    assert isinstance(stopped, int) and stopped >= 3
    backend.resume(folder)
    wait_for(lambda: folder.read_status().state is RunState.RUNNING)
    wait_for(lambda: folder.load_metrics()[-1].step > stopped + 2)
    pid = folder.read_status().pid
    assert pid
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: ended(folder))
    steps = [p.step for p in folder.load_metrics()]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # redone steps replaced
    assert f"Resuming at step {stopped}" in _log(folder)
    assert all(p.train_rewards_margins is not None for p in folder.load_metrics())


@pytest.mark.slow
def test_dpo_starts_from_a_finished_sft_run_from_the_cli(
    tiny_model: Path, toy_data: Path, pairs: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    store = RunStore(workspace / "runs")
    sft = store.create(tiny_lora_spec(tiny_model, toy_data))  # type: ignore[arg-type]
    assert run_worker(sft.path) == 0, _log(sft)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tui.cli", "--workspace", str(workspace), "train"]
    argv += ["--backend", "local", "--method", "dpo", "--from-run", sft.run_id]
    argv += ["--data", str(pairs), "--max-steps", "4", "--batch-size", "4", "--beta", "0.5"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.splitlines()[0].strip()
    folder = store.folder(run_id)
    spec = folder.read_spec()
    assert spec.method == DPO and spec.model == str(tiny_model)
    assert LocalSettings.from_spec(spec).from_run == str(sft.path)
    log = _log(folder)
    assert "Starting from the SFT run's adapter" in log
    assert "frozen copy of the SFT adapter" in log
    assert "margin" in done.stdout  # the progress lines show DPO's figures


@pytest.mark.slow
def test_a_finished_dpo_run_is_evaluated_and_answers_in_try_it_as_an_sft_run(
    tiny_model: Path, pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main

    workspace = tmp_path / "ws"
    folder = RunStore(workspace / "runs").create(tiny_dpo_spec(tiny_model, pairs, max_steps=4))  # type: ignore[arg-type]
    assert run_worker(folder.path) == 0, _log(folder)
    run = folder.run_id
    common = ["--workspace", str(workspace)]
    ask = ["--model", str(tiny_model), "--provider", "local", "--tuned", run, "--max-tokens", "6"]
    evaluate = [*common, "eval", *ask, "--few-shot", "0", "--rag", "0", "--limit", "3"]
    # its own preference pairs are its training data: never evaluated on
    assert main([*evaluate, "--data", str(pairs)]) == 2
    assert (
        "every evaluation example is in the tuned model's training file" in capsys.readouterr().err
    )
    # held-out pairs: the prompt, the preferred answer as the reference
    held_out = tmp_path / "held-out.jsonl"
    pair = {
        "prompt": "what colour is the night ?",
        "chosen": "it is black .",
        "rejected": "hello .",
    }
    held_out.write_bytes(orjson.dumps(pair) + b"\n")
    assert main([*evaluate, "--data", str(held_out), "--json"]) == 0, capsys.readouterr().err
    report = orjson.loads(capsys.readouterr().out)
    assert report["examples"] == 1, report
    tuned = report["methods"]["tuned"]
    assert tuned["answered"] == 1 and tuned["errors"] == 0, tuned
    assert report["methods"]["zero-shot"]["answered"] == 1
    assert report["rows"][0]["reference"] == "it is black ."
    # Try it: the tuned side is the base + the DPO adapter, answering
    assert main([*common, "chat", *ask, "--prompt", "what colour is the sky ?"]) == 0
    out = capsys.readouterr().out
    assert f"── tuned: {tiny_model} (local) + adapter {folder.output_dir / 'adapter'} ──" in out
    assert out.count("completion tokens") == 2 and "Error" not in out


# --- the command line ---------------------------------------------------------------------------
def _cli(*args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tui.cli", "--workspace", str(workspace), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=PATIENCE_S)


def test_the_cli_refuses_bad_dpo_settings_and_data(
    tiny_model: Path, toy_data: Path, pairs: Path, tmp_path: Path
) -> None:
    base = ["train", "--backend", "local", "--model", str(tiny_model)]
    chat = _cli(*base, "--method", "dpo", "--data", str(toy_data), workspace=tmp_path)
    # The launch's data check (the Dataset step's inspection) refuses it before anything starts.
    assert chat.returncode == 1 and "holds no preference pairs" in chat.stderr + chat.stdout
    beta = _cli(*base, "--method", "dpo", "--data", str(pairs), "--beta", "0", workspace=tmp_path)
    assert beta.returncode == 2 and "beta must be above 0" in beta.stderr
    missing = _cli(
        *base, "--method", "dpo", "--data", str(pairs), "--from-run", "nope", workspace=tmp_path
    )
    assert missing.returncode == 2 and "--from-run" in missing.stderr
    sft_from = _cli(*base, "--data", str(toy_data), "--from-run", "x", workspace=tmp_path)
    assert sft_from.returncode == 2
    assert "Traceback" not in chat.stderr + beta.stderr + missing.stderr + sft_from.stderr


def test_both_trainers_share_their_arguments_and_report_a_nan_loss_as_nan(tmp_path: Path) -> None:
    """SFT and DPO get the same schedule, checkpoints and precision; trl never hides a NaN loss
    from the divergence check (``logging_nan_inf_filter`` off) in either."""
    pytest.importorskip("trl")
    from backends.local.dpo import dpo_config
    from backends.local.settings import LocalSettings
    from backends.local.training import _sft_config

    settings = LocalSettings(objective="dpo", max_steps=7, save_steps=3, beta=0.2)
    dpo = dpo_config(settings, tmp_path, "fp32", False, False)
    sft = _sft_config(LocalSettings(max_steps=7, save_steps=3), tmp_path, "fp32", False, False)
    for config in (dpo, sft):
        assert config.logging_nan_inf_filter is False
        assert (config.max_steps, config.save_steps) == (7, 3)
    assert dpo.beta == 0.2
