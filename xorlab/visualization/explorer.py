"""explorer.html: the sweep's configurations to explore in the browser, with Plotly.

A solve-rate heatmap over the two settings with the most values, filtered by the others
(choose the optimizer, the activation... instead of reading many small panels), whose cells
show on hover their k/n, interval, median epochs to solve and worst run, and on a click that
run's replay command; and parallel coordinates of every configuration whose axes can be
brushed. It works offline and from a copied folder: the data is in the page (one record per
configuration, the best MAX_CONFIGURATIONS at most, so the page stays small for a
million-run sweep), and plotly.js is written beside it (`PLOTLY_JS`), never fetched.

plotly.js is 4.8 MB; beside the page it is gzip-compressed inside a script (2.0 MB with its
base64) that unpacks it with the browser's own DecompressionStream: a browser cannot read a
compressed file from disk (file:// pages fetch nothing), and Plotly's partial bundles, which
are smaller, hold either the heatmap or the parallel coordinates, not both.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import shlex
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from xorlab.analysis.tables import solved_and_finished
from xorlab.storage.folder import write_with
from xorlab.training.config import format_value

EXPLORER = "explorer.html"
PLOTLY_JS = "plotly.gz.js"
OLD_PLOTLY_JS = "plotly.min.js"  # plotly.js as it is, beside the explorers of 0.4.dev
MAX_CONFIGURATIONS = 20_000


def explorer_data(
    summary: pd.DataFrame,
    settings: Sequence[str],
    worst: Sequence[str] | None = None,
    axes: tuple[str, str] | None = None,
) -> dict:
    """What the page embeds: the settings, each configuration's values (as text, with the
    number for numeric settings), solved and finished runs, interval, median epochs to solve
    and worst run; the heatmap's axes (rows, columns) if any."""
    shown = summary.head(MAX_CONFIGURATIONS)
    solved, finished = solved_and_finished(shown)
    columns: dict[str, list] = {}
    numeric: dict[str, list] = {}
    for setting in settings:
        values = shown[setting]
        columns[setting] = ["-" if pd.isna(v) else format_value(v) for v in values]
        if pd.api.types.is_numeric_dtype(values):
            numeric[setting] = [None if pd.isna(v) else float(v) for v in values]

    def plain(values) -> list:
        return [None if pd.isna(v) else round(float(v), 6) for v in values]

    return {
        "settings": list(settings),
        "values": columns,
        "numbers": numeric,
        "solved": solved.tolist(),
        "finished": finished.tolist(),
        "low": plain(shown["solve_rate_low"]),
        "high": plain(shown["solve_rate_high"]),
        "epochs": plain(shown["epochs_to_solve_median"]),
        "worst": list(worst[: len(shown)]) if worst is not None else [],
        "axes": list(axes) if axes else None,
        "total": len(summary),
    }


def explorer_html(name: str, folder: Path, data: dict) -> str:
    """The page: filters, the heatmap, the replay box and the parallel coordinates."""
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    note = (
        f"the best {len(data['solved'])} of {data['total']} configurations"
        if data["total"] > len(data["solved"])
        else f"all {data['total']} configurations"
    )
    # a command to paste into a shell (the folder quoted), safe inside the page's script
    replay = json.dumps(f"python -m xorlab.replay {shlex.quote(str(folder))} ")
    replay = replay.replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xorlab explorer: {html.escape(name)}</title>
