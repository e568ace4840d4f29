"""The worker's command line: plain ``python -m`` on one device, ``accelerate launch`` on several.

Several GPUs always go through ``accelerate launch`` with one process per GPU
(never a home-made launcher). A config file is passed through: an accelerate
YAML with ``--config_file`` (it may describe DeepSpeed or FSDP), a DeepSpeed
JSON with ``--use_deepspeed --deepspeed_config_file``.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from backends.local.settings import LocalSettings
from backends.processes import python_module_argv

WORKER_MODULE = "backends.local.worker"
ACCELERATE_LAUNCH = "accelerate.commands.launch"


def free_port() -> int:
    """A TCP port nobody listens on now (for the processes' rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_argv(run_dir: Path, settings: LocalSettings, *, port: int | None = None) -> list[str]:
    """The command that trains ``run_dir`` with ``settings``."""
    target = str(Path(run_dir).resolve())
    config = settings.accelerate_config
    if settings.gpus <= 1 and not config:
        return python_module_argv(WORKER_MODULE, target)
    argv = [sys.executable, "-m", ACCELERATE_LAUNCH]
    if config and Path(config).suffix.lower() == ".json":
        argv += ["--use_deepspeed", "--deepspeed_config_file", str(Path(config).resolve())]
    elif config:
        argv += ["--config_file", str(Path(config).resolve())]
    elif settings.gpus > 1:
        argv += ["--multi_gpu"]
    argv += [
        "--num_processes",
        str(max(1, settings.gpus)),
        "--num_machines",
        "1",
        "--main_process_port",
        str(port if port is not None else free_port()),
        "--module",
        WORKER_MODULE,
        target,
    ]
    return argv


def worker_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Ours, plus ``backends`` importable, unbuffered output and no progress bars in ``log.txt``."""
    from backends.processes import importable_env

    env = importable_env(base)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    env.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    return env
