"""python -m xorlab.bench --report: what the report and its explorer cost (issue 21).

The 60,000-run sweep (sweeps/scale/sweep60k.toml) through the real command, with this code
and with release 0.3's (the baseline, taken from this checkout's git history and run in the
same benchmark, alternately, `--repeat` times each):

- the sweep's tail (last run stored to exit), this code against 0.3's: the report, its
  explorer and its figures at 2x may add at most 0.5 s;
- what a user copies to share the report: report.html, explorer.html, the plotly.js beside it
  and the figures (target < 5 MB);
- the time to open report.html and explorer.html in headless Chromium (Debian's chromium and
  chromium-driver, through Selenium): to the load event (target < 3 s), and for the explorer
  to its plots drawn.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from xorlab.cli.scale import MB, SCALE_SPECS, share, sweep_and_tail

RELEASE_0_3 = "52a3847"  # the commit 0.3 was released from (tests/fixtures/release03)
REPO = Path(__file__).resolve().parents[2]
SHARED = ("report.html", "explorer.html", "plotly.gz.js", "plotly.min.js")


def _release_0_3(into: Path) -> Path | None:
    """0.3's xorlab package, unpacked from git into `into`; None outside a git checkout."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", RELEASE_0_3, "xorlab"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return into


def shared_bytes(folder: Path) -> tuple[int, int]:
    """Bytes of the pages (report, explorer, plotly.js) and of the figures of a folder."""
    pages = sum((folder / n).stat().st_size for n in SHARED if (folder / n).is_file())
    figures = sum(p.stat().st_size for p in (folder / "figures").glob("*.png"))
    return pages, figures


def headless_chromium(console_log: bool = False):
    """A Selenium driver of Debian's chromium, headless (with `console_log`, the page's
    console kept for `get_log("browser")`); None without Selenium, chromium or its driver."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def open_times(folder: Path, explorer: bool = True) -> dict[str, float] | None:
    """Seconds to the load event of report.html and explorer.html, and to the explorer's plots
    drawn, in headless Chromium (each the best of 3, a fresh tab each); None without Chromium
    or Selenium."""
    try:
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    browser = headless_chromium()
    if browser is None:
        return None
    browser.set_window_size(1400, 900)
    loaded = "const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd / 1000"
    done = "return performance.getEntriesByType('navigation')[0].loadEventEnd > 0"
    times: dict[str, list[float]] = {"report": [], "explorer": [], "explorer drawn": []}
    try:
        for _ in range(3):
            for page in ("report", "explorer") if explorer else ("report",):
                browser.get("about:blank")
                start = time.perf_counter()
                browser.get((folder / f"{page}.html").as_uri())
                WebDriverWait(browser, 60).until(lambda b: b.execute_script(done))
                times[page].append(browser.execute_script(loaded))
                if page == "explorer":
                    WebDriverWait(browser, 60).until(
                        lambda b: b.execute_script("return document.body.dataset.ready")
                    )
                    times["explorer drawn"].append(time.perf_counter() - start)
    finally:
        browser.quit()
    return {page: min(seconds) for page, seconds in times.items() if seconds}


def report_benchmark(
    n_jobs: int, repeat: int, out: Path | None, spec_path: Path = SCALE_SPECS / "sweep60k.toml"
) -> None:
    """Run the benchmark on `spec_path` and print its figures (see the module's docstring)."""
    flags = ("--no-progress", "--n-jobs", str(n_jobs), "--fresh")
    with tempfile.TemporaryDirectory() as scratch:
        parent = out or Path(scratch)
        old = _release_0_3(Path(scratch))
        tails: dict[str, list[float]] = {"now": [], "0.3": []}
        folders: dict[str, Path] = {}
        for _ in range(repeat):
            for side, code in (("now", None), ("0.3", old)):
                if side == "0.3" and old is None:
                    continue
                place = parent / side
                place.mkdir(parents=True, exist_ok=True)
                spec, folders[side], _, tail = sweep_and_tail(spec_path, place, *flags, code=code)
                tails[side].append(tail)
        now = statistics.median(tails["now"])
        print(
            f"{len(spec.space()):,}-run sweep ({spec_path.name}), {repeat} runs each side, "
            "medians (the sweep's tail: last run stored -> exit)"
        )
        listed = ", ".join(f"{t:.2f}" for t in tails["now"])
        print(f"  tail, this code           {now:6.2f} s   ({listed})")
        if old is None:
            print(f"  tail, 0.3                 (no git history with {RELEASE_0_3}: no baseline)")
        else:
            then = statistics.median(tails["0.3"])
            listed = ", ".join(f"{t:.2f}" for t in tails["0.3"])
            print(f"  tail, 0.3                 {then:6.2f} s   ({listed})")
            grown = now - then
            print(
                f"  grown by                  {grown:+6.2f} s   target <= +0.5 s:  "
                f"{share(max(grown, 0.0), 0.5)} (ratio {now / then:.2f})"
            )
        pages, figures = shared_bytes(folders["now"])
        total = (pages + figures) / MB
        print(
            f"  report to share           {total:6.2f} MB  target < 5 MB:     {share(total, 5)} "
            f"(pages {pages / MB:.2f} MB, figures {figures / MB:.2f} MB)"
        )
        if old is not None:
            pages, figures = shared_bytes(folders["0.3"])
            print(f"  0.3's report              {(pages + figures) / MB:6.2f} MB  (no explorer)")
        opened = open_times(folders["now"])
        if opened is None:
            print(
                "  opening in Chromium       (needs Debian's chromium, chromium-driver, selenium)"
            )
            return
        report, explorer, drawn = opened["report"], opened["explorer"], opened["explorer drawn"]
        print(
            f"  report.html load event    {report:6.2f} s   target < 3 s:      {share(report, 3)}"
        )
        print(
            f"  explorer.html load event  {explorer:6.2f} s   target < 3 s:      {share(explorer, 3)}"
        )
        print(f"  explorer's plots drawn    {drawn:6.2f} s   target < 3 s:      {share(drawn, 3)}")
        if old is not None:
            then = open_times(folders["0.3"], explorer=False)
            if then:
                print(f"  0.3's report.html load    {then['report']:6.2f} s")
