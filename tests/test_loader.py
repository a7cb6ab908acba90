"""Reading results folders in this process (`xorlab.load` and its readers): the tables of
every release's fixture, typed; curves from curves.parquet and from 0.1/0.2's curves.csv, all
or some; and every bad cell of a runs.csv or curves.csv named in one line (the commands' own
tests run them in subprocesses)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from xorlab.errors import ResultsError
from xorlab.storage.loader import check_curves, load, read_curves, read_runs

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("release", ["release01", "release02", "release03"])
def test_every_release_s_folder_loads_typed_with_its_curves(release: str) -> None:
    results = load(FIXTURES / release)
    runs = results.runs
    assert results.name == release and results.spec and len(runs) > 0
    assert runs["seed"].dtype == np.int64 and runs["solved"].dtype == bool
    assert runs["lr"].dtype == np.float64 and runs["hidden"].dtype == np.int64
    assert str(runs["live_units"].dtype) == "Int64"
    assert "outcome" in runs  # 0.1 recorded none: an empty column
    curves = results.curves
    assert list(curves.columns)[:4] == ["run_id", "epoch", "loss", "accuracy"]
    assert set(curves["run_id"]) == set(runs["run_id"])
    assert curves["epoch"].dtype == np.int64 and curves["loss"].dtype == np.float64
    some = runs["run_id"].iloc[[0, -1]].tolist()
    fresh = load(FIXTURES / release).curves_of(some)  # from disk
    cached = results.curves_of(some)  # from the curves read already
    assert set(fresh["run_id"]) == set(cached["run_id"]) == set(some)
    assert len(fresh) == len(cached) == len(curves[curves["run_id"].isin(some)])
    assert read_curves(FIXTURES / release, []).empty
    assert len(results.summary) == runs.groupby(["hidden", "lr"]).ngroups or len(results.summary)


def test_a_lone_runs_csv_loads_named_by_its_file(tmp_path: Path) -> None:
    path = shutil.copy(FIXTURES / "release03" / "runs.csv", tmp_path / "mine.csv")
    results = load(path)
    assert results.name == "mine" and results.spec == {} and len(results.runs) > 0


def _runs_csv(tmp_path: Path, column: str, row: int, value: str) -> Path:
    """The 0.3 fixture's runs.csv with one cell changed (row counted as a spreadsheet does:
    the header is row 1)."""
    table = pd.read_csv(FIXTURES / "release03" / "runs.csv", dtype=str, keep_default_na=False)
    table.loc[row - 2, column] = value
    path = tmp_path / "runs.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("seed", "x", "column 'seed', row 3: 'x' is not an integer"),
        ("seed", "1.5", "column 'seed', row 3: 1.5 is not an integer"),
        ("seed", "", "column 'seed', row 3: an empty cell is not an integer"),
        ("seed", "-1", "column 'seed', row 3: -1 is not >= 0"),
        ("hidden", "9e99", "column 'hidden', row 3: 9e+99 is not an integer"),
        ("lr", "fast", "column 'lr', row 3: 'fast' is not a number"),
        ("lr", "-1", "column 'lr', row 3: -1.0 is not a finite number > 0"),
        ("activation", "swish", "column 'activation', row 3: 'swish' is not one of"),
        ("final_loss", "low", "column 'final_loss', row 3: 'low' is not a number"),
        ("live_units", "2.5", "column 'live_units', row 3: 2.5 is not an integer"),
        ("epochs_to_solve", "soon", "column 'epochs_to_solve', row 3: 'soon' is not an integer"),
        ("solved", "yes", "column 'solved', row 3: 'yes' is not True or False"),
        ("status", "done", "column 'status', row 3: 'done' is not one of ok, diverged, failed"),
    ],
)
def test_a_bad_cell_of_runs_csv_is_named(tmp_path: Path, column: str, value: str, says: str):
    path = _runs_csv(tmp_path, column, 3, value)
    with pytest.raises(ResultsError) as error:
        read_runs(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {says}"), message
    assert "\n" not in message


def test_cells_that_are_allowed_read_as_numbers(tmp_path: Path) -> None:
    """'nan', 'inf' and empty cells in a metric are numbers (a diverged run's loss), an
    integer written 3.0 is an integer, True/False in any case pandas writes them."""
    path = _runs_csv(tmp_path, "final_loss", 2, "inf")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[1, "final_loss"] = "nan"
    table.loc[2, "final_loss"] = ""
    table.loc[0, "hidden"] = "2.0"
    table.to_csv(path, index=False)
    runs = read_runs(path)
    assert runs["final_loss"].iloc[0] == np.inf and runs["final_loss"].iloc[1:3].isna().all()
    assert runs["hidden"].iloc[0] == 2 and runs["hidden"].dtype == np.int64


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "not an xorlab runs table (not readable as CSV: "),
        ("run_id,seed\n", "not an xorlab runs table (missing columns: "),
        ('a,b\n"1,2\n', "not an xorlab runs table"),
    ],
)
def test_a_file_that_is_no_runs_table_is_named(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(text)
    with pytest.raises(ResultsError) as error:
        read_runs(path)
    assert str(error.value).startswith(f"{path}: {says}")
    header = pd.read_csv(FIXTURES / "release03" / "runs.csv", nrows=0)
    path.write_text(",".join(header.columns) + "\n")
    with pytest.raises(ResultsError, match="holds no runs"):
        read_runs(path)
    with pytest.raises(ResultsError, match="no such file"):
        read_runs(tmp_path / "absent.csv")


def test_the_curves_csv_of_0_2_is_checked_cell_by_cell(tmp_path: Path) -> None:
    folder = shutil.copytree(FIXTURES / "release02", tmp_path / "old")
    curves = pd.read_csv(folder / "curves.csv", dtype=str, keep_default_na=False)
    some = curves["run_id"].iloc[0]
    assert set(read_curves(folder, [some])["run_id"]) == {some}
    assert len(read_curves(folder)) == len(curves)
    curves.loc[4, "epoch"] = "later"
    curves.to_csv(folder / "curves.csv", index=False)
    with pytest.raises(ResultsError) as error:
        read_curves(folder)
    assert (
        str(error.value)
        == f"{folder / 'curves.csv'}: column 'epoch', row 6: 'later' is not an integer"
    )
    curves.drop(columns=["loss"]).to_csv(folder / "curves.csv", index=False)
    with pytest.raises(ResultsError) as error:
        read_curves(folder)
    assert str(error.value) == f"{folder / 'curves.csv'}: not an xorlab curves table (missing loss)"


def test_curves_parquet_read_all_or_some_once_per_run(tmp_path: Path) -> None:
    """A run whose curve is in two files (copied under a second name) comes back once, from
    the later file; a file without its shard is asked which runs it holds."""
    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "f")
    parts = sorted((folder / "curves.parquet").iterdir())
    every = read_curves(folder)
    ids = list(dict.fromkeys(every["run_id"]))
    shutil.copy(parts[0], folder / "curves.parquet" / "000009-4.parquet")  # no shard of its own
    again = read_curves(folder)
    assert len(again) == len(every)
    some = read_curves(folder, ids[:2])
    assert set(some["run_id"]) == set(ids[:2]) and len(some) == len(
        every[every["run_id"].isin(ids[:2])]
    )
    check_curves(folder)
    pq.write_table(pq.read_table(parts[1]).drop_columns(["accuracy"]), parts[1])
    with pytest.raises(ResultsError) as error:
        check_curves(folder)
    assert str(error.value) == f"{parts[1]}: not an xorlab curves table (missing accuracy)"
    parts[1].write_bytes(b"garbage")
    with pytest.raises(ResultsError, match=f"{parts[1]}: not an xorlab curves table \\("):
        check_curves(folder)
    shutil.rmtree(folder / "curves.parquet")
    check_curves(folder)  # no curves: fine unless required
    with pytest.raises(ResultsError, match="no such file \\(the loss curves are drawn from it\\)"):
        check_curves(folder, required=True)


def test_curves_split_between_files_and_one_file_of_all(tmp_path: Path) -> None:
    """A file whose runs are partly held by a later file gives only its own; asking for runs
    no file holds gives none; the reader the figures use reads the same; a curves.parquet
    that is one file (all runs) is read whole or filtered."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from xorlab.storage.loader import curves_reader

    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "f")
    every = read_curves(folder)
    ids = list(dict.fromkeys(every["run_id"]))
    first = sorted((folder / "curves.parquet").iterdir())[0]
    table = pq.read_table(first)
    later = table.filter(pc.equal(table["run_id"], table["run_id"][0]))
    later = later.set_column(2, "loss", pc.multiply(later["loss"], pa.scalar(2.0)))
    pq.write_table(later, folder / "curves.parquet" / "000009-1.parquet")
    again = read_curves(folder)
    assert len(again) == len(every)  # each run once
    moved = again[again["run_id"] == table["run_id"][0].as_py()]
    assert np.allclose(moved["loss"], 2 * every[every["run_id"] == moved["run_id"].iloc[0]]["loss"])
    assert read_curves(folder, ["nobody-12345"]).empty
    assert curves_reader(folder)(ids[:1]).equals(read_curves(folder, ids[:1]))
    single = tmp_path / "single"
    single.mkdir()
    pq.write_table(pa.Table.from_pandas(every, preserve_index=False), single / "curves.parquet")
    assert len(read_curves(single)) == len(every)
    assert set(read_curves(single, ids[:2])["run_id"]) == set(ids[:2])
    (single / "curves.parquet").write_bytes(b"garbage")
    with pytest.raises(ResultsError) as error:
        read_curves(single)
    message = str(error.value)
    assert message.startswith(f"{single / 'curves.parquet'}: not an xorlab curves table (")
    assert "smaller than the minimum file footer" in message and "\n" not in message


