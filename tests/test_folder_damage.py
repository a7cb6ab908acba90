"""Nothing lost, nothing corrupted: a results folder damaged in any way either heals (its tables
equal the undamaged sweep's) or is refused in one line naming the file; the folder lock never
has two holders.

The damage test draws its cases with hypothesis: a few dozen in CI (about a minute); for a
longer run, `XORLAB_DAMAGE_EXAMPLES=2000 python -m pytest tests/test_folder_damage.py`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import xorlab
from tests.conftest import REPO, TINY_SPEC, exit_status, run_cli
from xorlab.cli.compare import main as compare_main
from xorlab.cli.plot import main as plot_main
from xorlab.cli.replay import main as replay_main
from xorlab.cli.sweep import main as sweep_main
from xorlab.errors import FolderLocked, XorlabError
from xorlab.storage.folder import LOCK, folder_lock

EXAMPLES = int(os.environ.get("XORLAB_DAMAGE_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A finished tiny sweep (two shards), and its spec beside it."""
    root = tmp_path_factory.mktemp("clean")
    (root / "tiny.toml").write_text(TINY_SPEC)
    argv = [str(root / "tiny.toml"), "--out", str(root), "--no-figures", "--no-progress"]
    assert sweep_main([*argv, "--n-jobs", "1"]) == 0
    assert len(list((root / "tiny" / "shards").glob("*.parquet"))) == 2
    return root


def runs_of(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "runs.csv").drop(columns="train_seconds")


def curves_of(folder: Path) -> pd.DataFrame:
    return xorlab.load(folder).curves.sort_values(["run_id", "epoch"], ignore_index=True)


def digest(root: Path) -> dict[str, str]:
    """Every file under `root` and a hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# -- the kinds of damage: each takes the folder, a place outside it and a draw function ------


def _shard(folder: Path, draw) -> Path:
    return draw(st.sampled_from(sorted((folder / "shards").glob("*.parquet"))))


def _part(folder: Path, draw) -> Path:
    """A curve file still there (an earlier damage may have deleted one), else a shard's."""
    parts = sorted((folder / "curves.parquet").glob("*.parquet"))
    return draw(st.sampled_from(parts)) if parts else folder / "curves.parquet" / "absent"


def delete_shard(folder, outside, draw):
    _shard(folder, draw).unlink()


def delete_curves(folder, outside, draw):
    _part(folder, draw).unlink(missing_ok=True)


def truncate(path_of):
    def damage(folder, outside, draw):
        path = path_of(folder, draw)
        data = path.read_bytes() if path.is_file() else b""
        if data:  # an earlier damage may have emptied or deleted it
            path.write_bytes(data[: draw(st.integers(0, len(data) - 1))])

    damage.__name__ = f"truncate_{path_of.__name__.strip('_')}"
    return damage


def flip(path_of):
    def damage(folder, outside, draw):
        path = path_of(folder, draw)
        data = bytearray(path.read_bytes() if path.is_file() else b"")
        if not data:  # an earlier damage may have emptied or deleted it
            return
        offset = draw(st.integers(0, len(data) - 1))
        data[offset] ^= draw(st.integers(1, 255))
        path.write_bytes(bytes(data))

    damage.__name__ = f"flip_{path_of.__name__.strip('_')}"
    return damage


def duplicate_chunk(folder, outside, draw):
    shard = _shard(folder, draw)
    copy = f"000009-{shard.name.split('-')[1]}"
    for source in (shard, folder / "curves.parquet" / shard.name):
        if source.is_file() and not source.is_symlink():  # an earlier damage may have taken it
            shutil.copy(source, source.parent / copy)


def misname_shard(folder, outside, draw):
    shard = _shard(folder, draw)
    sequence, runs = shard.stem.split("-")
    wrong = draw(st.sampled_from([int(runs) - 1, int(runs) + 1]))
    for place in ("shards", "curves.parquet"):
        if (folder / place / shard.name).exists():  # an earlier damage may have taken it
            (folder / place / shard.name).rename(folder / place / f"{sequence}-{wrong}.parquet")


def _rewrite(folder: Path, draw, change) -> None:
    shard = _shard(folder, draw)
    try:
        table = pq.read_table(shard)
    except (OSError, pa.ArrowException):  # damaged already (truncated, say): left as it is
        return
    try:
        changed = change(table)
    except (KeyError, ValueError, pa.ArrowException):  # its column dropped or renamed already
        return
    pq.write_table(changed, shard, write_page_checksum=True)


