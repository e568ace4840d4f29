"""Dataset inspection: reading, format checks, token figures, conversion, samples.

Nothing here imports Textual: the Dataset screen and ``finetune-tui inspect``
both call ``inspect_file`` / ``inspect_records`` and render the
``DatasetReport`` they return.
"""

from backends.data.findings import CHECKS, Finding, FindingGroup, Severity
from backends.data.formats import DataFormat, detect_format, to_chat
from backends.data.inspector import (
    InspectOptions,
    inspect_file,
    inspect_records,
    inspect_with_validation,
)
from backends.data.report import DatasetReport

__all__ = [
    "CHECKS",
    "DataFormat",
    "DatasetReport",
    "Finding",
    "FindingGroup",
    "InspectOptions",
    "Severity",
    "detect_format",
    "inspect_file",
    "inspect_records",
    "inspect_with_validation",
    "to_chat",
]