def test_bad_curves_csv_and_spec_files_are_named(tmp_path: Path) -> None:
    folder = shutil.copytree(FIXTURES / "release02", tmp_path / "old")
    curves = pd.read_csv(folder / "curves.csv", dtype=str, keep_default_na=False)
    curves.drop(columns=["loss", "accuracy"]).to_csv(folder / "curves.csv", index=False)
    with pytest.raises(ResultsError) as error:
        read_curves(folder)
    assert str(error.value).endswith("not an xorlab curves table (missing loss, accuracy)")
    curves.loc[0, "loss"] = "high"
    curves.to_csv(folder / "curves.csv", index=False)
    with pytest.raises(ResultsError) as error:
        read_curves(folder)
    assert (
        str(error.value) == f"{folder / 'curves.csv'}: column 'loss', row 2: 'high' is not a number"
    )
    (folder / "curves.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ResultsError) as error:
        read_curves(folder)
    assert str(error.value).startswith(
        f"{folder / 'curves.csv'}: not an xorlab curves table (not readable as CSV: "
    )
    spec = folder / "spec.toml"
    for text, says in {
        "[sweep\n": "not a TOML spec (",
        "sweep = 3\n": "not an xorlab spec ([sweep] is not a table)",
        '[run]\nimports = ["no_such_module_xyz"]\n': "run.imports: ",
    }.items():
        spec.write_text(text)
        with pytest.raises(ResultsError) as error:
            load(folder)
        assert str(error.value).startswith(f"{spec}: {says}"), str(error.value)
    spec.write_bytes(b"\xff\xfe")
    with pytest.raises(ResultsError, match="not a TOML spec"):
        load(folder)


def test_curves_of_takes_run_ids_only(tmp_path: Path) -> None:
    results = load(FIXTURES / "release03")
    with pytest.raises(ResultsError) as error:
        results.curves_of([1, 2])
    assert str(error.value) == "curves_of takes run ids, strings such as '5126c4d71a9b'"
    with pytest.raises(ResultsError, match=r"not one string: curves_of\(\['abc'\]\)"):
        results.curves_of("abc")


def test_results_draws_one_view_by_name_or_says_which_exist() -> None:
    from matplotlib.figure import Figure

    results = load(FIXTURES / "release03")
    drawn = results.figure("outcomes")
    assert isinstance(drawn, Figure) and drawn.axes
    assert isinstance(results.figure("seeds.png"), Figure)
    with pytest.raises(ResultsError) as error:
        results.figure("nope")
    message = str(error.value)
    assert message.startswith("no figure 'nope' for this sweep; one of: loss_curves, seeds")
    assert "outcomes" in message and ".png" not in message
    with pytest.raises(ResultsError, match="figure takes a figure's name, not int"):
        results.figure(3)
    old = load(FIXTURES / "release01")  # 0.1 recorded no outcomes: nothing to show
    with pytest.raises(ResultsError, match="figure 'outcomes' has nothing to show for this sweep"):
        old.figure("outcomes")


def test_cells_keep_their_text_and_settings_their_defaults(tmp_path: Path) -> None:
    """run_id and wrong_patterns stay text (leading zeros kept); a setting the table lacks
    gets its default; solved reads True and False as written; the map's offsets, if any,
    are numbers, checked."""
    table = pd.read_csv(FIXTURES / "release03" / "runs.csv", dtype=str, keep_default_na=False)
    table.loc[0, "run_id"] = "000123456789"
    if "wrong_patterns" in table:
        table.loc[0, "wrong_patterns"] = "0110"
    table["solved"] = ["True", "False"] * (len(table) // 2) + ["True"] * (len(table) % 2)
    table = table.drop(columns=["loss"])
    path = tmp_path / "runs.csv"
    table.to_csv(path, index=False)
    runs = read_runs(path)
    assert runs["run_id"].iloc[0] == "000123456789"
    if "wrong_patterns" in table:
        assert runs["wrong_patterns"].iloc[0] == "0110"
    assert (runs["loss"] == "bce").all()
    assert runs["solved"].tolist() == [s == "True" for s in table["solved"]]
    assert str(runs["epochs_to_solve"].dtype) == "Int64"
    table["offset_x"], table["offset_y"] = "0.5", "-1"
    table.loc[1, "offset_y"] = "left"
    table.to_csv(path, index=False)
    with pytest.raises(ResultsError) as error:
        read_runs(path)
    assert str(error.value) == f"{path}: column 'offset_y', row 3: 'left' is not a number"
    table.loc[1, "offset_y"] = "2"
    table.to_csv(path, index=False)
    assert read_runs(path)["offset_x"].tolist() == [0.5] * len(table)
    table.drop(columns=["seed", "status"]).to_csv(path, index=False)
    with pytest.raises(ResultsError) as error:
        read_runs(path)
    assert str(error.value).endswith("(missing columns: seed, status)")
    path.write_text("")
    with pytest.raises(ResultsError) as error:
        read_runs(path)
    assert str(error.value) == (
        f"{path}: not an xorlab runs table (not readable as CSV: No columns to parse from file)"
    )


def test_load_reads_a_folder_s_spec_and_meta_and_refuses_other_types(tmp_path: Path) -> None:
    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "f")
    results = load(str(folder))
    assert results.meta.get("runs_total") and results.spec.get("sweep")
    lone = shutil.copy(folder / "runs.csv", folder / "other.csv")  # beside a spec.toml
    assert load(lone).spec == {}
    (folder / "meta.json").write_text("[1, 2]")  # not an object: ignored, not fatal
    assert load(folder).meta == {}
    (folder / "meta.json").write_bytes(b"\xff")
    assert load(folder).meta == {}
    with pytest.raises(ResultsError) as error:
        load(3)
    assert str(error.value) == "load takes a results folder's path, not int"
    with pytest.raises(ResultsError) as error:
        load(tmp_path / "nothing")
    assert str(error.value) == f"{tmp_path / 'nothing'}: no such results folder or runs.csv"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError) as error:
        load(tmp_path / "empty")
    assert str(error.value) == f"{tmp_path / 'empty'}: not a results folder (no runs.csv)"


