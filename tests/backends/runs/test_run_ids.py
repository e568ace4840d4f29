"""A run id is a plain name inside ``runs/``: the store refuses anything else, with the reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends.runs.ids import run_id_problem
from backends.runs.store import RunIdRefused, RunStore
from tests.support.runs import local_spec, store_at


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return store_at(tmp_path / "ws")


def test_names_that_cannot_be_run_ids() -> None:
    assert run_id_problem("20261124-0312-gpt-4o-mini-ab12") is None
    for name in ("", " ", "..", ".", "a/b", "a\\b", ".hidden", "x\x1b[2J"):
        assert run_id_problem(name), name


@pytest.mark.parametrize("name", ["", "..", "../runs", " "])
def test_find_refuses_empty_and_dot_dot(store: RunStore, name: str) -> None:
    store.create(local_spec())  # the only run: an empty name must not pick it
    with pytest.raises(RunIdRefused):
        store.find(name)


def test_find_refuses_paths_out_of_runs(store: RunStore, tmp_path: Path) -> None:
    folder = store.create(local_spec())
    with pytest.raises(RunIdRefused, match=r"'\.\.'"):
        store.find(f"../runs/{folder.run_id}")
    with pytest.raises(KeyError, match="No run"):
        store.find("a/b")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(KeyError, match="not a run folder"):
        store.find(str(elsewhere))
    assert store.find(str(folder.path)) == folder  # its own folder is fine


def test_a_link_out_of_runs_is_refused_and_left_out_of_the_list(
    store: RunStore, tmp_path: Path
) -> None:
    inside = store.create(local_spec())
    outside = store_at(tmp_path / "other").create(local_spec())
    link = store.root / "20990101-0000-evil-ffff"
    os.symlink(outside.path, link)
    assert [f.run_id for f in store.list_folders()] == [inside.run_id]
    assert len(store.skipped) == 1 and "outside" in store.skipped[0]
    with pytest.raises(RunIdRefused, match="outside"):
        store.find(link.name)
    with pytest.raises(KeyError, match="No run"):
        store.find("20990101-0000-evil")  # a prefix of it: the link is not a candidate
    (store.root / "alias").symlink_to(inside.path)  # a link that stays inside is a run
    assert store.find("alias").path.resolve() == inside.path.resolve()
