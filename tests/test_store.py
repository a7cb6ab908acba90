"""The Parquet store of finished runs, used directly: what `open` keeps, converts and reports,
what `runs` returns and in which order, how chunks are named and counted (the behaviour a
sweep's resume rests on; the damage it refuses is in test_folder_damage)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from xorlab.errors import ResultsError
from xorlab.storage.store import RunStore, shard_runs, shard_sequence
from xorlab.training.config import RunConfig
from xorlab.training.engine import train_batch

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def trained() -> list:
    """Six short runs of two hidden sizes (seeds 0-5: hidden 2 for even seeds, 3 for odd)."""
    configs = [RunConfig(seed=s, hidden=2 + s % 2, epochs=30, log_every=10) for s in range(6)]
    results = {}
    for hidden in (2, 3):
        batch = [c for c in configs if c.hidden == hidden]
        results.update(zip([c.seed for c in batch], train_batch(batch)))
    return [results[s] for s in range(6)]


def test_chunks_are_numbered_in_order_and_named_by_their_run_count(tmp_path, trained) -> None:
    store = RunStore(tmp_path)
    assert store.open() == {} and store.next_sequence == 0
    store.append(trained[:4])
    store.append([])  # nothing to store: no shard, no number used
    store.append(trained[4:])
    names = [p.name for p in store.shard_files()]
    assert names == ["000000-4.parquet", "000001-2.parquet"]
    assert [shard_runs(p) for p in store.shard_files()] == [4, 2]
    assert [shard_sequence(p) for p in store.shard_files()] == [0, 1]
    assert sorted(p.name for p in (tmp_path / "curves.parquet").iterdir()) == names
    assert store.stored_since(0) == 6 and store.stored_since(1) == 2 and store.stored_since(2) == 0
    reopened = RunStore(tmp_path)
    statuses = reopened.open()
    assert statuses == {r.run_id: r.status for r in trained}
    assert reopened.next_sequence == 2 and reopened.problems == []
    assert reopened.read_seconds > 0


def test_runs_come_back_in_the_asked_order_only_those_asked(tmp_path, trained) -> None:
    store = RunStore(tmp_path)
    store.open()
    appended = [store.append(trained[:3]), store.append(trained[3:])]
    asked = [trained[5].run_id, trained[0].run_id, "not-a-run-id", trained[3].run_id]
    runs = store.runs(asked)
    assert list(runs["run_id"]) == [trained[5].run_id, trained[0].run_id, trained[3].run_id]
    assert list(runs["seed"]) == [5, 0, 3]
    assert list(runs["hidden"]) == [3, 2, 3]
    # from the tables `append` returned: the same frame, without reading the shards
    fast = store.runs([r.run_id for r in trained], appended)
    slow = store.runs([r.run_id for r in trained])
    assert fast.equals(slow) and list(slow["seed"]) == list(range(6))
    assert store.runs([]).empty


def test_a_run_stored_twice_counts_as_its_later_record(tmp_path, trained) -> None:
    """A failed run trained again: the later shard's row is the one `runs` and `open` give."""
    from dataclasses import replace

    store = RunStore(tmp_path)
    store.open()
    failed = replace(trained[1], status="failed", error="boom")
    store.append([trained[0], failed])
    store.append([trained[1]])
    runs = store.runs([trained[0].run_id, trained[1].run_id])
    assert list(runs["status"]) == [trained[0].status, trained[1].status]
    assert len(runs) == 2
    assert RunStore(tmp_path).open()[trained[1].run_id] == trained[1].status


def test_an_orphan_curves_file_is_deleted_and_numbering_goes_on(tmp_path, trained) -> None:
    """A kill between a chunk's curves and its shard leaves curves without a shard: `open`
    deletes them, keeps the others, and numbers the next chunk after the last shard."""
    store = RunStore(tmp_path)
    store.open()
    store.append(trained[:2])
    store.append(trained[2:4])
    (tmp_path / "shards" / "000001-2.parquet").unlink()  # the shard never written
    reopened = RunStore(tmp_path)
    assert set(reopened.open()) == {r.run_id for r in trained[:2]}
    assert [p.name for p in (tmp_path / "curves.parquet").iterdir()] == ["000000-2.parquet"]
    assert reopened.next_sequence == 1
    reopened.append(trained[2:])
    assert [p.name for p in reopened.shard_files()] == ["000000-2.parquet", "000001-4.parquet"]


