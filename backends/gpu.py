"""GPU utilisation and memory, when this machine can say: NVML first, else ``nvidia-smi``.

No GPU, no driver, no tool: ``read_gpus`` returns an empty list and a viewer
shows nothing. Never a made-up figure.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from dataclasses import dataclass

_QUERY = "index,name,utilization.gpu,memory.used,memory.total"


@dataclass(frozen=True)
class GpuReading:
    index: int
    name: str
    utilization_pct: float | None
    memory_used_mib: float
    memory_total_mib: float

    def describe(self) -> str:
        util = "—" if self.utilization_pct is None else f"{self.utilization_pct:.0f}%"
        used, total = self.memory_used_mib / 1024, self.memory_total_mib / 1024
        return f"GPU{self.index} {util}  {used:.1f}/{total:.0f} GiB"


def _read_nvml() -> list[GpuReading] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        readings = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                util: float | None = float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except Exception:
                util = None
            readings.append(
                GpuReading(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    utilization_pct=util,
                    memory_used_mib=memory.used / 2**20,
                    memory_total_mib=memory.total / 2**20,
                )
            )
        return readings
    except Exception:
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def parse_nvidia_smi(output: str) -> list[GpuReading]:
    """Rows of ``nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total
    --format=csv,noheader,nounits``; rows that do not parse are left out."""
    readings = []
    for line in output.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 5:
            continue
        index, used, total = _number(parts[0]), _number(parts[3]), _number(parts[4])
        if index is None or used is None or total is None:
            continue
        readings.append(GpuReading(int(index), parts[1], _number(parts[2]), used, total))
    return readings


def _read_nvidia_smi(timeout: float) -> list[GpuReading]:
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return []
    try:
        done = subprocess.run(
            [tool, f"--query-gpu={_QUERY}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else []


def read_gpus(*, timeout: float = 2.0) -> list[GpuReading]:
    """The GPUs of this machine as they are now; empty when none can be read."""
    readings = _read_nvml()
    if readings is not None:
        return readings
    return _read_nvidia_smi(timeout)