def test_text_columns_of_digits_stay_text_and_integers_stay_in_range(tmp_path: Path) -> None:
    table = pd.read_csv(FIXTURES / "release03" / "runs.csv", dtype=str, keep_default_na=False)
    table["run_id"] = [f"{i:012d}" for i in range(len(table))]  # ids of digits only
    table["wrong_patterns"] = "0110"
    path = tmp_path / "runs.csv"
    table.to_csv(path, index=False)
    runs = read_runs(path)
    assert runs["run_id"].iloc[1] == "000000000001" and runs["wrong_patterns"].iloc[0] == "0110"
    for column, value in {"seed": str(2**63), "offset_x": "right"}.items():
        broken = table.assign(offset_x="0", offset_y="0")
        broken.loc[0, column] = value
        broken.to_csv(path, index=False)
        with pytest.raises(ResultsError, match=f"column '{column}', row 2: "):
            read_runs(path)


def test_curves_parquet_wins_over_an_old_csv_and_a_single_file_is_checked(tmp_path: Path):
    import pyarrow as pa

    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "f")
    every = read_curves(folder)
    shutil.copy(FIXTURES / "release02" / "curves.csv", folder / "curves.csv")
    assert read_curves(folder).equals(every)  # curves.parquet is this folder's
    part = sorted((folder / "curves.parquet").iterdir())[0]
    pq.write_table(pq.read_table(part).drop_columns(["loss", "accuracy"]), part)
    with pytest.raises(ResultsError, match=r"\(missing loss, accuracy\)$"):
        check_curves(folder)
    shutil.rmtree(folder / "curves.parquet")
    pq.write_table(pa.Table.from_pandas(every, preserve_index=False), folder / "curves.parquet")
    check_curves(folder)
    (folder / "curves.parquet").write_bytes(b"garbage!")
    with pytest.raises(ResultsError, match="curves.parquet: not an xorlab curves table"):
        check_curves(folder)