<script src="{PLOTLY_JS}"></script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em auto; max-width: 1400px; padding: 0 1em; color: #222; }}
#filters label {{ margin-right: 1em; white-space: nowrap; }}
#replay {{ font-family: monospace; background: #f7f7f7; padding: 0.5em; min-height: 1.4em; overflow-wrap: anywhere; }}
.plot {{ width: 100%; }}
</style></head><body>
<h1>Explore sweep <code>{html.escape(name)}</code></h1>
<p><a href="report.html">Back to the report</a>. Showing {note}; each is one configuration
(every seed pooled). Hover a cell for its numbers, click it for its worst run's replay command.</p>
<div id="filters"></div>
<div id="heatmap" class="plot"></div>
<p>Replay: <span id="replay">(click a heatmap cell or a line)</span></p>
<h2>Every configuration (drag along an axis to select a range)</h2>
<div id="parallel" class="plot"></div>
<script>
const DATA = {payload};
const REPLAY = {replay};
(typeof plotlyLoaded === "undefined"
  ? Promise.reject(new Error("{PLOTLY_JS} is missing beside this page"))
  : plotlyLoaded).then(() => {{
{EXPLORER_SCRIPT}
document.body.dataset.ready = "true";
}}).catch(error => {{
  document.getElementById("heatmap").textContent = "Cannot draw: " + error.message;
  throw error;
}});
</script>
</body></html>
"""


EXPLORER_SCRIPT = r"""
const count = DATA.solved.length;
const axes = DATA.axes;
const others = DATA.settings.filter(s => !axes || !axes.includes(s));
const filters = {};
function levels(setting) {
  const seen = [...new Set(DATA.values[setting])];
  const numbers = DATA.numbers[setting];
  if (numbers) {
    const at = {};
    DATA.values[setting].forEach((v, i) => { at[v] = numbers[i]; });
    return seen.sort((a, b) => (at[a] ?? Infinity) - (at[b] ?? Infinity));
  }
  return seen.sort();
}
const box = document.getElementById("filters");
others.forEach(setting => {
  const label = document.createElement("label");
  label.textContent = setting + " ";
  const select = document.createElement("select");
  select.id = "filter-" + setting;
  ["all", ...levels(setting)].forEach(v => {
    const option = document.createElement("option");
    option.value = v; option.textContent = v === "all" ? "all (pooled)" : v;
    select.appendChild(option);
  });
  select.addEventListener("change", () => { filters[setting] = select.value; drawHeatmap(); });
  label.appendChild(select); box.appendChild(label);
});
function chosen(i) {
  return others.every(s => !filters[s] || filters[s] === "all" || DATA.values[s][i] === filters[s]);
}
function drawHeatmap() {
  const target = document.getElementById("heatmap");
  if (!axes) { target.textContent = "(fewer than two settings with few values: no heatmap)"; return; }
  const [rowSetting, columnSetting] = axes;
  const rows = levels(rowSetting), columns = levels(columnSetting);
  const k = rows.map(() => columns.map(() => 0)), n = rows.map(() => columns.map(() => 0));
  const members = rows.map(() => columns.map(() => []));
  for (let i = 0; i < count; i++) {
    if (!chosen(i)) continue;
    const r = rows.indexOf(DATA.values[rowSetting][i]), c = columns.indexOf(DATA.values[columnSetting][i]);
    k[r][c] += DATA.solved[i]; n[r][c] += DATA.finished[i]; members[r][c].push(i);
  }
  const z = k.map((row, r) => row.map((v, c) => n[r][c] ? v / n[r][c] : null));
  const text = members.map((row, r) => row.map((ids, c) => {
    if (!ids.length) return "no configuration";
    if (ids.length > 1) return `${k[r][c]}/${n[r][c]} solved, ${ids.length} configurations pooled`;
    const i = ids[0];
    const interval = DATA.low[i] === null ? "" : ` (95% ${DATA.low[i].toFixed(2)}-${DATA.high[i].toFixed(2)})`;
    const epochs = DATA.epochs[i] === null ? "not solved" : `median ${Math.round(DATA.epochs[i])} epochs`;
    const worst = DATA.worst.length ? `<br>worst run ${DATA.worst[i]}` : "";
    return `${k[r][c]}/${n[r][c]} solved${interval}<br>${epochs}${worst}`;
  }));
  Plotly.react(target, [{
    type: "heatmap", x: columns, y: rows, z: z, text: text, zmin: 0, zmax: 1,
    colorscale: "Viridis", hovertemplate: "%{y}, %{x}<br>%{text}<extra></extra>",
    colorbar: {title: {text: "solve rate"}}, customdata: members,
  }], {
    title: {text: "Solve rate over " + rowSetting + " x " + columnSetting},
    xaxis: {title: {text: columnSetting}, type: "category"},
    yaxis: {title: {text: rowSetting}, type: "category"},
    margin: {t: 50}, height: 420,
  }, {responsive: true, displaylogo: false});
}
function showReplay(i) {
  document.getElementById("replay").textContent =
    DATA.worst.length ? REPLAY + DATA.worst[i] : "(this folder records no outcomes)";
}
function drawParallel() {
  const dimensions = DATA.settings.map(setting => {
    const numbers = DATA.numbers[setting];
    if (numbers && !numbers.includes(null)) {
      const positive = numbers.every(v => v > 0), spread = Math.max(...numbers) / Math.min(...numbers);
      const log = positive && spread > 50;
      return {label: setting + (log ? " (log10)" : ""), values: numbers.map(v => log ? Math.log10(v) : v)};
    }
    const order = levels(setting);
    return {label: setting, values: DATA.values[setting].map(v => order.indexOf(v)),
            tickvals: order.map((_, i) => i), ticktext: order};
  });
  const rate = DATA.solved.map((k, i) => DATA.finished[i] ? k / DATA.finished[i] : 0);
  dimensions.push({label: "solve rate", values: rate, range: [0, 1]});
  Plotly.react("parallel", [{
    type: "parcoords", dimensions: dimensions,
    line: {color: rate, colorscale: "Viridis", cmin: 0, cmax: 1, showscale: true},
  }], {margin: {l: 80, r: 80, t: 40}, height: 420}, {responsive: true, displaylogo: false});
}
drawHeatmap();
drawParallel();
const heatmap = document.getElementById("heatmap");
if (heatmap.on) heatmap.on("plotly_click", event => {
  const ids = event.points[0].customdata;
  if (ids && ids.length) {
    const worst = ids.reduce((a, b) => DATA.solved[a] / DATA.finished[a] <= DATA.solved[b] / DATA.finished[b] ? a : b);
    showReplay(worst);
  }
});
"""


def plotly_script(library: bytes, version: str) -> bytes:
    """A script that defines `plotlyLoaded`, a promise of plotly.js (`library`, gzip-compressed
    and base64-encoded inside it) unpacked and run. Its first line names the version and the
    length of the rest (a torn or other file is written again)."""
    packed = base64.b64encode(zlib.compress(library, 6, wbits=31)).decode()  # 31: gzip
    body = (
        "const plotlyLoaded = (async () => {\n"
        f'  const packed = Uint8Array.from(atob("{packed}"), c => c.charCodeAt(0));\n'
        "  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream('gzip'));\n"
        "  const script = document.createElement('script');\n"
        "  script.textContent = await new Response(stream).text();\n"
        "  document.head.appendChild(script);\n"
        "})();\n"
    ).encode()
    return _plotly_header(version, len(body)) + body


def _plotly_header(version: str, length: int) -> bytes:
    return f"/* plotly.js {version} (MIT license), gzip and base64; {length} bytes follow */\n".encode()


def _holds_plotly(path: Path, version: str) -> bool:
    """Whether `path` is the whole plotly_script of this version."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(200)
        length = int(first.rsplit(b";", 1)[1].split()[0])
        size = path.stat().st_size
    except (OSError, IndexError, ValueError):
        return False
    return first == _plotly_header(version, length) and size == len(first) + length