def drop_column(folder, outside, draw):
    name = draw(st.sampled_from(["final_loss", "seed", "status", "outcome"]))
    _rewrite(folder, draw, lambda t: t.drop_columns([name]))


def rename_column(folder, outside, draw):
    name = draw(st.sampled_from(["seed", "final_loss", "hidden"]))
    _rewrite(
        folder,
        draw,
        lambda t: t.rename_columns([f"{n}_" if n == name else n for n in t.column_names]),
    )


def retype_column(folder, outside, draw):
    def change(table: pa.Table) -> pa.Table:
        i = table.column_names.index("final_loss")
        return table.set_column(i, "final_loss", pa.array(["abc"] * table.num_rows))

    _rewrite(folder, draw, change)


def change_settings(folder, outside, draw):
    column, value = draw(st.sampled_from([("hidden", 64), ("activation", "bogus"), ("seed", 7)]))

    def change(table: pa.Table) -> pa.Table:
        i = table.column_names.index(column)
        values = table[column].to_pylist()
        values[0] = value
        return table.set_column(i, column, pa.array(values, table.schema.field(column).type))

    _rewrite(folder, draw, change)


def directory_instead(folder, outside, draw):
    name = draw(st.sampled_from(["runs.csv", "meta.json", "spec.toml", "summary.csv"]))
    if (folder / name).is_dir():  # made a directory by an earlier damage
        return
    (folder / name).unlink()
    (folder / name).mkdir()


def link_out(folder, outside, draw):
    name = draw(st.sampled_from(["curves.parquet", "shards"]))
    target = outside / name
    if (folder / name).is_symlink():  # linked out by an earlier damage
        return
    shutil.copytree(folder / name, target)
    shutil.rmtree(folder / name)
    (folder / name).symlink_to(target)


def link_a_file_out(folder, outside, draw):
    part = _part(folder, draw)
    if not part.is_file():  # an earlier damage deleted every curve file
        return
    target = outside / part.name
    shutil.copy(part, target)
    part.unlink()
    part.symlink_to(target)


def journal_copied(folder, outside, draw):
    shutil.copy(REPO / "tests" / "fixtures" / "release01" / "journal.jsonl", folder)


def garbage_file(folder, outside, draw):
    name = draw(st.sampled_from(["meta.json", "spec.toml"]))
    text = draw(
        st.sampled_from(
            ["{bad", "[1,2]", "params = 3", 'sweep = "x"', "train = [1, 2]", "\x00\xff"]
        )
    )
    (folder / name).write_bytes(text.encode("utf-8", "surrogateescape"))


def edit_runs_csv(folder, outside, draw):
    runs = pd.read_csv(folder / "runs.csv", keep_default_na=False)
    column = draw(st.sampled_from(["seed", "hidden", "epochs", "epochs_to_solve", "live_units"]))
    value = draw(st.sampled_from(["", "nan", "inf", "-1", "1e30", str(2**63), "abc"]))
    runs[column] = runs[column].astype(str)
    runs.loc[draw(st.integers(0, len(runs) - 1)), column] = value
    runs.to_csv(folder / "runs.csv", index=False)


DAMAGE = [
    delete_shard,
    delete_curves,
    truncate(_shard),
    truncate(_part),
    flip(_shard),
    flip(_part),
    duplicate_chunk,
    misname_shard,
    drop_column,
    rename_column,
    retype_column,
    change_settings,
    directory_instead,
    link_out,
    link_a_file_out,
    journal_copied,
    garbage_file,
    edit_runs_csv,
]