def test_a_journal_converts_in_batches_and_is_deleted(tmp_path) -> None:
    """0.2's journal becomes shards of `batch` records (the last one shorter), in its order,
    with every record and curve; the journal and curves.csv go; the marker too."""
    folder = shutil.copytree(FIXTURES / "release02", tmp_path / "old")
    lines = (folder / "journal.jsonl").read_text().splitlines()
    ids = [json.loads(line)["run_id"] for line in lines]
    store = RunStore(folder)
    store._convert_journal(batch=5)
    sizes = [shard_runs(p) for p in store.shard_files()]
    assert sizes == [5] * (len(ids) // 5) + ([len(ids) % 5] if len(ids) % 5 else [])
    assert [shard_sequence(p) for p in store.shard_files()] == list(range(len(sizes)))
    stored = [i for p in store.shard_files() for i in pq.read_table(p)["run_id"].to_pylist()]
    assert stored == ids
    assert not (folder / "journal.jsonl").exists() and not (folder / "curves.csv").exists()
    statuses = RunStore(folder).open()
    assert set(statuses) == set(ids)
    assert not (folder / "shards.converting").exists()
    assert not list(folder.glob("shards.rejected"))


def test_a_conversion_cut_short_is_done_again_over_the_same_names(tmp_path) -> None:
    """A kill half way through a conversion leaves the journal, the marker and some shards:
    `open` converts again from the start, replacing those shards (not refusing them as the
    shards of a later release)."""
    folder = shutil.copytree(FIXTURES / "release02", tmp_path / "old")
    ids = [json.loads(x)["run_id"] for x in (folder / "journal.jsonl").read_text().splitlines()]
    RunStore(folder)._convert_journal(batch=3)
    shutil.copy(FIXTURES / "release02" / "journal.jsonl", folder / "journal.jsonl")
    (folder / "shards.converting").touch()
    extra = folder / "shards" / "000099-3.parquet"  # a stale shard of the cut conversion
    shutil.copy(next((folder / "shards").iterdir()), extra)
    store = RunStore(folder)
    assert set(store.open()) == set(ids)
    assert not extra.exists() and not (folder / "journal.jsonl").exists()
    assert [shard_sequence(p) for p in store.shard_files()] == [0]
    assert store.next_sequence == 1 and store.problems == []


def test_a_journal_beside_shards_is_refused_and_nothing_changes(tmp_path, trained) -> None:
    store = RunStore(tmp_path)
    store.open()
    store.append(trained)
    shutil.copy(FIXTURES / "release02" / "journal.jsonl", tmp_path / "journal.jsonl")
    before = sorted(p.name for p in (tmp_path / "shards").iterdir())
    with pytest.raises(
        ResultsError, match="a journal of xorlab 0.1 or 0.2 beside the shards"
    ) as error:
        RunStore(tmp_path).open()
    assert str(error.value).endswith(
        "move the journal out of this folder (the shards hold its runs)"
    )
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == before
    assert (tmp_path / "journal.jsonl").exists()


@pytest.mark.parametrize("name", ["shards", "curves.parquet"])
def test_a_file_where_the_store_needs_a_folder_is_refused(tmp_path, name) -> None:
    (tmp_path / name).write_text("x")
    with pytest.raises(ResultsError, match=f"{name} is a file; the store needs that name"):
        RunStore(tmp_path).open()


def test_a_rejected_shard_goes_aside_with_its_curves_and_is_named_once(tmp_path, trained) -> None:
    store = RunStore(tmp_path)
    store.open()
    store.append(trained[:3])
    store.append(trained[3:])
    (tmp_path / "shards" / "000000-3.parquet").write_bytes(b"not parquet")
    reopened = RunStore(tmp_path)
    assert set(reopened.open()) == {r.run_id for r in trained[3:]}
    aside = tmp_path / "shards.rejected"
    assert sorted(p.name for p in aside.iterdir()) == [
        "000000-3.parquet",
        "curves-000000-3.parquet",
    ]
    assert len(reopened.problems) == 1
    problem = reopened.problems[0]
    assert problem.startswith(f"{tmp_path / 'shards' / '000000-3.parquet'}: dropped (not readable")
    assert problem.endswith("its runs will be trained again (the file is kept in shards.rejected/)")
    assert reopened.next_sequence == 2  # the rejected number is not used again


def test_a_shard_unreadable_after_open_is_one_clear_error(tmp_path, trained) -> None:
    store = RunStore(tmp_path)
    store.open()
    store.append(trained)
    (tmp_path / "shards" / "000000-6.parquet").write_bytes(b"gone bad")
    with pytest.raises(ResultsError, match="a shard became unreadable"):
        store.runs([r.run_id for r in trained])


def test_what_the_store_keeps_of_each_run_and_of_a_failed_one(tmp_path, trained) -> None:
    """Every diagnosis field as the trainer gave it; a failed run (no curve) accepted as it
    is, with its error; a third chunk gets the third number."""
    from xorlab.storage.store import DIAGNOSIS
    from xorlab.training.result import failed_result

    failed = failed_result(RunConfig(seed=99, hidden=2, epochs=30, log_every=10), "boom")
    store = RunStore(tmp_path)
    store.open()
    store.append(trained[:2])
    store.append([failed])
    store.append(trained[2:])
    assert [shard_sequence(p) for p in store.shard_files()] == [0, 1, 2]
    runs = store.runs([r.run_id for r in trained] + [failed.run_id])
    for name in DIAGNOSIS:
        assert list(runs[name][:6]) == [getattr(r.diagnosis, name) for r in trained], name
    assert runs["status"].iloc[-1] == "failed" and runs["error"].iloc[-1] == "boom"
    reopened = RunStore(tmp_path)
    assert reopened.open()[failed.run_id] == "failed" and reopened.problems == []
    assert 0 < reopened.read_seconds < 60


def test_an_empty_store_has_no_runs_and_a_stray_file_is_not_a_shard(tmp_path, trained) -> None:
    store = RunStore(tmp_path)
    store.open()
    assert store.runs([trained[0].run_id]).empty
    store.append(trained[:2])
    (tmp_path / "shards" / "notes.parquet").write_bytes(b"x")  # not a shard's name
    reopened = RunStore(tmp_path)
    assert len(reopened.open()) == 2 and reopened.problems == []
    assert reopened.stored_since(0) == 2 and len(reopened.shard_files()) == 1


def _damage_curves(tmp_path: Path, trained, change) -> str:
    """Store two chunks, rewrite the first chunk's curves by `change` (a pyarrow Table to a
    Table, or bytes), reopen: the one problem reported."""
    import pyarrow as pa

    tmp_path.mkdir(exist_ok=True)
    store = RunStore(tmp_path)
    store.open()
    store.append(trained[:3])
    store.append(trained[3:])
    part = tmp_path / "curves.parquet" / "000000-3.parquet"
    changed = change(pq.read_table(part))
    if isinstance(changed, pa.Table):
        pq.write_table(changed, part)
    else:
        part.write_bytes(changed)
    reopened = RunStore(tmp_path)
    assert set(reopened.open()) == {r.run_id for r in trained[3:]}
    assert len(reopened.problems) == 1
    return reopened.problems[0].split(": dropped (", 1)[1].rsplit("); its runs", 1)[0]


def test_each_way_curves_can_disagree_with_their_shard_is_named(tmp_path, trained) -> None:
    import pyarrow.compute as pc

    first = trained[0].run_id
    points = len(trained[0].curve_epoch)
    cases = {
        "garbage": lambda t: b"PAR1 garbage",
        "columns": lambda t: t.drop_columns(["accuracy"]),
        "missing run": lambda t: t.filter(pc.not_equal(t["run_id"], first)),
        "extra run": lambda t: t.set_column(
            0, "run_id", pc.replace_substring(t["run_id"], first, "x" * 12)
        ),
    }
    expected = {
        "garbage": "its curves are not readable as Parquet: ",
        "columns": "its curves do not have the columns run_id, epoch, loss, accuracy",
        "missing run": f"its curves hold 0 points of run {first}, not {points}",
        "extra run": f"its curves hold 0 points of run {first}, not {points}",
    }
    for name, change in cases.items():
        folder = tmp_path / name.replace(" ", "-")
        problem = _damage_curves(folder, trained, change)
        assert problem.startswith(expected[name]), (name, problem)
        if name == "garbage":  # the reader's own words follow, on one line
            assert "Parquet magic bytes not found" in problem and "\n" not in problem


def test_curves_of_a_run_the_shard_does_not_hold_are_named(tmp_path, trained) -> None:
    import pyarrow as pa

    def add_a_stranger(table):
        stranger = table.slice(0, 1).set_column(0, "run_id", pa.array(["stranger1234"]))
        return pa.concat_tables([table, stranger])

    problem = _damage_curves(tmp_path, trained, add_a_stranger)
    assert problem == "its curves hold run 'stranger1234', which the shard does not"


def test_two_damaged_shards_both_go_aside_with_their_reasons(tmp_path, trained) -> None:
    store = RunStore(tmp_path)
    store.open()
    for chunk in (trained[:2], trained[2:4], trained[4:]):
        store.append(chunk)
    for name in ("000000-2.parquet", "000002-2.parquet"):
        (tmp_path / "shards" / name).write_bytes(b"")
    reopened = RunStore(tmp_path)
    assert set(reopened.open()) == {r.run_id for r in trained[2:4]}
    assert len(reopened.problems) == 2
    assert all("not readable as Parquet: " in p and "None" not in p for p in reopened.problems)


def test_a_0_3_shard_with_a_retyped_column_is_named_by_that_column(tmp_path) -> None:
    """A shard of 0.3's schema (no map coordinates) is checked against 0.3's schema: the
    message names the column that changed, not the coordinates 0.3 never had."""
    import pyarrow as pa

    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "old")
    shard = sorted((folder / "shards").iterdir())[0]
    table = pq.read_table(shard)
    position = table.schema.get_field_index("seed")
    pq.write_table(table.set_column(position, "seed", table["seed"].cast(pa.float64())), shard)
    store = RunStore(folder)
    store.open()
    assert len(store.problems) == 1
    assert "column 'seed' holds double, not int64" in store.problems[0]
    # a shard of 0.3 and one of today, side by side: both read, coordinates empty for 0.3's
    store.append(train_batch([RunConfig(seed=7, hidden=2, epochs=30, log_every=10)]))
    ids = [i for p in store.shard_files() for i in pq.read_table(p)["run_id"].to_pylist()]
    runs = store.runs(ids)
    assert len(runs) == len(ids) and runs["axis_x"].isna().all()