@functools.cache
def packed_plotly() -> bytes:
    """The `plotly_script` of the installed plotly.js (compressed once a process: a sweep
    does it while its workers train)."""
    import plotly
    import plotly.offline

    return plotly_script(plotly.offline.get_plotlyjs().encode(), plotly.__version__)


class PlotlyWriter:
    """Writes the compressed plotly.js beside an explorer in a thread (zlib runs without the
    GIL: the sweep's end does its other work meanwhile); nothing if the folder holds this
    version already."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / PLOTLY_JS
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        try:
            import plotly

            if not _holds_plotly(self.path, plotly.__version__):
                script = packed_plotly()
                write_with(self.path, lambda f: f.write(script))
        except BaseException as error:  # raised in the thread that waits for it
            self.error = error

    def written(self) -> Path:
        self.thread.join()
        if self.error is not None:
            raise self.error
        (self.path.parent / OLD_PLOTLY_JS).unlink(missing_ok=True)
        return self.path


def write_explorer(
    folder: Path,
    name: str,
    summary: pd.DataFrame,
    settings: Sequence[str],
    worst: Sequence[str] | None,
    axes: tuple[str, str] | None,
    plotly_writer: PlotlyWriter | None = None,
) -> list[Path]:
    """explorer.html and, if missing or another version, plotly.js beside it (by
    `plotly_writer` if one is writing it already)."""
    writer = plotly_writer or PlotlyWriter(folder)
    data = explorer_data(summary, settings, worst, axes)
    page = explorer_html(name, folder, data)
    write_with(folder / EXPLORER, lambda f: f.write(page.encode()))
    return [folder / EXPLORER, writer.written()]