def test_a_spec_without_run_or_with_one_import_loads(tmp_path: Path) -> None:
    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "f")
    spec = (folder / "spec.toml").read_text()
    without = spec.split("[run]")[0] if "[run]" in spec else spec
    (folder / "spec.toml").write_text(without)
    assert "run" not in load(folder).spec
    (folder / "spec.toml").write_text(without + '\n[run]\nimports = "json"\n')
    assert load(folder).spec["run"]["imports"] == "json"
    loss = load(folder).figure("loss_curves")  # drawn from the curves on disk
    assert loss.axes


def test_a_folder_given_as_dot_is_named_by_its_own_name(tmp_path: Path, monkeypatch) -> None:
    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "grid")
    monkeypatch.chdir(folder)
    assert load(".").name == "grid" and load(Path("runs.csv")).name == "grid"
    monkeypatch.chdir(folder / "shards")
    assert load("..").name == "grid"


def test_only_a_folder_s_own_runs_csv_answers_for_its_curves(tmp_path: Path) -> None:
    folder = shutil.copytree(FIXTURES / "release03", tmp_path / "f")
    copy = shutil.copy(folder / "runs.csv", folder / "copy.csv")
    part = sorted((folder / "curves.parquet").glob("*.parquet"))[0]
    part.write_bytes(b"not parquet")  # the folder's curves are damaged
    with pytest.raises(ResultsError) as error:
        load(folder)
    assert str(error.value) == (
        f"{part}: not an xorlab curves table (Parquet magic bytes not found in footer. Either the "
        "file is corrupted or this is not a parquet file.)"
    )
    assert load(copy).name == "copy"  # a table on its own: the folder's curves are not its own