@pytest.mark.parametrize("part", ["shards", "curves.parquet"])
def test_a_flipped_byte_in_a_value_is_caught_by_the_page_checksums(tmp_path, trained, part) -> None:
    """Chunks are written zstd-compressed with page checksums, and read verifying them. A
    file rewritten uncompressed (so that a flipped byte still decodes) with one byte of a loss
    changed is rejected: only the checksum can tell."""
    import struct

    store = RunStore(tmp_path)
    store.open()
    store.append(trained[:3])
    store.append(trained[3:])
    path = tmp_path / part / "000000-3.parquet"
    metadata = pq.ParquetFile(path).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    table = pq.read_table(path)
    pq.write_table(table, path, compression="none", write_page_checksum=True)
    column = "final_loss" if part == "shards" else "loss"
    value = table[column][1].as_py()
    data = bytearray(path.read_bytes())
    at = data.find(struct.pack("<d", value))
    assert at > 0
    data[at] ^= 0x01  # the lowest bits of the mantissa: a loss off by 1e-16, still a number
    path.write_bytes(bytes(data))
    reopened = RunStore(tmp_path)
    assert set(reopened.open()) == {r.run_id for r in trained[3:]}
    assert len(reopened.problems) == 1 and "checksum" in reopened.problems[0].lower()