def one_line_naming(stderr: str, folder: Path) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert str(folder) in lines[0], stderr


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a sweep per example: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_damaged_folder_heals_or_is_refused_in_one_line(clean: Path, data) -> None:
    kinds = data.draw(st.lists(st.sampled_from(DAMAGE), min_size=1, max_size=2, unique=True))
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        folder, outside = scratch / "out" / "tiny", scratch / "outside"
        shutil.copytree(clean / "tiny", folder)
        outside.mkdir()
        for damage in kinds:
            damage(folder, outside, data.draw)
        print("damage:", [d.__name__ for d in kinds])
        untouched_outside = digest(outside)
        intact = {  # the shards the damage left as they were
            p.name
            for p in (clean / "tiny" / "shards").glob("*.parquet")
            if (folder / "shards" / p.name).is_file()
            and (folder / "shards" / p.name).read_bytes() == p.read_bytes()
        }

        result = run_cli(
            "xorlab.sweep",
            str(clean / "tiny.toml"),
            "--out",
            str(scratch / "out"),
            "--no-figures",
            "--no-progress",
            "--n-jobs",
            "1",
        )
        assert digest(outside) == untouched_outside  # nothing outside the folder changes
        if result.returncode == 0:
            assert "Traceback" not in result.stderr, result.stderr
            pd.testing.assert_frame_equal(runs_of(folder), runs_of(clean / "tiny"))
            pd.testing.assert_frame_equal(curves_of(folder), curves_of(clean / "tiny"))
        else:
            assert result.returncode == 2, result.stderr
            one_line_naming(result.stderr, folder)
            for name in intact:  # refused: no intact run lost
                assert (folder / "shards" / name).read_bytes() == (
                    clean / "tiny" / "shards" / name
                ).read_bytes()
        try:
            xorlab.load(folder)
        except XorlabError:
            pass
        # then every other command on it, in this process: an error is one line, exit 2
        for main, argv in (
            (plot_main, [str(folder)]),
            (compare_main, [str(folder), str(clean / "tiny"), "--out", str(scratch / "cmp")]),
            (replay_main, [str(folder), "0", "--out", str(scratch / "replays")]),
        ):
            status = exit_status(main, argv)
            assert status in (0, 2), (main.__module__, status)


def test_a_journal_beside_shards_is_refused_and_deletes_nothing(clean: Path, tmp_path) -> None:
    folder = tmp_path / "tiny"
    shutil.copytree(clean / "tiny", folder)
    journal_copied(folder, tmp_path, None)
    before = digest(folder)
    result = run_cli("xorlab.sweep", str(clean / "tiny.toml"), "--out", str(tmp_path))
    assert result.returncode == 2
    one_line_naming(result.stderr, folder)
    assert "journal" in result.stderr and digest(folder) == before


