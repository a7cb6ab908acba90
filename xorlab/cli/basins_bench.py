"""python -m xorlab.bench --basins: what maps of starting points cost (issue 22).

1. The 201 x 201 maps of sweeps/basins.toml (2 maps, 80,802 runs, 2000 epochs) through the real
   command: wall time, peak memory and the time from the last run stored to exit; against the
   same runs as an ordinary grid sweep (the same settings, as many seeds instead of points)
   measured in the same run; and what the map's own outputs cost (basins.csv and its figures,
   from the stored runs).
2. The 1001 x 1001 map of sweeps/scale/basins1m.toml (1,002,001 runs, 300 epochs): wall time,
   the peak RSS summed over the sweep and its workers, the folder's size, the map's outputs, and
   the resolution its figure is drawn at.
Each figure is printed beside its target as a share of it.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from xorlab.cli.measure import measured_sweep
from xorlab.cli.scale import MB, folder_size, share, sweep_and_tail
from xorlab.search.spec import load_spec

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"
SMALL, LARGE = SWEEPS / "basins.toml", SWEEPS / "scale" / "basins1m.toml"


def _as_grid(spec: Path, folder: Path) -> Path:
    """The map's runs as an ordinary grid: method grid, as many seeds per configuration as the
    map has points, no [basins] table."""
    loaded = load_spec(spec)
    text = spec.read_text()
    text = re.sub(r"(?ms)^\[basins\].*?(?=^\[)", "", text)
    text = re.sub(r'method = "basins"', 'method = "grid"', text)
    text = re.sub(r"seeds = \[0\].*", f"seeds = {loaded.map.points**2}", text)
    text = re.sub(r'name = "[^"]*"', 'name = "as-grid"', text)
    path = folder / "as-grid.toml"
    path.write_text(text)
    return path


def map_outputs(folder: Path, scratch: Path) -> tuple[float, tuple[int, int]]:
    """Seconds to make a map's own outputs from its folder's stored runs (the maps, basins.csv
    and the basins figures, as the sweep's end makes them; written to `scratch`), and the first
    map's shape."""
    from xorlab.analysis.basins import basins_table
    from xorlab.storage.loader import load
    from xorlab.visualization.basins_plot import basins_figure, basins_figure_names
    from xorlab.visualization.render import maps_of
    from xorlab.visualization.style import DPI

    results = load(folder)
    runs, spec, summary = results.runs, results.spec, results.summary
    start = time.perf_counter()
    maps = maps_of(runs, spec, summary)
    basins_table(maps).to_csv(scratch / "basins.csv", index=False)
    for name, (rows, part) in basins_figure_names(len(maps)).items():
        basins_figure(maps, rows, part).savefig(scratch / name, dpi=DPI)
    return time.perf_counter() - start, maps[0].outcome.shape


def basins_benchmark(n_jobs: int, out: Path | None, small: Path = SMALL, large: Path = LARGE):
    """Run both parts and print their figures (see the module's docstring)."""
    flags = ("--no-progress", "--n-jobs", str(n_jobs))
    with tempfile.TemporaryDirectory() as scratch:
        parent = out or Path(scratch)
        spec, folder, run, tail = sweep_and_tail(small, parent, "--fresh", *flags)
        grid = _as_grid(small, Path(scratch))
        baseline = measured_sweep(grid, parent, "--fresh", *flags)
        outputs, shape = map_outputs(folder, Path(scratch))
        print(f"{spec.max_runs:,}-run maps ({small.name}, {shape[0]} x {shape[1]} points each):")
        print(
            f"  wall                      {run['seconds']:6.1f} s    as an ordinary grid of as "
            f"many runs: {baseline['seconds']:.1f} s, ratio {run['seconds'] / baseline['seconds']:.2f}"
        )
        print(
            f"  peak RSS, with workers    {run['peak'][0] / MB:6.0f} MB   (the grid: "
            f"{baseline['peak'][0] / MB:.0f} MB)"
        )
        print(f"  last run stored -> exit   {tail:6.2f} s")
        print(
            f"  the maps' outputs         {outputs:6.2f} s    target <= 2 s:      {share(outputs, 2)}"
        )

        spec, folder, run, tail = sweep_and_tail(large, parent, "--fresh", "--yes", *flags)
        size = folder_size(folder)
        outputs, shape = map_outputs(folder, Path(scratch))
        print(f"{spec.max_runs:,}-run map ({large.name}): {run['seconds']:.0f} s wall")
        print(
            f"  peak RSS, with workers    {run['peak'][0] / MB:6.0f} MB   target <= 1536 MB:  "
            f"{share(run['peak'][0] / MB, 1536)}"
        )
        print(
            f"  folder                    {size / MB:6.1f} MB   target <= 400 MB:   "
            f"{share(size / MB, 400)}"
        )
        print(f"  last run stored -> exit   {tail:6.2f} s")
        print(
            f"  the map's outputs         {outputs:6.2f} s    its figure drawn from "
            f"{shape[0]} x {shape[1]} points"
        )
