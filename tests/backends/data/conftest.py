"""Fixtures for the dataset-inspection tests (offline and tiktoken's seeded cache: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backends.data.tokenizer import load_encoding


@pytest.fixture
def fresh_encodings() -> Iterator[None]:
    """For tests that change the tokenizer environment: no cached loaders in or out."""
    load_encoding.cache_clear()
    yield
    load_encoding.cache_clear()
