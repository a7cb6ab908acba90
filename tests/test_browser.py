"""report.html in a real browser (Debian's Chromium, headless, through Selenium): no console
errors, the first screen answers, sorting works, nothing overflows at 420 px."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import PIL.Image
import pytest

from xorlab.cli import sweep

SPECS = {
    "grid": '[sweep]\nname = "grid"\nseeds = 4\n[params]\nhidden = [2, 4]\nlr = [0.5, 2.0]\n'
    'activation = ["tanh", "relu"]\n[train]\nepochs = 600\ninit_scale = 0.5\n',
    "random": '[sweep]\nname = "random"\nmethod = "random"\ntrials = 12\nseeds = 2\n[params]\n'
    'lr = { distribution = "loguniform", low = 0.05, high = 5.0 }\n'
    'activation = ["tanh", "relu"]\n[train]\nepochs = 400\ninit_scale = 0.5\n',
    "basins": '[sweep]\nname = "basins"\nmethod = "basins"\nseeds = [0]\n[basins]\n'
    'x = "W1[0,0]"\ny = "random"\nspan = [-3.0, 3.0]\npoints = 12\n[params]\nlr = [0.5, 2.0]\n'
    '[train]\nactivation = "sigmoid"\nloss = "mse"\ndata = "truth_table"\ninit = "uniform"\n'
    "init_scale = 0.5\nepochs = 300\n",
    "allfail": '[sweep]\nname = "allfail"\nseeds = 3\n[params]\nhidden = [2, 4]\n'
    'lr = [0.001, 0.002]\n[train]\nactivation = "sigmoid"\nepochs = 100\n',
    "one": '[sweep]\nname = "one"\nseeds = 5\n[train]\nhidden = 2\nlr = 1.0\nepochs = 300\n',
}


@pytest.fixture(scope="module")
def browser():
    from xorlab.cli.report_bench import headless_chromium

    session = headless_chromium(console_log=True)
    if session is None:
        pytest.fail(
            "needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver"
        )
    yield session
    session.quit()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    pages = {}
    for name, text in SPECS.items():
        spec = out / f"{name}.toml"
        spec.write_text(text)
        assert sweep.main([str(spec), "--out", str(out), "--no-progress"]) == 0
        pages[name] = out / name / "report.html"
    return pages


def open_page(browser, page: Path, width: int, height: int = 900) -> None:
    browser.set_window_size(width, height)
    browser.get(page.as_uri())
    browser.execute_script("return document.readyState")
    # the window's outer size includes no chrome when headless: the viewport is what we set
    inner = browser.execute_script("return window.innerWidth")
    if inner != width:
        browser.set_window_size(width + (width - inner), height)
        browser.get(page.as_uri())


@pytest.mark.parametrize("name", list(SPECS))
def test_the_report_opens_without_errors_and_answers_first(browser, reports, name) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, reports[name], 1400)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    headline = browser.find_element(By.CSS_SELECTOR, "p.headline").text
    assert "configuration" in headline or name == "basins"
    if name == "basins":  # the maps answer first: their shares and their figure
        assert headline.startswith("Of 2 maps of 12 x 12 starting points (W1[0,0] ")
        assert "learns XOR from" in headline
    if name == "allfail":
        assert headline.startswith("No configuration solved XOR in 100 epochs")
    if name == "one":
        assert headline.startswith("The configuration ") or "1 configuration" in headline
    links = browser.find_elements(By.CSS_SELECTOR, "nav a")
    assert len(links) >= 4
    for link in links:  # every entry of the contents leads somewhere on the page
        anchor = link.get_attribute("href").split("#")[1]
        assert browser.find_elements(By.ID, anchor)
    key = browser.find_elements(By.CSS_SELECTOR, "figure.key img")
    assert (
        key
        and browser.execute_script("return arguments[0].getBoundingClientRect().top", key[0]) < 900
    )  # the key figure starts on the first screen
    assert browser.execute_script("return arguments[0].naturalWidth", key[0]) > 0  # it loaded
    browser.execute_script("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return [...document.images].every(i => i.complete)")
    )
    for image in browser.find_elements(By.CSS_SELECTOR, "figure img"):  # sharp: 2 pixels a px
        source, shown = browser.execute_script(
            "return [arguments[0].currentSrc, arguments[0].clientWidth]", image
        )
        with PIL.Image.open(reports[name].parent / source.split(f"/{name}/", 1)[1]) as png:
            assert png.width >= 2 * shown, (source, png.width, shown)


def test_sorting_a_column_reorders_the_table(browser, reports) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, reports["grid"], 1400)
    table = browser.find_element(By.CSS_SELECTOR, "table.sortable")
    headers = table.find_elements(By.TAG_NAME, "th")
    column = [h.text for h in headers].index("final loss (median)")

    def values() -> list[float]:
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        return [
            float(r.find_elements(By.TAG_NAME, "td")[column].get_attribute("data-value"))
            for r in rows
        ]

    before = values()
    headers[column].click()
    ascending = values()
    assert ascending == sorted(before) and ascending != before
    headers[column].click()
    assert values() == sorted(before, reverse=True)


@pytest.mark.parametrize("name", list(SPECS))
def test_nothing_overflows_on_a_phone(browser, reports, name, tmp_path) -> None:
    open_page(browser, reports[name], 420)
    scroll, viewport = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll <= viewport  # the tables scroll inside their own box
    browser.save_screenshot(str(tmp_path / f"{name}-420.png"))
    open_page(browser, reports[name], 1400)
    browser.save_screenshot(str(tmp_path / f"{name}-1400.png"))
    assert (tmp_path / f"{name}-420.png").stat().st_size > 10_000


def test_a_phone_lays_the_page_out_at_its_own_width(reports) -> None:
    """Emulating a 420 px phone: without <meta name="viewport"> a phone lays a page out at
    980 px and zooms out; with it, the page is 420 px wide."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    metrics = {"width": 420, "height": 900, "pixelRatio": 2.0, "mobile": True}
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    phone = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        phone.get(reports["grid"].as_uri())
        width, scroll = phone.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        assert width == 420 and scroll <= 420
    finally:
        phone.quit()