def test_a_linked_curves_folder_is_refused_and_the_other_folder_kept(clean, tmp_path) -> None:
    other, folder = tmp_path / "other", tmp_path / "out" / "tiny"
    shutil.copytree(clean / "tiny", other)
    shutil.copytree(clean / "tiny", folder)
    shutil.rmtree(folder / "curves.parquet")
    (folder / "curves.parquet").symlink_to(other / "curves.parquet")
    before = digest(other)
    result = run_cli("xorlab.sweep", str(clean / "tiny.toml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "symbolic link" in result.stderr
    assert digest(other) == before and len(xorlab.load(other).curves) == len(
        curves_of(clean / "tiny")
    )


def test_a_copied_chunk_gives_each_run_one_curve(clean: Path, tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    shutil.copytree(clean / "tiny", folder)
    shard = sorted((folder / "shards").glob("*.parquet"))[0]
    shutil.copy(shard, folder / "shards" / "000005-12.parquet")
    shutil.copy(
        folder / "curves.parquet" / shard.name, folder / "curves.parquet" / "000005-12.parquet"
    )
    loaded = xorlab.load(folder)
    pd.testing.assert_frame_equal(
        loaded.curves.sort_values(["run_id", "epoch"], ignore_index=True), curves_of(clean / "tiny")
    )
    two = loaded.runs["run_id"].head(2).tolist()
    assert set(loaded.curves_of(two)["run_id"]) == set(two)
    assert len(loaded.curves_of(two)) == len(curves_of(clean / "tiny").query("run_id in @two"))


# -- the lock ---------------------------------------------------------------------------------


def _contend(folder: Path, barrier, guard, holders, overlaps, tries: int, index: int) -> None:
    for round_ in range(tries):
        barrier.wait()
        if index == 0 and round_ % 2:  # every other round starts with a stale lock file
            dead = subprocess.Popen([sys.executable, "-c", "pass"])
            dead.wait()
            (folder / LOCK).write_text(f"{dead.pid} {os.uname().nodename}\n")
        barrier.wait()
        try:
            with folder_lock(folder):
                with guard:
                    holders.value += 1
                    if holders.value > 1:
                        overlaps.value += 1
                time.sleep(0.0005)
                with guard:
                    holders.value -= 1
        except FolderLocked:
            pass


def test_the_folder_lock_never_has_two_holders(tmp_path: Path) -> None:
    processes, tries = 4, 60
    context = multiprocessing.get_context("fork")
    barrier, guard = context.Barrier(processes), context.Lock()
    holders, overlaps = context.Value("i", 0), context.Value("i", 0)
    workers = [
        context.Process(
            target=_contend, args=(tmp_path, barrier, guard, holders, overlaps, tries, i)
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert overlaps.value == 0


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from xorlab.storage.folder import folder_lock\n"
            "with folder_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(FolderLocked, match=f"pid {holder.pid}"):
        with folder_lock(tmp_path):
            pass
    holder.kill()
    holder.wait()
    with folder_lock(tmp_path):  # the kernel released it: no stale lock to detect
        pass
    assert not (tmp_path / LOCK).exists()


CELLS = [
    (column, value)
    for column in (
        "seed",
        "hidden",
        "epochs",
        "samples",
        "log_every",
        "epochs_to_solve",
        "live_units",
    )
    for value in ("", "nan", "inf", "-1", "1e30", str(2**63), "abc", "0.5")
] + [("activation", "abc"), ("lr", "-1"), ("lr", "inf"), ("seed", "-1")]


@pytest.mark.parametrize(("column", "value"), CELLS)
def test_every_cell_of_runs_csv_is_checked_when_read(clean: Path, tmp_path, column, value) -> None:
    folder = tmp_path / "tiny"
    shutil.copytree(clean / "tiny", folder)
    runs = pd.read_csv(folder / "runs.csv", keep_default_na=False, dtype=str)
    runs.loc[3, column] = value
    runs.to_csv(folder / "runs.csv", index=False)
    try:
        loaded = xorlab.load(folder)
    except XorlabError as error:
        assert f"{folder / 'runs.csv'}: column {column!r}, row 5" in str(error)
    else:  # accepted: a value the column may hold (an empty epochs_to_solve: not solved)
        assert len(loaded.runs) == 24
        loaded.summary  # noqa: B018  (computed without an error)


def test_a_valid_shard_holding_fewer_runs_than_its_name_says_is_rejected(clean, tmp_path) -> None:
    """Valid Parquet, valid checksums, 11 rows under a name that says 12: the count check,
    not the reader, rejects it (a torn shard never reaches that check)."""
    folder = tmp_path / "out" / "tiny"
    shutil.copytree(clean / "tiny", folder)
    shard = sorted((folder / "shards").glob("*.parquet"))[0]
    table = pq.read_table(shard)
    pq.write_table(table.slice(0, table.num_rows - 1), shard, write_page_checksum=True)
    result = run_cli("xorlab.sweep", str(clean / "tiny.toml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert f"holds {table.num_rows - 1} runs, its name says {table.num_rows}" in result.stderr
    assert (folder / "shards.rejected" / shard.name).exists()
    pd.testing.assert_frame_equal(runs_of(folder), runs_of(clean / "tiny"))


def test_a_flipped_byte_anywhere_in_a_shard_is_rejected_or_harmless(clean, tmp_path) -> None:
    """Flip one byte at 24 offsets spread over the whole of each file (a 10 KB shard has
    unchecksummed parts: a flip at one fixed offset can miss the checksums): each flip is
    rejected (the runs retrained) or harmless (the same tables), never wrong numbers."""
    from xorlab.storage.store import RunStore

    expected = runs_of(clean / "tiny").set_index("run_id").sort_index()
    for name in ("shards", "curves.parquet"):
        for part in sorted((clean / "tiny" / name).glob("*.parquet")):
            size = part.stat().st_size
            for offset in np.linspace(0, size - 1, 24).astype(int):
                folder = tmp_path / f"{name}-{part.stem}-{offset}"
                shutil.copytree(clean / "tiny", folder)
                data = bytearray((folder / name / part.name).read_bytes())
                data[offset] ^= 0x5A
                (folder / name / part.name).write_bytes(bytes(data))
                store = RunStore(folder)
                statuses = store.open()
                if store.problems:  # rejected: its runs are missing now, to be trained again
                    assert len(statuses) < len(expected)
                    continue
                stored = store.runs(list(expected.index)).set_index("run_id").sort_index()
                pd.testing.assert_series_equal(stored["final_loss"], expected["final_loss"])
                shutil.rmtree(folder)


def test_a_figure_that_cannot_be_written_is_exit_2_naming_the_file(clean: Path, tmp_path) -> None:
    """A figure drawn but not written (here a directory in its place; a full disk alike) is
    not a warning and exit 0: the command fails naming the file."""
    folder = tmp_path / "tiny"
    shutil.copytree(clean / "tiny", folder)
    (folder / "figures").mkdir(exist_ok=True)
    blocked = folder / "figures" / "loss_curves.png"
    blocked.unlink(missing_ok=True)
    blocked.mkdir()
    result = run_cli("xorlab.plot", str(folder))
    assert result.returncode == 2, result.stderr
    one_line_naming(result.stderr, blocked)


def _valid_shard(tmp_path: Path, runs: int = 3):
    """A shard's table of `runs` real runs, and a path named as holding them."""
    from xorlab.storage.store import _results_tables
    from xorlab.training.config import RunConfig
    from xorlab.training.engine import train_batch

    results = train_batch([RunConfig(seed=s, epochs=20, data="truth_table") for s in range(runs)])
    return _results_tables(results)[0], tmp_path / f"000000-{runs}.parquet"


def test_every_kind_of_untrustworthy_shard_is_named() -> None:
    """Each reason the store drops a shard, as the message says it (the schema of 0.4 and of 0.3
    are accepted as they are; a shard with some of the map columns but not all is not)."""
    import pyarrow as pa

    from xorlab.storage.store import RUN_SCHEMA_0_3, _shard_problem

    table, path = _valid_shard(Path("/nonexistent"))
    assert _shard_problem(path, table) is None
    old = table.select(RUN_SCHEMA_0_3.names)
    assert _shard_problem(path, old) is None  # a shard of 0.3
    cases = {
        "no column 'hidden'": table.drop_columns(["hidden"]),
        "no column 'lr'": old.drop_columns(["lr"]),
        "no column 'offset_x'": old.append_column("axis_x", table["axis_x"]),
        "an unknown column 'colour'": table.append_column("colour", table["run_id"]),
        "column 'lr' holds string, not double": table.set_column(
            table.schema.get_field_index("lr"), "lr", pa.array(["0.1"] * 3)
        ),
        "holds 3 runs, its name says 4": None,
        "a run without a run_id": table.set_column(
            0, "run_id", pa.array([None, "a", "b"], pa.string())
        ),
        "status 'lost' is not one of ok, diverged, failed": table.set_column(
            table.schema.get_field_index("status"), "status", pa.array(["ok", "lost", "zz"])
        ),
        "row 1: run_id": table.set_column(
            table.schema.get_field_index("seed"), "seed", pa.array([0, 5, 2], pa.int64())
        ),
    }
    for words, broken in cases.items():
        if broken is None:
            problem = _shard_problem(path.with_name("000000-4.parquet"), table)
        else:
            problem = _shard_problem(path, broken)
        assert problem is not None and problem.startswith(words), (words, problem)


def test_the_store_keeps_each_runs_curve_as_trained(tmp_path: Path) -> None:
    """Every logged point of every run, in its own column (epoch, loss, accuracy), read back
    equal to the curve the trainer returned; a failed run stores none."""
    import pyarrow.parquet as pq

    from xorlab.storage.store import RunStore
    from xorlab.training.config import RunConfig
    from xorlab.training.engine import train_batch

    configs = [RunConfig(seed=s, epochs=23, log_every=5, data="truth_table") for s in range(3)]
    results = train_batch(configs)
    store = RunStore(tmp_path)
    store.open()
    store.append(results)
    curves = pq.read_table(tmp_path / "curves.parquet").to_pandas()
    assert list(curves.columns) == ["run_id", "epoch", "loss", "accuracy"]
    for result in results:
        mine = curves[curves["run_id"] == result.run_id]
        np.testing.assert_array_equal(mine["epoch"], result.curve_epoch)
        np.testing.assert_array_equal(mine["loss"], result.curve_loss)
        np.testing.assert_array_equal(mine["accuracy"], result.curve_accuracy)
    assert list(curves["epoch"].head(6)) == [0, 5, 10, 15, 20, 23]
    assert store.open()  # and the store accepts what it wrote


def test_a_loss_near_the_largest_float_is_drawn_and_a_figure_failing_as_it_saves_is_reported(
    tmp_path: Path,
) -> None:
    """A flipped byte in a curves file made a loss of ~1e308: the log axis's next tick is inf
    and labelling it raised while the figure was saved, which stopped `plot` with a traceback.
    Such a tick is left unlabelled, and a figure that fails while saving is reported like one
    that fails while drawing (the other figures and the tables are written)."""
    import io

    from matplotlib.figure import Figure

    from xorlab.visualization.drawing import write_figures
    from xorlab.visualization.style import log_scale

    figure = Figure()
    ax = figure.subplots()
    ax.plot([0, 1, 2], [1e-3, 1e307, 1.7e308])
    log_scale(ax)
    figure.savefig(io.BytesIO(), format="png")

    def fails_when_saved() -> Figure:
        broken = Figure()
        broken.subplots().xaxis.set_major_formatter(lambda x, pos: 1 / 0)
        return broken

    written = write_figures(tmp_path, {"broken.png": fails_when_saved, "fine.png": Figure})
    assert written == [tmp_path / "fine.png"] and not (tmp_path / "broken.png").exists()
