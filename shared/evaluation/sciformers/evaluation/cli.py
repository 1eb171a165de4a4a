"""The ``sciformers`` command line: list, run, report, data, predict.

    sciformers list [pipelines|models|tasks|attention|datasets]
    sciformers run PIPELINE [--preset P] [--set k=v ...] [--out DIR] [--force] [--device auto|cpu|cuda] [--seed N] [--threads N] [--quiet]
    sciformers run quickstart                  # every pipeline's smoke preset, one combined report
    sciformers report DIR... [--out DIR]      # several folders: a new folder (printed) unless --out
    sciformers data DATASET [--set k=v ...]
    sciformers predict DOMAIN --checkpoint CKPT [--out DIR] [--option k=v ...] [--skip-invalid] INPUT...

Start-up: this module imports only the standard library and :mod:`sciformers.evaluation.catalog`
at the top. ``--help``, ``list``, ``data`` (no name) and ``predict [DOMAIN] --help`` answer from
the committed catalog; torch, the harness and a domain load inside the command that uses them.
Ctrl-C during a run prints one line (what was saved, the command that resumes) and exits 130.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import textwrap
from datetime import datetime
from pathlib import Path

from sciformers.evaluation.catalog import DEFAULT_PRESET, SECTIONS, load_catalog, section_lines

LISTABLE = SECTIONS
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sciformers", description="Specialized transformers for science.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered pipelines, models, tasks, attention variants, datasets")
    p.add_argument("what", nargs="?", choices=LISTABLE)

    p = sub.add_parser("run", help="run a pipeline (or 'quickstart': every smoke pipeline)")
    p.add_argument("pipeline", help="domain/name, a path to a pipeline YAML, or 'quickstart'")
    p.add_argument("--preset", default=DEFAULT_PRESET, help=f"preset in the YAML (default {DEFAULT_PRESET})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field; VALUE is YAML (e.g. --set 'train.seeds=[0, 1]')")
    p.add_argument("--out", type=Path, help="run folder (default runs/<pipeline>/<timestamp>); one holding a run of "
                   "the same config resumes it")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=int, help="run a single training seed (sets train.seeds=[N])")
    p.add_argument("--models", type=lambda v: [m.strip() for m in v.split(",") if m.strip()], metavar="NAME,...",
                   help="run only these pipeline models (the baseline always runs)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--force", action="store_true", help="replace the run in --out whatever its config (the previous "
                   "run is moved aside to <out>.replaced-<time>); without it the same config resumes")
    p.add_argument("--threads", type=int, help="CPU threads for torch (small models often run fastest on 1)")
    p.add_argument("--nproc", type=int, help="run under torchrun with N processes on this machine (gloo on CPU, "
                   "nccl on GPU); the same as 'torchrun --standalone --nproc-per-node N -m sciformers.evaluation.cli run ...'")

    p = sub.add_parser("report", help="rebuild report.md/report.html from run folders")
    p.add_argument("dirs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, help="where to write the report (default: one folder's report is rebuilt in "
                   "place; several folders get a new reports/<timestamp>)")

    p = sub.add_parser("data", help="generate or import a dataset into the cache")
    p.add_argument("dataset", nargs="?", help="dataset name; omit to list them")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("predict", add_help=False, help="predict with a checkpoint on input files (writes only under --out)")
    p.add_argument("domain", nargs="?", help="the domain whose predictor to use ('sciformers predict --help' lists them)")
    p.add_argument("-h", "--help", action="store_true", help="this help, or a domain's inputs and options")
    p.add_argument("--checkpoint", type=Path)
    p.add_argument("--out", type=Path, help="folder for every file written (default predictions/<domain>/<timestamp>)")
    p.add_argument("--option", dest="options", action="append", default=[], metavar="KEY=VALUE",
                   help="a domain option (see 'sciformers predict DOMAIN --help')")
    p.add_argument("--skip-invalid", action="store_true", help="report bad inputs and go on with the rest")
    p.add_argument("inputs", nargs="*")
    return parser


def _list(what: str | None) -> None:
    catalog = load_catalog()
    for name in [what] if what else LISTABLE:
        print(f"{name}:")
        for line in section_lines(name, catalog):
            print(f"  {line}")


def _torchrun(nproc: int, argv: list[str]) -> int:
    """Re-run this command under PyTorch's launcher with ``nproc`` local processes; its exit code."""
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {nproc}")
    import subprocess

    rest, skip = [], False
    for item in argv:  # the same command without --nproc
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            rest.append(item)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "sciformers.evaluation.cli", *rest]
    try:
        return subprocess.run(command).returncode
    except KeyboardInterrupt:  # the ranks got the signal too; rank 0 printed what was saved
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> None:
    from sciformers.core import ConfigError, distributed
    from sciformers.evaluation.pipeline import run_pipeline, run_quickstart

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    if args.pipeline == "quickstart":
        if args.overrides or args.preset != DEFAULT_PRESET or args.seed is not None or args.models is not None:
            raise ConfigError("quickstart runs every pipeline's smoke preset; --preset/--set/--seed/--models do not apply")
        result = run_quickstart(args.out, device=args.device, quiet=args.quiet, force=args.force)
    else:
        try:
            result = run_pipeline(args.pipeline, preset=args.preset, overrides=args.overrides, out=args.out,
                                  device=args.device, seed=args.seed, models=args.models, quiet=args.quiet,
                                  force=args.force)
            main = distributed.is_main()
        finally:
            distributed.cleanup()  # under torchrun: leave the process group before the process exits
        if not main:
            return
    records = result.out_dir / "records.jsonl"  # quickstart: one folder, and one records file, per pipeline
    print(f"records: {records if records.is_file() else result.out_dir / '<pipeline>' / 'records.jsonl'}")
    print(f"report:  {result.report_md}")
    print(f"         {result.report_html}")


