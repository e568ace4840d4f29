"""Every check code is exercised by at least one test (found by name in the test files)."""

from __future__ import annotations

from pathlib import Path

from backends.data import CHECKS


def test_every_check_code_has_a_test():
    here = Path(__file__)
    sources = "\n".join(p.read_text() for p in here.parent.glob("test_data_*.py") if p != here)
    missing = sorted(code for code in CHECKS if f'"{code}"' not in sources)
    assert not missing, f"check codes without a test: {missing}"
