"""Figures, the report page, `python -m xorlab.plot` and `python -m xorlab.compare` on real sweeps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from tests.conftest import TINY_SPEC, run_cli

RANDOM_SPEC = """
[sweep]
name = "rand"
method = "random"
trials = 8
seeds = 2
[params]
activation = ["tanh", "relu"]
lr = { distribution = "loguniform", low = 0.05, high = 5.0 }
init_scale = { distribution = "uniform", low = 0.01, high = 1.0 }
[train]
epochs = 200
hidden = 4
"""


def assert_real_png(path: Path) -> None:
    assert path.is_file(), path
    assert path.stat().st_size > 15_000, path
    pixels = imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 300
    assert pixels[..., :3].std() > 0.05, f"{path.name} looks blank"


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> Path:
    """Two real grid sweeps of the same grid under two epoch budgets, and a random search."""
    root = tmp_path_factory.mktemp("sweeps")
    for name, text in {
        "long": TINY_SPEC.replace('name = "tiny"', 'name = "long"'),
        "short": TINY_SPEC.replace('name = "tiny"', 'name = "short"')
        .replace("epochs = 300", "epochs = 60")
        .replace("lr = [0.1, 1.0]", "lr = [0.1, 1.0, 3.0]"),
        "rand": RANDOM_SPEC,
    }.items():
        (root / f"{name}.toml").write_text(text)
        result = run_cli("xorlab.sweep", str(root / f"{name}.toml"), "--out", str(root / "results"))
        assert result.returncode == 0, result.stderr
    return root / "results"


@pytest.mark.parametrize(
    "name", ["solve_rate_heatmap.png", "loss_curves.png", "seeds.png", "decision_boundaries.png"]
)
def test_grid_figures_are_real_pngs(sweeps: Path, name: str) -> None:
    assert_real_png(sweeps / "long" / "figures" / name)


def test_random_search_gets_a_scatter_per_sampled_setting(sweeps: Path) -> None:
    figures = sweeps / "rand" / "figures"
    assert_real_png(figures / "settings_scatter.png")
    assert not (figures / "solve_rate_heatmap.png").exists()  # no grid to draw


def test_report_references_only_files_that_exist(sweeps: Path) -> None:
    for name in ("long", "rand"):
        page = (sweeps / name / "report.html").read_text()
        references = re.findall(r'(?:src|srcset|href)="([^"# ]+)', page)
        assert references, "the report shows the figures"
        for reference in references:
            assert not reference.startswith(("http:", "https:", "/")), reference
            assert (sweeps / name / reference).is_file(), reference
        assert "solved XOR on" in page and "Resolved spec" in page and "runs_total" in page


def test_plot_command_redraws_figures_and_report(sweeps: Path) -> None:
    figures = sweeps / "long" / "figures"
    for png in figures.glob("*.png"):
        png.unlink()
    (sweeps / "long" / "report.html").unlink()
    result = run_cli("xorlab.plot", str(sweeps / "long"))
    assert result.returncode == 0, result.stderr
    assert_real_png(figures / "loss_curves.png")
    assert (sweeps / "long" / "report.html").is_file()
    missing = run_cli("xorlab.plot", str(sweeps / "nothing"))
    assert missing.returncode == 2 and "not a results folder" in missing.stderr


def test_compare_two_real_sweeps(sweeps: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = run_cli(
        "xorlab.compare",
        str(sweeps / "long"),
        str(sweeps / "short" / "runs.csv"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "epochs: long = 300, short = 60" in result.stdout
    assert lines.index("conditions (fixed settings that differ between the sweeps):") < 3
    assert "matched on: hidden, activation, lr; 8 configurations in common" in result.stdout
    assert "Fisher's exact test" in result.stdout
    assert "only in short: 4 configurations" in result.stdout
    table = pd.read_csv(out / "compare.csv")
    assert {
        "solve_rate_long",
        "solve_rate_short",
        "solve_rate_diff_short",
        "p_value_short",
        "present_in",
    } <= set(table.columns)
    common = table[table["present_in"] == "all"]
    assert len(common) == 8
    from scipy.stats import fisher_exact as scipy_fisher

    keys = ["hidden", "activation", "lr"]
    long = pd.read_csv(sweeps / "long" / "runs.csv").groupby(keys)["solved"].agg(["sum", "size"])
    short = pd.read_csv(sweeps / "short" / "runs.csv").groupby(keys)["solved"].agg(["sum", "size"])
    for _, row in common.iterrows():  # every number from the two runs.csv, independently
        key = tuple(row[k] for k in keys)
        (k1, n1), (k2, n2) = long.loc[key], short.loc[key]
        assert (row["solved_long"], row["n_long"], row["solved_short"], row["n_short"]) == (
            k1,
            n1,
            k2,
            n2,
        )
        assert row["solve_rate_diff_short"] == pytest.approx(k2 / n2 - k1 / n1)
        expected = scipy_fisher([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert row["p_value_short"] == pytest.approx(expected, rel=1e-9)
    assert_real_png(out / "compare.png")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root, tmp: [str(tmp / "missing"), str(root / "long")], "no such results folder"),
        (
            lambda root, tmp: [str(root / "long" / "spec.toml"), str(root / "long")],
            "not an xorlab runs table",
        ),
        (
            lambda root, tmp: [str(root / "long" / "summary.csv"), str(root / "long")],
            "not an xorlab runs table",
        ),
        (lambda root, tmp: [str(root / "long"), str(root / "rand")], "no configuration in common"),
        (lambda root, tmp: [str(root / "long")], "at least two"),
    ],
)
def test_compare_errors_are_one_clear_line(
    sweeps: Path, tmp_path: Path, make, message: str
) -> None:
    result = run_cli("xorlab.compare", *make(sweeps, tmp_path), "--out", str(tmp_path / "cmp"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_of_a_sweep_with_no_finished_run(tmp_path: Path) -> None:
    """Ctrl-C before the first chunk finishes leaves no run: the page still renders."""
    from xorlab.analysis.tables import runs_table, summary_table
    from xorlab.visualization.page import report_html

    page = report_html(tmp_path, summary_table(runs_table([])), {"sweep": {"name": "x"}}, [])
    assert "Sweep <code>x</code>" in page


def test_runs_retrained_from_runs_csv_reproduce_their_numbers(sweeps: Path) -> None:
    """What decision_boundaries.png relies on: a row of runs.csv is enough to retrain its run."""
    from xorlab.analysis.tables import configuration_label, decision_surfaces, summary_table
    from xorlab.training.config import RunConfig
    from xorlab.training.engine import train_batch

    runs = pd.read_csv(sweeps / "long" / "runs.csv")
    for _, row in runs.sample(6, random_state=0).iterrows():
        config = RunConfig.from_mapping(row)
        assert config.run_id == row["run_id"]
        (result,) = train_batch([config])
        assert result.final_loss == row["final_loss"] and result.solved == row["solved"]
    settings = ["hidden", "activation", "lr"]
    summary = summary_table(runs)
    surfaces = decision_surfaces(runs, summary, settings)
    assert set(surfaces["which"]) == {"best seed", "worst seed"}
    solved = [
        configuration_label(r, settings)
        for _, r in summary.head(3).iterrows()
        if r["solve_rate"] > 0
    ]
    corners = surfaces[surfaces["x0"].isin([0.0, 1.0]) & surfaces["x1"].isin([0.0, 1.0])]
    best = corners[(corners["which"] == "best seed") & corners["configuration"].isin(solved)]
    assert len(best) == 4 * len(solved) > 0
    assert ((best["output"] > 0.5) == (best["x0"] != best["x1"])).all()


def test_replay_snapshots_sit_where_the_outputs_change() -> None:
    """Outputs flat until epoch 1300, moving until 1700, flat again: the two inner snapshots
    fall inside the move (evenly spaced ones would sit at 1000 and 2000)."""
    from xorlab.visualization.story import snapshot_epochs

    epochs = np.arange(3001)
    move = np.clip((epochs - 1300) / 400, 0, 1)
    outputs = np.stack([0.5 - 0.4 * move, 0.5 + 0.4 * move, 0.5 + 0.4 * move, 0.5 - 0.4 * move], 1)
    shown = snapshot_epochs(outputs)
    assert shown[0] == 0 and shown[-1] == 3000 and len(shown) == 4
    assert all(1300 < e < 1700 for e in shown[1:-1])
    flat = snapshot_epochs(np.full((11, 4), 0.5))  # nothing moves: evenly spaced
    assert list(flat) == [0, 3, 7, 10]


def test_degenerate_sweeps_draw_no_empty_or_repeated_panels() -> None:
    """Every run failed: the seeds figure has no empty "how fast" panel, and decision
    boundaries that are all the same function are drawn once."""
    from xorlab.visualization.boundaries import decision_boundaries_figure
    from xorlab.visualization.curves import seeds_figure

    points = pd.DataFrame(
        {
            "activation": "sigmoid",
            "hidden": [2, 2, 4, 4],
            "slot": [0.0, 0.0, 1.0, 1.0],
            "x_epochs": [0.0, 0.1, 1.0, 1.1],
            "x_loss": [0.0, 0.1, 1.0, 1.1],
            "solved": False,
            "status": "ok",
            "epochs_to_solve": np.nan,
            "final_loss": [0.6931, 0.6930, 0.6929, 0.6932],
            "loss": "bce",
            "seed": [0, 1, 0, 1],
        }
    )
    figure = seeds_figure(points)
    assert len(figure.axes) == 1 and "no seed solved XOR" in figure.axes[0].get_title()
    grid = np.linspace(-0.5, 1.5, 5)
    x0, x1 = (a.ravel() for a in np.meshgrid(grid, grid))
    surfaces = pd.concat(
        pd.DataFrame({"configuration": c, "which": w, "seed": 0, "x0": x0, "x1": x1, "output": 0.5})
        for c in ("hidden 2", "hidden 4")
        for w in ("best seed", "worst seed")
    )
    alike = decision_boundaries_figure(surfaces)
    assert "learned the same function" in alike._suptitle.get_text()
    assert sum(1 for ax in alike.axes if ax.get_title()) == 1
    surfaces.loc[surfaces["configuration"] == "hidden 4", "output"] = np.linspace(0, 1, 50)
    assert sum(1 for ax in decision_boundaries_figure(surfaces).axes if ax.get_title()) == 4


def test_a_sweep_of_one_configuration_draws_every_seed() -> None:
    """PDP's protocol is one configuration over seeds: the loss figure draws each seed (not
    "each hidden size at its best settings", of which there is one)."""
    from xorlab.visualization.render import _loss_figure

    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "seed": [0, 1, 2],
            "activation": "sigmoid",
            "hidden": 2,
            "lr": 1.0,
            "loss": "mse",
            "status": "ok",
            "solved": [True, True, False],
        }
    )
    epochs = np.arange(0, 101, 10)
    curves = pd.concat(
        pd.DataFrame({"run_id": r, "epoch": epochs, "loss": 0.25 * np.exp(-epochs / (50 + i))})
        for i, r in enumerate("abc")
    )
    figure = _loss_figure(runs, lambda ids: curves[curves["run_id"].isin(ids)])
    assert "every seed of the one configuration" in figure._suptitle.get_text()
    assert "2/3 solved" in figure._suptitle.get_text()
    assert len(figure.axes[0].lines) >= 3 + 1  # a line per seed and the median


# Machado, Oliveira & Fernandes (2009), severity 1, applied to linear RGB
CVD = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
}


def cielab(hex_colors: list[str], vision: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB colours as seen with a colour-vision matrix."""
    rgb = np.array([[int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)] for h in hex_colors])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ vision.T, 0, 1)
    xyz = (
        seen
        @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    )
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