@pytest.mark.parametrize("name", list(SPECS))
def test_the_explorer_draws_filters_and_gives_replay_commands(browser, reports, name) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    explorer = reports[name].parent / "explorer.html"
    open_page(browser, explorer, 1400)
    # plotly.js is unpacked after the page loads: the plots are drawn when the body says so
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.body.dataset.ready")
    )
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    lines = browser.execute_script(
        "return document.getElementById('parallel').data[0].dimensions[0].values.length"
    )
    assert lines == len(pd.read_csv(reports[name].parent / "summary.csv"))  # one per configuration
    if name in ("random", "basins", "one"):  # fewer than two settings with few values: no heatmap
        return
    z = "return document.getElementById('heatmap').data[0].z"
    text = browser.execute_script("return document.getElementById('heatmap').data[0].text")
    assert any("solved" in cell for row in text for cell in row)
    if name == "grid":  # hidden x lr on the axes; activation is chosen, not a panel
        pooled = browser.execute_script(z)
        Select(browser.find_element(By.ID, "filter-activation")).select_by_index(1)
        assert browser.execute_script(z) != pooled
    browser.execute_script(
        "const h = document.getElementById('heatmap');"
        "h.emit('plotly_click', {points: [{customdata: h.data[0].customdata[0][0]}]});"
    )
    command = browser.find_element(By.ID, "replay").text
    assert command.startswith("python -m xorlab.replay ") and len(command.split()[-1]) == 12


def test_the_explorer_works_from_a_copied_folder_and_says_when_plotly_is_missing(
    browser, reports, tmp_path
) -> None:
    """Everything the explorer needs is in its folder: a copy elsewhere draws; without
    plotly.gz.js beside it, the page says which file is missing instead of staying blank."""
    from selenium.webdriver.support.ui import WebDriverWait

    copy = shutil.copytree(reports["grid"].parent, tmp_path / "copied grid")
    open_page(browser, copy / "explorer.html", 1400)
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.body.dataset.ready")
    )
    assert browser.execute_script("return document.getElementById('heatmap').data[0].z.length")
    (copy / "plotly.gz.js").unlink()
    open_page(browser, copy / "explorer.html", 1400)
    WebDriverWait(browser, 30).until(
        lambda b: (
            "Cannot draw"
            in b.execute_script("return document.getElementById('heatmap').textContent")
        )
    )
    text = browser.execute_script("return document.getElementById('heatmap').textContent")
    assert text == "Cannot draw: plotly.gz.js is missing beside this page"


@pytest.mark.parametrize("name", list(SPECS))
def test_no_figure_draws_outside_its_canvas(reports, name) -> None:
    """Every figure of every kind of sweep keeps its titles, labels, ticks and legends inside
    the image (a one-row outcome figure cut its axis label, the importance figure its
    longest effect name)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from xorlab.storage.loader import load
    from xorlab.visualization.render import figure_makers
    from xorlab.visualization.style import drawn

    results = load(reports[name].parent)
    makers = figure_makers(results.runs, results.summary, results.curves_of, results.spec)
    assert makers
    for figure_name, make in makers.items():
        figure = drawn(make)
        if figure is None:
            continue
        renderer = FigureCanvasAgg(figure).get_renderer()
        figure.draw(renderer)
        width, height = figure.get_size_inches()
        box = figure.get_tightbbox(renderer)
        inside = (box.x0, box.y0, width - box.x1, height - box.y1)
        assert min(inside) > -0.01, (figure_name, inside)
