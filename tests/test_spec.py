"""The sweep spec, word for word: every way a spec can be wrong gives one message naming the
file, the line, the key and what is allowed, checked here in full (a fragment would let a wrong
line number, key or value through); and what a valid spec resolves to (defaults, [run],
the resolved spec.toml). The command-line side is in test_bad_input.py."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from xorlab.errors import SpecError
from xorlab.search.rules import (
    INT_MAX,
    Address,
    FolderName,
    Interval,
    ModuleNames,
    NonZero,
    Seeds,
    check_value,
    shown,
)
from xorlab.search.spec import MAX_SPEC_BYTES, load_spec, parse_spec

G = "[sweep]\nseeds = 2\n[params]\nhidden = [2]\nlr = [0.1]\n"
R = "[sweep]\nmethod = 'random'\ntrials = 3\n[params]\n"
B = "[sweep]\nmethod = 'basins'\nseeds = 1\n[params]\nhidden = [2]\n"

MESSAGES = {
    "no close section": (
        "[zzz]\n",
        "{path}:1: [zzz]: unknown section; allowed: sweep, params, train, basins, run",
    ),
    "section not a table": (
        "sweep = 3\n",
        "{path}: [sweep]: must be a table, e.g. [sweep]",
    ),
    "no close key": (
        G + "[train]\nqqq = 1\n",
        "{path}:7: train.qqq: unknown key; allowed: hidden, activation, lr, epochs, samples, init_scale, loss, log_every, dtype, noise, optimizer, momentum, batch_size, init, init_bias, data, solve_margin",
    ),
    "train before params": (
        "[train]\nhidden = 3\n" + G,
        "{path}:6: params.hidden: is both swept in [params] and fixed in [train]; keep one",
    ),
    "condition": (
        G + "[train]\noptimizer = 'gd'\nmomentum = 0.9\n",
        "{path}:8: train.momentum: applies only when optimizer is 'momentum', 'nesterov' or 'adam', and no run of this spec has that; remove it or set what it depends on",
    ),
    "condition swept": (
        G.replace("lr = [0.1]", "lr = [0.1]\nmomentum = [0.5, 0.9]"),
        "{path}:6: params.momentum: applies only when optimizer is 'momentum', 'nesterov' or 'adam', and no run of this spec has that; remove it or set what it depends on",
    ),
    "sampler_seed grid": (
        G.replace("seeds = 2", "seeds = 2\nsampler_seed = 1"),
        "{path}:3: sweep.sampler_seed: only applies to method = 'random'",
    ),
    "trials grid": (
        G.replace("seeds = 2", "seeds = 2\ntrials = 3"),
        "{path}:3: sweep.trials: only applies to method = 'random'",
    ),
    "random no trials": (
        "[sweep]\nmethod = 'random'\n[params]\nlr = [0.1]\n",
        "{path}:1: [sweep]: method = 'random' needs `trials` (how many configurations to sample)",
    ),
    "distribution in grid": (
        "[params]\nlr = { distribution = 'uniform', low = 0.1, high = 1.0 }\n",
        "{path}:2: params.lr: distributions need method = 'random'; use a list of values for a grid or maps",
    ),
    "distribution extra key": (
        R + "lr = { distribution = 'uniform', low = 0.1, high = 1.0, step = 0.1 }\n",
        "{path}:5: params.lr: a distribution is { distribution = ..., low = ..., high = ... }",
    ),
    "distribution missing high": (
        R + "lr = { distribution = 'uniform', low = 0.1 }\n",
        "{path}:5: params.lr: a distribution is { distribution = ..., low = ..., high = ... }",
    ),
    "distribution of activation": (
        R + "activation = { distribution = 'uniform', low = 0.1, high = 1.0 }\n",
        "{path}:5: params.activation: distribution must be a list of values, got 'uniform'",
    ),
    "int distribution for lr": (
        R + "lr = { distribution = 'int', low = 1, high = 5 }\n",
        "{path}:5: params.lr: distribution must be one of 'uniform', 'loguniform', got 'int'",
    ),
    "uniform for hidden": (
        R + "hidden = { distribution = 'uniform', low = 1, high = 5 }\n",
        "{path}:5: params.hidden: distribution must be one of 'int', 'logint', got 'uniform'",
    ),
    "inf bound": (
        R + "lr = { distribution = 'uniform', low = 0.1, high = inf }\n",
        "{path}:5: params.lr: low and high must be finite numbers, got (0.1, inf)",
    ),
    "string bound": (
        R + "lr = { distribution = 'uniform', low = 'a', high = 1.0 }\n",
        "{path}:5: params.lr: low and high must be finite numbers, got ('a', 1.0)",
    ),
    "int bound past the largest float": (
        R + "lr = { distribution = 'uniform', low = 1, high = 1" + "0" * 400 + " }\n",
        "{path}:5: params.lr: low and high must be finite numbers, got (1, 1"
        + "0" * 52  # cut at 60 characters
        + "...",
    ),
    "hidden bound 0": (
        R + "hidden = { distribution = 'int', low = 0, high = 5 }\n",
        "{path}:5: params.hidden: must be an integer >= 1 (at most 2147483647), got 0",
    ),
    "scalar": (
        "[params]\nhidden = 2\n",
        "{path}:2: params.hidden: must be a list of values to try (to fix it, move it to [train]), got 2",
    ),
    "long scalar": (
        "[params]\nactivation = '" + "x" * 100 + "'\n",
        "{path}:2: params.activation: must be a list of values to try (to fix it, move it to [train]), got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...",
    ),
    "empty": (
        "[params]\nhidden = []\n",
        "{path}:2: params.hidden: is an empty list; give at least one value",
    ),
    "bad value": (
        "[params]\nhidden = [2, 0]\n",
        "{path}:2: params.hidden: every value must be an integer >= 1 (at most 2147483647), got 0",
    ),
    "repeated": (
        "[params]\nhidden = [2, 4, 2]\n",
        "{path}:2: params.hidden: has repeated values [2, 4, 2]",
    ),
    "address without dask": (
        G + "[run]\naddress = 'tcp://127.0.0.1:8786'\n",
        "{path}:7: run.address: needs backend = 'dask' (a Dask scheduler address)",
    ),
    "import missing": (
        G + "[run]\nimports = ['no_such_module_xyz']\n",
        "{path}:7: run.imports: cannot import 'no_such_module_xyz': No module named 'no_such_module_xyz'",
    ),
    "bad address": (
        G + "[run]\nbackend = 'dask'\naddress = 'nonsense'\n",
        "{path}:8: run.address: must be a Dask scheduler address such as 'tcp://127.0.0.1:8786', got 'nonsense'",
    ),
    "bad import name": (
        G + "[run]\nimports = ['1x']\n",
        "{path}:7: run.imports: must be a list of module names, e.g. ['mypackage.activations'], got ['1x']",
    ),
    "n_jobs huge": (
        G + "[run]\nn_jobs = 2147483648\n",
        "{path}:7: run.n_jobs: must be a non-zero integer (-1 = all cores, -2 = all but one, ...), got 2147483648",
    ),
    "timeout 0": (
        G + "[run]\ntimeout = 0\n",
        "{path}:7: run.timeout: must be a finite number > 0 and <= 86400, got 0.0",
    ),
    "timeout huge int": (
        G + "[run]\ntimeout = 9223372036854775807\n",
        "{path}:7: run.timeout: must be a finite number > 0 and <= 86400, got 9.223372036854776e+18",
    ),
    "seeds 0": (
        "[sweep]\nseeds = 0\n",
        "{path}:2: sweep.seeds: must be a count >= 1 or a non-empty list of distinct integers from 0 to 2147483647, got 0",
    ),
    "seeds negative": (
        "[sweep]\nseeds = [-1]\n",
        "{path}:2: sweep.seeds: must be a count >= 1 or a non-empty list of distinct integers from 0 to 2147483647, got [-1]",
    ),
    "seeds huge": (
        "[sweep]\nseeds = [2147483648]\n",
        "{path}:2: sweep.seeds: must be a count >= 1 or a non-empty list of distinct integers from 0 to 2147483647, got [2147483648]",
    ),
    "name 101": (
        "[sweep]\nname = '" + "a" * 101 + "'\n",
        "{path}:2: sweep.name: must be a folder name of at most 100 characters: letters, digits, '_', '-' and '.', not starting with '.' or '-', got 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...",
    ),
    "name dot": (
        "[sweep]\nname = '.'\n",
        "{path}:2: sweep.name: must be a folder name of at most 100 characters: letters, digits, '_', '-' and '.', not starting with '.' or '-', got '.'",
    ),
    "basins for grid": (
        G + "[basins]\nx = 'W1[0,0]'\n",
        "{path}:6: [basins]: only applies to method = 'basins'",
    ),
    "basins no table": (
        B,
        "{path}:2: sweep.method: 'basins' needs a [basins] table (x, y, span and points)",
    ),
    "basins no x": (
        B + "[basins]\ny = 'b2'\nspan = [-1, 1]\n",
        "{path}:6: [basins]: needs `x`; a weight by name (W1[i,j], b1[i], W2[i], b2) or 'random'",
    ),
    "basins no y": (
        B + "[basins]\nx = 'b2'\nspan = [-1, 1]\n",
        "{path}:6: [basins]: needs `y`; a weight by name (W1[i,j], b1[i], W2[i], b2) or 'random'",
    ),
    "basins no span": (
        B + "[basins]\nx = 'b2'\ny = 'W2[0]'\n",
        "{path}:6: [basins]: needs `span`; [low, high] with low < high, numbers from -1e6 to 1e6 (offsets from the base point along both axes), or [[x_low, x_high], [y_low, y_high]]",
    ),
    "basins bad x": (
        B + "[basins]\nx = 'W9'\ny = 'b2'\nspan = [-1, 1]\n",
        "{path}:7: basins.x: 'W9' is not a weight: name one as W1[i,j], b1[i], W2[i] or b2 (hidden unit i, input j), or say 'random'",
    ),
    "basins x out of net": (
        B + "[basins]\nx = 'W1[0,5]'\ny = 'b2'\nspan = [-1, 1]\n",
        "{path}:7: basins.x: 'W1[0,5]' does not exist: the net has 2 inputs (j is 0 or 1)",
    ),
    "basins y out of net": (
        B + "[basins]\nx = 'W1[0,0]'\ny = 'W2[7]'\nspan = [-1, 1]\n",
        "{path}:8: basins.y: 'W2[7]' does not exist at hidden = 2 (units 0 to 1)",
    ),
    "basins y out of net beside a random x": (
        B + "[basins]\nx = 'random'\ny = 'W2[7]'\nspan = [-1, 1]\n",
        "{path}:8: basins.y: 'W2[7]' does not exist at hidden = 2 (units 0 to 1)",
    ),
    "basins same": (
        B + "[basins]\nx = 'b2'\ny = 'b2'\nspan = [-1, 1]\n",
        "{path}:8: basins.y: is the weight x moves (b2); map two weights",
    ),
    "basins span": (
        B + "[basins]\nx = 'b2'\ny = 'W2[0]'\nspan = [1, -1]\n",
        "{path}:9: basins.span: must be [low, high] with low < high, numbers from -1e6 to 1e6 (offsets from the base point along both axes), or [[x_low, x_high], [y_low, y_high]], got [1, -1]",
    ),
    "basins span 3": (
        B + "[basins]\nx = 'b2'\ny = 'W2[0]'\nspan = [[0, 1], [0, 1], [0, 1]]\n",
        "{path}:9: basins.span: must be [low, high] with low < high, numbers from -1e6 to 1e6 (offsets from the base point along both axes), or [[x_low, x_high], [y_low, y_high]], got [[0, 1], [0, 1], [0, 1]]",
    ),
    "basins points 1": (
        B + "[basins]\nx = 'W1[0,0]'\ny = 'W2[0]'\nspan = [-1, 1]\npoints = 1\n",
        "{path}:10: basins.points: must be an integer >= 2 and <= 2001, got 1",
    ),
    "basins bias zero x": (
        B + "[basins]\nx = 'b2'\ny = 'W2[0]'\nspan = [-1, 1]\n",
        "{path}:7: basins.x: b2 is not drawn with init_bias = 'zero' (the biases start at 0, not from the seed); set init_bias = 'same' to map a bias",
    ),
    "basins bias zero y": (
        B + "[train]\ninit_bias = 'zero'\n[basins]\nx = 'W2[0]'\ny = 'b1[0]'\nspan = [-1, 1]\n",
        "{path}:10: basins.y: b1[0] is not drawn with init_bias = 'zero' (the biases start at 0, not from the seed); set init_bias = 'same' to map a bias",
    ),
    "basins bias swept": (
        B + "init_bias = ['zero', 'same']\n[basins]\nx = 'W2[0]'\ny = 'b2'\nspan = [-1, 1]\n",
        "{path}:9: basins.y: b2 is not drawn with init_bias = 'zero' (the biases start at 0, not from the seed); set init_bias = 'same' to map a bias",
    ),
    "basins narrow": (
        B
        + "[train]\ninit_bias = 'same'\n[basins]\nx = 'W2[0]'\ny = 'b2'\nspan = [1.0, 1.0000000000000002]\npoints = 5\n",
        "{path}:11: basins.span: [1.0, 1.0000000000000002] is too narrow for 5 distinct points",
    ),
}


@pytest.mark.parametrize("case", MESSAGES)
def test_every_spec_error_word_for_word(case: str, tmp_path: Path) -> None:
    text, expected = MESSAGES[case]
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == expected.replace("{path}", str(path))


def test_an_error_without_the_specs_text_names_no_line() -> None:
    """parse_spec from Python (a dict, no file text): the message has no line, never 'None'."""
    with pytest.raises(SpecError) as error:
        parse_spec({"sweeps": {}}, Path("mine.toml"))
    assert str(error.value) == (
        "mine.toml: [sweeps]: unknown section; did you mean 'sweep'? "
        "allowed: sweep, params, train, basins, run"
    )


def test_a_name_taken_from_the_file_must_be_a_folder_name(tmp_path: Path) -> None:
    path = tmp_path / "my sweep.toml"
    path.write_text(G)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == (
        f"{path}:1: [sweep]: no name given, and the file's stem 'my sweep' is not a folder name "
        "of at most 100 characters: letters, digits, '_', '-' and '.', not starting with '.' "
        "or '-'; set [sweep] name"
    )
    path.write_text(G.replace("seeds = 2", "seeds = 2\nname = 'mine'"))
    assert load_spec(path).name == "mine"


def test_what_a_spec_resolves_to(tmp_path: Path) -> None:
    path = tmp_path / "random.toml"
    path.write_text(R + "lr = { distribution = 'uniform', low = 1, high = 2 }\n")
    spec = load_spec(path)
    assert (spec.path, spec.name, spec.sampler_seed, spec.seeds) == (path, "random", 0, range(5))
    assert spec.to_dict()["sweep"] == {
        "name": "random",
        "method": "random",
        "seeds": 5,
        "trials": 3,
        "sampler_seed": 0,
    }
    assert spec.to_dict()["params"]["lr"] == {"distribution": "uniform", "low": 1, "high": 2}
    path.write_text(R.replace("trials", "sampler_seed = 7\ntrials") + "lr = [0.1, 1.0]\n")
    assert load_spec(path).sampler_seed == 7
    listed = parse_spec({"sweep": {"seeds": [3, 1]}, "params": {"hidden": [2]}}, path)
    assert listed.seeds == (3, 1) and listed.to_dict()["sweep"]["seeds"] == [3, 1]
    counted = parse_spec({"sweep": {"seeds": 2}, "params": {"hidden": [2]}}, path)
    assert counted.to_dict()["sweep"]["seeds"] == 2 and "trials" not in counted.to_dict()["sweep"]


def test_run_options_resolve_and_round_trip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "xorlab_spec_plugin.py").write_text("LOADED = True\n")
    monkeypatch.delitem(sys.modules, "xorlab_spec_plugin", raising=False)
    run = {
        "backend": "dask",
        "address": "tcp://127.0.0.1:8786",
        "imports": ["xorlab_spec_plugin"],
        "n_jobs": 2,
    }
    spec = parse_spec({"params": {"hidden": [2]}, "run": run}, tmp_path / "s.toml")
    assert sys.modules["xorlab_spec_plugin"].LOADED
    assert (spec.run.backend, spec.run.address, spec.run.imports, spec.run.n_jobs) == (
        "dask",
        "tcp://127.0.0.1:8786",
        ("xorlab_spec_plugin",),
        2,
    )
    assert spec.to_dict()["run"] == run | {"timeout": spec.run.timeout}
    plain = parse_spec({"params": {"hidden": [2]}}, tmp_path / "s.toml").to_dict()["run"]
    assert "address" not in plain and "imports" not in plain


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("raise RuntimeError('no GPU here')", "no GPU here"),
        ("import sys; sys.exit()", "SystemExit"),  # exits without a message: its type is named
        ("raise ValueError", "ValueError"),
    ],
)
def test_an_import_that_fails_says_why(body: str, reason: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"xorlab_broken_{abs(hash(body))}"
    (tmp_path / f"{name}.py").write_text(body + "\n")
    with pytest.raises(SpecError) as error:
        parse_spec({"params": {"hidden": [2]}, "run": {"imports": [name]}}, Path("s.toml"))
    assert str(error.value) == f"s.toml: run.imports: cannot import {name!r}: {reason}"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import os

    path = tmp_path / "spec.toml"
    os.mkfifo(path)
    errors: list = []
    reader = threading.Thread(target=lambda: errors.append(_error_of(path)), daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "load_spec blocked on a FIFO"
    assert errors == [f"{path}: cannot read the sweep spec: not a regular file"]


def _error_of(path: Path) -> str:
    try:
        load_spec(path)
    except SpecError as error:
        return str(error)
    return "no error"


def test_the_spec_file_limits_and_their_messages(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(G + "#" * (MAX_SPEC_BYTES - len(G) - 1) + "\n")
    assert path.stat().st_size == MAX_SPEC_BYTES and load_spec(path).params["hidden"] == [2]
    path.write_text(G + "#" * (MAX_SPEC_BYTES - len(G)) + "\n")
    assert _error_of(path) == f"{path}: cannot read the sweep spec: larger than 1,048,576 bytes"
    path.write_bytes(G.encode() + b"# caf\xe9\n")
    assert _error_of(path) == (
        f"{path}: cannot read the sweep spec: not UTF-8 text (invalid continuation byte at byte "
        f"{len(G) + 5})"
    )
    missing = tmp_path / "missing.toml"
    assert _error_of(missing) == f"{missing}: cannot read the sweep spec: No such file or directory"


# -- the rules every value is checked against -----------------------------------------------------


def test_integer_and_number_limits() -> None:
    count = Interval(int, 1)
    assert count.accepts(INT_MAX) and not count.accepts(INT_MAX + 1)  # int32, also without high
    assert Interval(float, 0).accepts(1e300) and not Interval(float, 0).accepts(float("inf"))
    assert not count.accepts(True) and not count.accepts(2.0)
    assert (
        check_value(Interval(float, 0), 3) == 3.0 and type(check_value(Interval(float), 3)) is float
    )
    with pytest.raises(ValueError) as error:
        check_value(Interval(float, 0), 10**400)  # an integer too large for a float: infinite
    assert str(error.value) == "must be a finite number >= 0, got inf"
    assert check_value(Interval(float), 2**1023) == pytest.approx(8.98846567431158e307)
    with pytest.raises(ValueError) as error:
        check_value(count, "3")
    assert str(error.value) == f"must be an integer >= 1 (at most {INT_MAX}), got '3'"


def test_values_in_messages_are_cut_at_sixty_characters() -> None:
    assert shown("x" * 58) == repr("x" * 58)  # 60 with its quotes: whole
    assert shown("x" * 59) == "'" + "x" * 56 + "..."  # 61: cut to 60
    assert len(shown(list(range(1000)))) == 60


def test_the_other_rules_at_their_edges() -> None:
    name = FolderName()
    assert name.accepts("a" * 100) and not name.accepts("a" * 101)
    assert name.accepts("Run_2.b-c") and not name.accepts(".x") and not name.accepts("-x")
    assert not name.accepts(5) and not name.accepts("a/b")
    seeds = Seeds()
    assert seeds.accepts(1) and seeds.accepts([0]) and seeds.accepts([INT_MAX])
    assert not seeds.accepts(0) and not seeds.accepts([-1]) and not seeds.accepts([0, 0])
    assert not seeds.accepts([]) and not seeds.accepts([1.0]) and not seeds.accepts(True)
    assert not seeds.accepts(INT_MAX + 1)
    assert NonZero().accepts(INT_MAX) and NonZero().accepts(-1) and not NonZero().accepts(0)
    address = Address()
    assert address.accepts("") and address.accepts("127.0.0.1:8786")
    assert address.accepts("tls://scheduler:8786") and not address.accepts(8786)
    assert not address.accepts("tcp://127.0.0.1") and not address.accepts("a b:1")
    modules = ModuleNames()
    assert modules.accepts(["Pkg.sub_mod", "_x"]) and modules.accepts([])
    assert not modules.accepts("pkg") and not modules.accepts([5]) and not modules.accepts(["1x"])


def test_a_map_has_101_points_a_side_unless_told_and_at_least_2(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text(B + "[basins]\nx = 'W1[0,0]'\ny = 'W2[0]'\nspan = [-1, 1]\n")
    assert load_spec(path).map.points == 101
    path.write_text(path.read_text() + "points = 2\n")
    assert load_spec(path).map.points == 2