def _report_dir(dirs: list[Path], out: Path | None) -> Path:
    """Where ``report`` writes: ``--out``; one folder's own; else a new ``reports/<timestamp>``."""
    if out is not None:
        return out
    if len(dirs) == 1:
        return dirs[0]
    base = Path("reports") / datetime.now().strftime("%Y%m%d-%H%M%S")
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _report(args: argparse.Namespace) -> None:
    from sciformers.evaluation.records import read_records
    from sciformers.evaluation.report import write_report

    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        raise FileNotFoundError(f"no such run folder: {', '.join(map(str, missing))}")
    files = sorted({f for d in args.dirs for f in ([d / "records.jsonl"] + sorted(d.glob("**/records.jsonl"))) if f.is_file()})
    if not files:
        raise FileNotFoundError(f"no records.jsonl under {', '.join(map(str, args.dirs))}")
    records = [r for f in files for r in read_records(f)]
    md, html = write_report(records, _report_dir(args.dirs, args.out), title="sciformers report",
                            run_dirs=sorted({f.parent for f in files}))
    print(f"report:  {md}\n         {html}")


def _data(args: argparse.Namespace) -> None:
    if args.dataset is None:
        _list("datasets")
        return
    from sciformers.core import apply_overrides
    from sciformers.evaluation.datasets import get_dataset

    entry = get_dataset(args.dataset)
    config = entry.schema.parse(apply_overrides({}, args.overrides), where=args.dataset)
    for path in entry.build(config):
        print(path)


def _predict_help(domain: str | None) -> None:
    """The predictors' help from the catalog (a domain missing there: from its live registration)."""
    predictors = load_catalog()["predictors"]
    if domain is None:
        print("usage: sciformers predict DOMAIN --checkpoint CKPT [--out DIR] [--option KEY=VALUE ...] "
              "[--skip-invalid] INPUT ...\n\nEvery file goes under --out (default predictions/<domain>/<timestamp>); "
              "inputs are never written to.\n\ndomains (sciformers predict DOMAIN --help for its inputs and options):")
        for name, entry in predictors.items():
            options = f" [options: {', '.join(entry['options'])}]" if entry["options"] else ""
            print(f"  {name:11s} {textwrap.shorten(entry['inputs'], 90, placeholder=' ...')}{options}")
        return
    if domain in predictors:
        inputs, options = predictors[domain]["inputs"], predictors[domain]["options"]
    else:
        from sciformers.evaluation.datasets import get_predictor

        predictor = get_predictor(domain)
        inputs, options = predictor.inputs, predictor.options
    print(f"sciformers predict {domain} --checkpoint CKPT [--out DIR] [--option KEY=VALUE ...] [--skip-invalid] INPUT ...")
    print(f"\ninputs: {inputs}")
    if options:
        print("\noptions (--option KEY=VALUE):")
        for key, meaning in options.items():
            print(f"  {key:16s} {meaning}")