@pytest.mark.parametrize("vision", list(CVD))
def test_outcome_and_activation_colours_stay_apart_under_colour_blindness(vision: str) -> None:
    """Every outcome colour and every activation colour at least 10 CIELAB units (Delta E
    1976) from every other, seen normally and with simulated protanopia and deuteranopia
    (0.3's solved, local_minimum and dead_units all looked olive to a deuteranope)."""
    from xorlab.training.diagnosis import OUTCOMES
    from xorlab.visualization.style import ACTIVATION_COLORS, OUTCOME_COLORS

    assert set(OUTCOME_COLORS) == set(OUTCOMES)
    colours = [*OUTCOME_COLORS.values(), *ACTIVATION_COLORS.values()]
    lab = cielab(colours, CVD[vision])
    distance = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(distance, np.inf)
    assert distance.min() >= 10, distance.min()


def test_legends_sit_outside_the_data_and_facets_are_labelled_once(tmp_path: Path) -> None:
    """The loss curves' legends are below their panels, not over the curves; the heatmap
    labels its panel columns once at the top and its panel rows once at the right."""
    from xorlab.visualization.curves import loss_curves_figure
    from xorlab.visualization.heatmap import heatmap_data, heatmap_figure, heatmap_layout

    rows = [
        {"run_id": f"{a}{h}{o}{s}", "activation": a, "hidden": h, "optimizer": o, "lr": 0.5}
        | {"seed": s, "status": "ok", "solved": s > 0, "epochs_to_solve": 10.0 if s else None}
        | {"final_loss": 0.1, "final_accuracy": 1.0, "outcome": "solved", "epochs": 100}
        | {"log_every": 10, "loss": "bce"}
        for a in ("tanh", "relu")
        for h in (2, 4)
        for o in ("gd", "adam")
        for s in range(3)
    ]
    runs = pd.DataFrame(rows)
    bands = pd.DataFrame(
        [
            {"activation": a, "hidden": h, "label": f"hidden {h}", "epoch": e}
            | {"q25": 0.5 / (e + 1), "q50": 0.6 / (e + 1), "q75": 0.7 / (e + 1)}
            for a in ("tanh", "relu")
            for h in (2, 4)
            for e in range(0, 101, 10)
        ]
    )
    figure = loss_curves_figure(runs, bands)
    figure.canvas.draw()
    for ax in figure.axes:
        legend = ax.get_legend()
        assert legend is not None
        inside = ax.get_window_extent()
        assert legend.get_window_extent().y1 < inside.y0  # wholly below the panel
    runs["lr"] = [0.1, 1.0] * (len(runs) // 2)
    layout = heatmap_layout(runs, ["hidden", "lr", "activation", "optimizer"])
    heat = heatmap_figure(heatmap_data(runs, layout), layout)
    titles = [ax.get_title() for ax in heat.axes if ax.get_title()]
    assert sorted(titles) == ["activation = relu", "activation = tanh"]
    margins = [t.get_text() for ax in heat.axes for t in ax.texts if "optimizer" in t.get_text()]
    assert sorted(margins) == ["optimizer = adam", "optimizer = gd"]


def test_the_explorer_s_plotly_unpacks_to_plotly_js_and_is_written_once(sweeps: Path) -> None:
    """plotly.gz.js holds plotly.js byte for byte (gzip inside base64); `plot` keeps it when
    it holds this version, writes it again when damaged, and removes the plotly.min.js an
    earlier 0.4.dev wrote beside the explorer."""
    import base64
    import gzip

    import plotly.offline

    folder = sweeps / "long"
    script = (folder / "plotly.gz.js").read_text()
    packed = re.search(r'atob\("([A-Za-z0-9+/=]+)"\)', script).group(1)
    assert gzip.decompress(base64.b64decode(packed)) == plotly.offline.get_plotlyjs().encode()
    assert (folder / "plotly.gz.js").stat().st_size < 2.2e6
    (folder / "plotly.min.js").write_text("old")
    before = (folder / "plotly.gz.js").stat().st_mtime_ns
    assert run_cli("xorlab.plot", str(folder)).returncode == 0
    assert (folder / "plotly.gz.js").stat().st_mtime_ns == before  # this version: kept
    assert not (folder / "plotly.min.js").exists()
    (folder / "plotly.gz.js").write_text(script[: len(script) // 2])  # torn
    assert run_cli("xorlab.plot", str(folder)).returncode == 0
    assert (folder / "plotly.gz.js").read_text() == script


def test_replay_commands_in_the_pages_survive_odd_folder_names() -> None:
    """A folder with a space and '</script>' in its path: the command is quoted for a shell
    and cannot end the explorer's script."""
    from xorlab.visualization.explorer import explorer_data, explorer_html

    summary = pd.DataFrame(
        {
            "hidden": [2],
            "lr": [0.1],
            "n_seeds": [3],
            "failed": [0],
            "solve_rate": [1 / 3],
            "solve_rate_low": [0.06],
            "solve_rate_high": [0.79],
            "epochs_to_solve_median": [12.0],
        }
    )
    folder = Path("/tmp/a b/</script><b>x")
    page = explorer_html("x", folder, explorer_data(summary, ["hidden", "lr"], ["abc123abc123"]))
    script = page.split("<script>", 1)[1]
    assert script.count("</script>") == 1  # only the script's own end
    assert "'/tmp/a b/<\\/script><b>x'" in script


@pytest.mark.parametrize("panels_wide", [1, 3, 8, 24])
def test_text_stays_readable_at_the_size_the_report_shows_a_figure(panels_wide: int) -> None:
    """The report shows an image at 1/DENSITY of its pixels, at most 1370 px wide: the
    smallest text of a heatmap with many panel columns must still be at least MIN_TEXT_PX
    there (a 6-column heatmap was 31 inches wide, its 7 pt cell labels 4 px on the page)."""
    import matplotlib.text

    from xorlab.visualization.heatmap import heatmap_data, heatmap_figure, heatmap_layout
    from xorlab.visualization.style import DENSITY, DPI, MIN_TEXT_PX

    rows = [
        {"hidden": h, "lr": lr, "init": f"i{p}", "seed": 0, "status": "ok", "solved": True}
        for h in (2, 4, 8)
        for lr in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
        for p in range(panels_wide)
    ]
    runs = pd.DataFrame(rows)
    settings = ["hidden", "lr", "init"] if panels_wide > 1 else ["hidden", "lr"]
    layout = heatmap_layout(runs, settings)
    figure = heatmap_figure(heatmap_data(runs, layout), layout)
    width = figure.get_size_inches()[0] * DPI / DENSITY
    shown = min(1.0, 1370 / width)
    sizes = [t.get_fontsize() for t in figure.findobj(matplotlib.text.Text) if t.get_text().strip()]
    assert min(sizes) * DPI / DENSITY / 72 * shown >= MIN_TEXT_PX


def test_compare_names_a_setting_that_does_not_apply_with_a_dash(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """0.3's truth-table sweep has no `samples` (a nullable integer column: pandas' NA), which
    reads '-' as everywhere else, not '<NA>'; a folder given as '.' is named by its own name."""
    from xorlab.cli.compare import main as compare_main
    from xorlab.training.config import format_value

    shown = [format_value(v) for v in (pd.NA, None, float("nan"), 0.5, 3)]
    assert shown == ["-", "-", "-", "0.5", "3"]
    fixtures = Path(__file__).parent / "fixtures"
    monkeypatch.chdir(fixtures / "release02")
    assert compare_main([".", str(fixtures / "release03"), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("comparing 2 sweeps: release02 (.), release03 (")
    assert "  samples: release02 = 1000, release03 = -\n" in out


def test_a_comparison_over_one_varying_setting_draws_labelled_bars() -> None:
    """Two configurations in common, differing in the optimizer only: bars named by it, in the
    heatmaps' colours, each with its solved seeds, every label inside the figure."""
    from xorlab.analysis.comparison import compare, comparison_figure
    from xorlab.storage.loader import load

    fixtures = Path(__file__).parent / "fixtures"
    sweeps = {name: load(fixtures / name).runs for name in ("release02", "release03")}
    table, keys, _ = compare(sweeps)
    figure = comparison_figure(table, keys, list(sweeps))
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["gd", "momentum"]
    assert ax.get_xlabel() == "optimizer" and ax.get_ylabel() == "solve rate difference"
    assert [t.get_text() for t in ax.texts] == ["0/2\n-> 1/2", "0/2\n-> 1/2"]
    assert len({tuple(p.get_facecolor()) for p in ax.patches}) == 1  # equal differences alike
    assert "bars: solved seeds release02 ->" in figure._suptitle.get_text().replace("\n", " ")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    width, height = figure.get_size_inches()
    box = figure.get_tightbbox(renderer)  # inches
    assert min(box.x0, box.y0, width - box.x1, height - box.y1) > -0.01
