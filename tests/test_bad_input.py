"""Every bad input: one clear line on stderr naming file and key, exit status 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import exit_status, run_cli
from xorlab.cli.sweep import main

GOOD = """
[sweep]
seeds = 2
[params]
hidden = [2]
lr = [0.1]
[train]
epochs = 10
"""

BAD_SPECS = {
    "syntax": ("[sweep]\nseeds = = 3\n", ["invalid TOML", "line 2"]),
    "unknown section": ("[sweeps]\nseeds = 2\n", ["[sweeps]", "did you mean 'sweep'"]),
    "misspelt key": (
        GOOD.replace("hidden", "hiden"),
        ["params.hiden", "did you mean 'hidden'", ":5:"],
    ),
    "unknown train key": (GOOD + "epoch = 3\n", ["train.epoch", "did you mean 'epochs'"]),
    "wrong type": (GOOD.replace("epochs = 10", 'epochs = "ten"'), ["train.epochs", "integer >= 1"]),
    "empty list": (GOOD.replace("hidden = [2]", "hidden = []"), ["params.hidden", "empty list"]),
    "lr <= 0": (GOOD.replace("lr = [0.1]", "lr = [0.1, 0.0]"), ["params.lr", "> 0"]),
    "hidden < 1": (GOOD.replace("hidden = [2]", "hidden = [0]"), ["params.hidden", ">= 1"]),
    "epochs < 1": (GOOD.replace("epochs = 10", "epochs = 0"), ["train.epochs", ">= 1"]),
    "unknown activation": (
        GOOD + "activation = 'swish'\n",
        ["train.activation", "'sigmoid', 'tanh', 'relu'"],
    ),
    "unknown loss": (GOOD + "loss = 'hinge'\n", ["train.loss", "'bce', 'mse'"]),
    "swept and fixed": (GOOD + "hidden = 3\n", ["params.hidden", "both swept"]),
    "scalar in params": (
        GOOD.replace("hidden = [2]", "hidden = 2"),
        ["params.hidden", "list of values"],
    ),
    "low >= high": (
        "[sweep]\nmethod='random'\ntrials=3\n[params]\nlr = { distribution = 'loguniform', low = 1.0, high = 0.5 }\n",
        ["params.lr", "low < high"],
    ),
    "loguniform low <= 0": (
        "[sweep]\nmethod='random'\ntrials=3\n[params]\nlr = { distribution = 'loguniform', low = 0.0, high = 1.0 }\n",
        ["params.lr", "low > 0"],
    ),
    "trials missing": (
        "[sweep]\nmethod='random'\n[params]\nlr=[0.1]\n",
        ["[sweep]", "needs `trials`"],
    ),
    "trials for grid": (
        GOOD.replace("seeds = 2", "seeds = 2\ntrials = 4"),
        ["sweep.trials", "only applies"],
    ),
    "distribution in grid": (
        GOOD.replace("lr = [0.1]", "lr = { distribution = 'uniform', low = 0.1, high = 1.0 }"),
        ["params.lr", "method = 'random'"],
    ),
    "bad method": (
        GOOD.replace("seeds = 2", "seeds = 2\nmethod = 'bayes'"),
        ["sweep.method", "'grid', 'random'"],
    ),
    "bad seeds": (GOOD.replace("seeds = 2", "seeds = [1, 1]"), ["sweep.seeds", "distinct"]),
    "n_jobs zero": (GOOD + "[run]\nn_jobs = 0\n", ["run.n_jobs", "non-zero"]),
    "bad backend": (GOOD + "[run]\nbackend = 'ray'\n", ["run.backend", "'loky', 'dask'"]),
    "address without dask": (
        GOOD + "[run]\naddress = 'tcp://127.0.0.1:8786'\n",
        ["run.address", "backend = 'dask'"],
    ),
    "int distribution for float": (
        "[sweep]\nmethod='random'\ntrials=3\n[params]\nlr = { distribution = 'int', low = 1, high = 5 }\n",
        ["params.lr", "'uniform', 'loguniform'"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_is_one_clear_line_exit_2_nothing_written(
    case: str, tmp_path: Path, capsys
) -> None:
    text, expected = BAD_SPECS[case]
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    assert main([str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(spec) in err
    for fragment in expected:
        assert fragment in err, (fragment, err)
    assert not out.exists()


def test_bad_input_through_the_real_command(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(BAD_SPECS["misspelt key"][0])
    result = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "did you mean 'hidden'" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["missing.toml"], "cannot read"),
        (["{spec}", "--n-jobs", "zero"], "non-zero integer"),
        (["{spec}", "--n-jobs", "0"], "non-zero integer"),
        (["{spec}", "--backend", "ray"], "invalid choice"),
        ([], "required: spec"),
    ],
)
def test_bad_command_line(args: list[str], fragment: str, tmp_path: Path, capsys) -> None:
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    argv = [a.format(spec=spec) for a in args] + ["--out", str(tmp_path / "out")]
    assert exit_status(main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_unwritable_results_folder(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main([str(spec), "--out", str(blocker)]) == 2
    assert "cannot write results" in capsys.readouterr().err


def test_huge_sweep_asks_for_yes(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "huge.toml"
    spec.write_text(
        "[sweep]\nseeds = 1000\n[params]\nhidden = [" + ", ".join(map(str, range(1, 1002))) + "]\n"
    )
    assert main([str(spec), "--out", str(tmp_path / "out")]) == 2
    assert "--yes" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["fifo", "device", "huge", "folder"])
def test_a_spec_that_is_not_a_small_regular_file_is_refused_at_once(
    kind: str, tmp_path: Path, capsys
) -> None:
    import os

    path = {"device": Path("/dev/zero"), "folder": tmp_path}.get(kind, tmp_path / "spec.toml")
    if kind == "fifo":
        os.mkfifo(path)  # opened for reading, a FIFO without a writer would block for good
    if kind == "huge":
        path.write_text(GOOD + "#" * (2 << 20))
    from tests.conftest import fails_cleanly

    fails_cleanly(capsys, main, [str(path), "--dry-run"], str(path), "cannot read the sweep spec")


def test_a_spec_with_a_byte_order_mark_is_read(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert exit_status(main, [str(path), "--dry-run"]) == 0
    assert "2 runs" in capsys.readouterr().out


def test_a_dry_run_of_a_huge_random_search_answers_at_once(tmp_path: Path, capsys) -> None:
    path = tmp_path / "big.toml"
    path.write_text(
        '[sweep]\nmethod = "random"\ntrials = 2147483647\nseeds = 1\n[params]\n'
        'lr = {distribution = "loguniform", low = 0.001, high = 10.0}\n'
    )
    assert exit_status(main, [str(path), "--dry-run", "--yes"]) == 0  # would draw 2^31 trials
    assert "up to 2,147,483,647 runs" in capsys.readouterr().out


def test_a_closed_pipe_is_not_an_error() -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    fixtures = REPO / "tests" / "fixtures"
    command = f"{sys.executable} -m xorlab.compare {fixtures / 'release01'} {fixtures / 'release02'} | head -1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 141 and result.stderr == "", result.stderr
    assert result.stdout.startswith("comparing 2 sweeps")


def test_scale_specs_that_do_not_exist_are_an_error(tmp_path: Path, capsys) -> None:
    from tests.conftest import fails_cleanly
    from xorlab.cli.bench import main as bench_main

    missing = tmp_path / "missing.toml"
    fails_cleanly(capsys, bench_main, ["--scale-specs", str(missing), str(missing)], str(missing))
