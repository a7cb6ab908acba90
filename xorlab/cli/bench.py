"""Benchmark: python -m xorlab.bench -- the engine end to end against the per-run reference loop.

1. the benchmark sweep (sweeps/bench.toml) through the real command, timed from start to exit;
2. the tutorial-shaped reference loop with joblib on the same n_jobs, on a fixed sample of the
   same runs;
3. the ratio, the training-only throughput per core, and the sweep's peak memory.
Optionally (scikit-learn installed: the `bench` extra) MLPClassifier on the same sample.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

from xorlab.cli.base import EXIT_OK, Parser, checked, program, run_command
from xorlab.cli.measure import failed_sweep, run_sweep_process
from xorlab.cli.scale import SCALE_SPECS, scale_benchmark
from xorlab.execution.chunks import effective_workers
from xorlab.search.rules import Interval
from xorlab.search.spec import RUN_RULES
from xorlab.training.config import RunConfig

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "sweeps" / "bench.toml"


def run_end_to_end(spec: Path, n_jobs: int, out: Path) -> tuple[float, tuple[int, int], str]:
    """Run the real sweep command; returns wall seconds, the peak (RSS, PSS) of its process
    tree, and its stdout."""
    run = run_sweep_process(spec, out, "--fresh", "--no-progress", "--n-jobs", str(n_jobs))
    if run["returncode"] != 0:
        raise failed_sweep(spec, run)
    return run["seconds"], run["peak"], run["stdout"]


def sample_runs(configs: list[RunConfig], size: int) -> list[RunConfig]:
    """A fixed, evenly spread sample (every k-th run), covering every hidden size and lr."""
    step = max(1, len(configs) // size)
    return configs[step // 2 :: step][:size]


def time_parallel(function, configs: list[RunConfig], n_jobs: int) -> float:
    """Runs per second of `function(config)` over the configs with joblib (workers warmed first)."""
    from joblib import Parallel, delayed

    Parallel(n_jobs=n_jobs)(delayed(function)(c) for c in configs[: effective_workers(n_jobs)])
    start = time.perf_counter()
    Parallel(n_jobs=n_jobs)(delayed(function)(c) for c in configs)
    return len(configs) / (time.perf_counter() - start)


def train_sklearn(config: RunConfig) -> float:
    """The same run with scikit-learn's MLPClassifier (full-batch SGD, no momentum, no L2)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from xorlab.training.nn import make_problem

    problem = make_problem(config.seed, config.samples, config.hidden, config.init_scale)
    activation = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}[config.activation]
    model = MLPClassifier(
        hidden_layer_sizes=(config.hidden,),
        activation=activation,
        solver="sgd",
        batch_size=config.samples,
        momentum=0.0,
        alpha=0.0,
        learning_rate_init=config.lr,
        max_iter=config.epochs,
        tol=0.0,
        n_iter_no_change=config.epochs + 1,
        shuffle=False,
        random_state=config.seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(problem.X.T, problem.y[0])
    return model.loss_


def training_throughput(probe: RunConfig, repeat: int = 3, **engine_options) -> float:
    """Model-epochs per second on one core for runs like `probe`: one cache-sized batch per
    activation, in-process; the best of `repeat` timings of each (as timeit does: the others
    met interference)."""
    from xorlab.training.engine import runs_per_batch, train_batch

    total_time, total = 0.0, 0
    for activation in ("sigmoid", "tanh", "relu"):
        like = replace(probe, activation=activation)
        configs = [replace(like, seed=s) for s in range(runs_per_batch(like))]
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            train_batch(configs, **engine_options)
            timings.append(time.perf_counter() - start)
        total_time += min(timings)
        total += len(configs) * probe.epochs
    return total / total_time


PROTOCOLS = {  # label -> (settings, engine options), trained at hidden 8, float64
    "gd (full batch)": ({}, {}),
    "gd, no per-epoch solve check": ({}, {"solve_check": False}),
    "gd, no diagnosis": ({}, {"diagnose_runs": False}),
    "momentum": ({"optimizer": "momentum"}, {}),
    "nesterov": ({"optimizer": "nesterov"}, {}),
    "adam": ({"optimizer": "adam", "lr": 0.01}, {}),
    "mini-batches of 100 (10 updates/epoch)": ({"batch_size": 100, "epochs": 100}, {}),
    "truth_table (4 samples)": ({"data": "truth_table"}, {}),
}


def main(argv: list[str] | None = None) -> int:
    return run_command(lambda: _bench(build_parser().parse_args(argv)))


def build_parser() -> Parser:
    parser = Parser(prog=program("bench"), description=__doc__.split("\n")[0])
    parser.add_argument(
        "--spec",
        type=Path,
        default=DEFAULT_SPEC,
        help="benchmark sweep spec (default: sweeps/bench.toml)",
    )
    parser.add_argument(
        "--n-jobs",
        type=checked(RUN_RULES["n_jobs"], int),
        default=-1,
        help="worker processes for both sides (default: all cores)",
    )
    parser.add_argument(
        "--sample",
        type=checked(Interval(int, 1), int),
        default=40,
        help="runs of the reference loop sample (default: 40)",
    )
    parser.add_argument(
        "--sklearn-sample",
        type=checked(Interval(int, 0), int),
        default=12,
        help="runs for scikit-learn, if installed (default: 12)",
    )
    parser.add_argument(
        "--repeat",
        type=checked(Interval(int, 1), int),
        default=3,
        help="end-to-end runs; the median is reported (3)",
    )
    parser.add_argument(
        "--throughput-epochs",
        type=checked(Interval(int, 1), int),
        default=2000,
        help="epochs per throughput batch (2000)",
    )
    parser.add_argument(
        "--out", type=Path, help="results parent folder (default: a temporary folder)"
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="instead: the cost of a sweep besides training, at 60k and 1M runs (several minutes)",
    )
    parser.add_argument(
        "--basins",
        action="store_true",
        help="instead: what maps of starting points cost, 201 x 201 and 1001 x 1001 (minutes)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="instead: what the report and explorer of the first --scale-specs sweep (60k runs) "
        "cost, against 0.3 (minutes)",
    )
    parser.add_argument(
        "--scale-specs",
        type=Path,
        nargs=2,
        metavar=("SMALL", "LARGE"),
        default=(SCALE_SPECS / "sweep60k.toml", SCALE_SPECS / "sweep1m.toml"),
        help="the two sweeps of --scale (default: sweeps/scale/sweep60k.toml, sweep1m.toml)",
    )
    return parser


def _bench(args) -> int:
    from joblib import cpu_count

    from xorlab.search.spec import load_spec
    from xorlab.training.reference import train_reference

    for spec in args.scale_specs:  # checked whether --scale is given or not: never ignored
        load_spec(spec)
    if args.scale:
        scale_benchmark(*args.scale_specs, args.n_jobs, args.out)
        return EXIT_OK
    if args.report:
        from xorlab.cli.report_bench import report_benchmark

        report_benchmark(args.n_jobs, args.repeat, args.out, args.scale_specs[0])
        return EXIT_OK
    if args.basins:
        from xorlab.cli.basins_bench import basins_benchmark

        basins_benchmark(args.n_jobs, args.out)
        return EXIT_OK
    configs = list(load_spec(args.spec).space())
    workers = effective_workers(args.n_jobs)
    epochs = {c.epochs for c in configs}
    print(f"xorlab benchmark: {cpu_count()} cores, n_jobs={args.n_jobs} ({workers} workers)")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        measured = [run_end_to_end(args.spec, args.n_jobs, out) for _ in range(args.repeat)]
    times = sorted(seconds for seconds, _, _ in measured)
    seconds = statistics.median(times)
    peak = tuple(max(peak[i] for _, peak, _ in measured) for i in (0, 1))
    engine_rate = len(configs) / seconds
    print(
        f"end to end   {args.spec.name}: {len(configs)} runs x {'/'.join(map(str, sorted(epochs)))} epochs "
        f"in {seconds:.2f} s wall (median of {len(times)}: {', '.join(f'{t:.2f}' for t in times)}) "
        f"= {engine_rate:.1f} runs/s, start to exit, all files written"
    )
    print(
        f"peak memory  {peak[0] / 2**20:.0f} MB RSS summed over the sweep process and its workers "
        f"({peak[1] / 2**20:.0f} MB PSS: shared pages counted once)"
    )
    sample = sample_runs(configs, args.sample)
    reference_rate = time_parallel(train_reference, sample, args.n_jobs)
    print(
        f"reference    per-run tutorial loop, joblib n_jobs={args.n_jobs}, {len(sample)}-run sample: {reference_rate:.2f} runs/s"
    )
    print(f"ratio        engine / reference = {engine_rate / reference_rate:.1f}x")
    try:
        if args.sklearn_sample < 1:
            raise ImportError
        import sklearn  # noqa: F401

        sk_sample = sample_runs(configs, args.sklearn_sample)
        sk_rate = time_parallel(train_sklearn, sk_sample, args.n_jobs)
        print(
            f"scikit-learn MLPClassifier(solver='sgd', full batch), {len(sk_sample)}-run sample: {sk_rate:.2f} runs/s "
            f"(engine / sklearn = {engine_rate / sk_rate:.0f}x)"
        )
    except ImportError:
        print(
            'scikit-learn not installed (pip install -e ".[bench]" to compare with MLPClassifier)'
        )
    print(
        "training only, one core, model-epochs/s (cache-sized batch per activation, "
        "sigmoid/tanh/relu together, best of 3):"
    )
    print(f"  {'hidden':>6}  {'float64':>9}  {'float32':>9}")
    epochs = args.throughput_epochs
    for hidden in (2, 8, 32):
        probe = RunConfig(seed=0, hidden=hidden, lr=1.0, epochs=epochs)
        rates = [training_throughput(replace(probe, dtype=d)) for d in ("float64", "float32")]
        print(f"  {hidden:>6}  {rates[0] / 1e6:>8.2f}M  {rates[1] / 1e6:>8.2f}M")
    print(
        "training protocols, one core, hidden 8, float64, model-epochs/s (share of full-batch gd):"
    )
    probe = RunConfig(seed=0, hidden=8, lr=1.0, epochs=epochs)
    gd = None
    for label, (settings, options) in PROTOCOLS.items():
        rate = training_throughput(replace(probe, **settings), **options)
        gd = gd or rate
        print(f"  {label:<40} {rate / 1e6:>7.2f}M  {rate / gd:>6.0%}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