def _predict(args: argparse.Namespace) -> int:
    """``sciformers predict``: every file under ``--out``; bad inputs skipped or fatal; exit 1 if none succeeded."""
    if args.help or args.domain is None:
        _predict_help(args.domain)
        return 0
    from sciformers.core import ConfigError
    from sciformers.evaluation.datasets import PredictRequest, get_predictor

    if args.checkpoint is None or not args.inputs:
        raise ConfigError(f"predict {args.domain}: needs --checkpoint CKPT and at least one INPUT "
                          f"(see 'sciformers predict {args.domain} --help')")
    predictor = get_predictor(args.domain)
    options = {}
    for item in args.options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {item!r}: expected KEY=VALUE")
        if key not in predictor.options:
            takes = ", ".join(predictor.options) or "no options"
            raise ConfigError(f"--option {key}: unknown for {args.domain}; it takes {takes}")
        options[key] = value
    out = (args.out or Path("predictions") / args.domain / datetime.now().strftime("%Y%m%d-%H%M%S")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    result = predictor.run(PredictRequest(args.checkpoint, list(args.inputs), out, options, args.skip_invalid))
    outside = [p for p in result.written if not Path(p).resolve().is_relative_to(out)]
    if outside:
        raise RuntimeError(f"predict {args.domain} wrote outside --out {out}: {', '.join(map(str, outside))}")
    for line in result.lines:
        print(line)
    for item, reason in result.skipped:
        print(f"sciformers: skipped {item}: {reason}", file=sys.stderr)
    print(f"sciformers: {len(result.written)} file(s) under {out}", file=sys.stderr)
    return 1 if result.skipped and not result.lines else 0


def _resume_command(argv: list[str], out: Path) -> str:
    """The command line that resumes a run: ``argv`` with ``--out`` set to ``out`` and without ``--force``."""
    rest, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--out":
            skip = True
        elif item != "--force" and not item.startswith("--out="):
            rest.append(item)
    return shlex.join(["sciformers", *rest, "--out", str(out)])


def _interrupted(err: KeyboardInterrupt, argv: list[str]) -> int:
    """One line for Ctrl-C: what was saved and the command that resumes; exit code 130."""
    out = getattr(err, "resume_dir", None)
    if out is None:
        print("\nsciformers: interrupted; nothing was saved", file=sys.stderr)
    elif getattr(err, "main", True):
        total = getattr(err, "total", None)
        saved = f"{err.done} of {total}" if total is not None else f"{err.done}"  # type: ignore[attr-defined]
        print(f"\nsciformers: interrupted; {saved} runs saved in {err.out_dir} (records.jsonl, checkpoints/); "  # type: ignore[attr-defined]
              f"resume with: {_resume_command(argv, out)}", file=sys.stderr)
    return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sciformers`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "predict":  # inputs may follow options: argparse leaves those for us
        args.inputs += [e for e in extra if not e.startswith("-")]
        extra = [e for e in extra if e.startswith("-")]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "list":
            _list(args.what)
        elif args.command == "run" and args.nproc is not None and "WORLD_SIZE" not in os.environ:
            return _torchrun(args.nproc, argv)
        elif args.command == "run":
            _run(args)
        elif args.command == "report":
            _report(args)
        elif args.command == "data":
            _data(args)
        elif args.command == "predict":
            return _predict(args)
    except KeyboardInterrupt as err:
        return _interrupted(err, argv)
    except (KeyError, FileNotFoundError, ValueError) as err:  # ConfigError is a ValueError
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"sciformers: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
