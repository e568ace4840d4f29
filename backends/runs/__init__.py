"""Everything about runs: the run folder and the store of them (``store``), the values a run is
made of (``values``), ``status.json`` (``status``), run ids, tailing the append-only files, the
live watch of one run, the table of all runs, the figures a viewer shows, and the analysis of a
loss curve (``metrics``).

The names most callers need are here; the rest live in their module.
"""

from backends.runs.status import RunStatus
from backends.runs.store import RunFolder, RunStore, format_log_line, make_run_id, model_slug
from backends.runs.values import AUTO, DPO, SUPERVISED, MetricPoint, RunResult, RunSpec, RunState

__all__ = [
    "AUTO",
    "DPO",
    "SUPERVISED",
    "MetricPoint",
    "RunFolder",
    "RunResult",
    "RunSpec",
    "RunState",
    "RunStatus",
    "RunStore",
    "format_log_line",
    "make_run_id",
    "model_slug",
]