def test_whole_numbers_written_with_a_point_read_as_integers(tmp_path: Path) -> None:
    path = _runs_csv(tmp_path, "seed", 2, "3.0")
    assert read_runs(path)["seed"].dtype == np.int64 and read_runs(path)["seed"].iloc[0] == 3
    folder = shutil.copytree(FIXTURES / "release02", tmp_path / "old")
    curves = pd.read_csv(folder / "curves.csv", dtype=str, keep_default_na=False)
    curves["epoch"] = curves["epoch"] + ".0"
    curves.to_csv(folder / "curves.csv", index=False)
    assert read_curves(folder)["epoch"].dtype == np.int64


def test_the_bad_solved_cell_is_named_after_good_ones_written_as_text(tmp_path: Path) -> None:
    path = _runs_csv(tmp_path, "solved", 10, "maybe")  # row 9 holds True, rows 2-8 False
    with pytest.raises(ResultsError) as error:
        read_runs(path)
    assert str(error.value) == f"{path}: column 'solved', row 10: 'maybe' is not True or False"


def test_text_that_pandas_would_take_for_missing_stays_text(tmp_path: Path) -> None:
    """A failed run's error message 'None' or 'NA' is the message, not a missing value."""
    path = _runs_csv(tmp_path, "error", 2, "NA")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[1, "error"] = "None"
    table.to_csv(path, index=False)
    assert read_runs(path)["error"].tolist()[:2] == ["NA", "None"]
