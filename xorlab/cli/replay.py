"""Command line: python -m xorlab.replay RESULTS_DIR RUN_ID -- one run's whole story.

Retrains the run from its configuration in runs.csv, checks that its final loss equals the
recorded one bit for bit, prints its diagnosis and evidence, and draws one figure: loss and
accuracy at every epoch, each hidden unit's pre-activation on the 4 patterns, the output on
each pattern, and the learned function at a few epochs.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
from pathlib import Path

from xorlab.cli.base import EXIT_FAILED_RUNS, EXIT_OK, Parser, program, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=program("replay"), description=__doc__.split(" -- ")[1])
    parser.add_argument("folder", type=Path, metavar="RESULTS_DIR", help="a results folder")
    parser.add_argument(
        "run_id", metavar="RUN_ID", help="a run_id of runs.csv, or its first characters"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for the figure (default: RESULTS_DIR/replays)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(lambda: _replay(build_parser().parse_args(argv)))


def find_run(run_ids: list[str], wanted: str) -> str:
    """The one run_id that starts with `wanted`, or an error naming the closest ones."""
    from xorlab.errors import SpecError

    matches = [r for r in run_ids if r.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
        raise SpecError(f"run id {wanted!r} is ambiguous: {len(matches)} runs start so ({shown})")
    close = difflib.get_close_matches(wanted, run_ids, n=3, cutoff=0.0)
    hint = f"; the closest: {', '.join(close)}" if close else ""
    raise SpecError(f"no run {wanted!r} in this folder{hint}")


def _exact(value) -> str:
    from xorlab.training.config import format_value

    return repr(value) if isinstance(value, float) else format_value(value)


def _replay(args: argparse.Namespace) -> int:
    from xorlab.errors import ResultsError, SpecError
    from xorlab.storage.folder import CURVES, REJECTED_SHARDS, SHARDS, write_with
    from xorlab.storage.loader import load
    from xorlab.training.config import RunConfig
    from xorlab.training.engine import train_batch
    from xorlab.visualization.story import run_story, story_figure
    from xorlab.visualization.style import DPI

    results = load(args.folder)
    runs = results.runs
    run_id = find_run(runs["run_id"].astype(str).tolist(), args.run_id)
    row = runs[runs["run_id"] == run_id].iloc[0]
    if row["status"] == "failed":
        raise SpecError(
            f"run {run_id} failed when it was trained ({row['error']}); there is no run to "
            "replay: its error is in runs.csv"
        )
    out = args.out or args.folder / "replays"
    store = [(args.folder / name).resolve() for name in (SHARDS, CURVES, REJECTED_SHARDS)]
    if any(out.resolve() == place or place in out.resolve().parents for place in store):
        raise ResultsError(f"{out}: inside the store of {args.folder}; choose another --out")
    config = RunConfig.from_mapping(row)
    (result,) = train_batch([config], trace=True)
    recorded = float(row["final_loss"])
    same = (math.isnan(recorded) and math.isnan(result.final_loss)) or (
        recorded == result.final_loss
    )
    settings = ", ".join(  # floats as stored: the exact numbers the run was trained with
        f"{name} = {_exact(getattr(config, name))}"
        for name in config.__dataclass_fields__
        if getattr(config, name) is not None
    )
    print(f"run {run_id}: {settings}")
    print(
        f"final loss {result.final_loss!r}: "
        + ("equal to runs.csv, bit for bit" if same else f"DIFFERS from runs.csv ({recorded!r})")
    )
    diagnosis = result.diagnosis
    solved = f"solved at epoch {result.epochs_to_solve}" if result.solved else "not solved"
    print(f"outcome: {diagnosis.outcome} ({solved}, status {result.status})")
    kept = row.get("outcome")
    if isinstance(kept, str) and kept and kept != diagnosis.outcome:
        print(
            f"runs.csv keeps the outcome recorded when the run was stored, {kept}: "
            "the diagnosis rules have changed since"
        )
    print(
        f"evidence: live_units = {diagnosis.live_units} of {config.hidden}, "
        f"grad_norm = {diagnosis.grad_norm:.3g}, "
        f"wrong_patterns = {diagnosis.wrong_patterns or '(none)'}, "
        f"loss_change over the last tenth = {diagnosis.loss_change:.3g}"
    )
    out.mkdir(parents=True, exist_ok=True)
    shown = ", ".join(
        f"{name} {_exact(getattr(config, name))}"
        for name in ("activation", "hidden", "lr", "optimizer", "loss", "init_scale")
        if getattr(config, name) is not None
    )
    evidence = f"{diagnosis.live_units}/{config.hidden} units live" + (
        f", {diagnosis.wrong_patterns} wrong" if diagnosis.wrong_patterns else ""
    )
    figure = story_figure(
        run_story(result), f"run {run_id} ({shown}): {diagnosis.outcome}; {evidence}"
    )
    path = out / f"replay-{run_id}.png"
    write_with(path, lambda f: figure.savefig(f, format="png", dpi=DPI))
    print(f"wrote {path}")
    if not same:
        print(
            "error: the retrained run does not reproduce runs.csv (another xorlab or numpy?)",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    return EXIT_OK
