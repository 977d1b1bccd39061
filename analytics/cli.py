"""The command line: python -m analytics [--db PATH] COMMAND.

Commands: demo, ingest, rates, loads, rollback, score, backtest, rescore, review, letters, brief, summary, backup,
restore, serve.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

from analytics.analyses.queries import channel_summary
from analytics.ingest.history import list_loads
from analytics.ingest.limits import COMMAND_LINE_LIMITS
from analytics.ingest.load import load_extract
from analytics.ingest.mappings import remember_mapping, remembered_mapping
from analytics.ingest.read import extract_headers
from analytics.ingest.rejects import rejects_csv
from analytics.ingest.report import ExtractInvalid
from analytics.ingest.rollback import rollback_load
from analytics.model.features import DEFAULT_HORIZON
from analytics.periods import quarters_to, trailing_span
from analytics.store.faults import StoreError, StoreFault, store_fault
from analytics.store.quarters import latest_quarter, parse_quarter_text
from analytics.store.rates import RatesInvalid, load_rates, reporting_currency
from analytics.store.store import Store, default_db_path

# The model (scikit-learn, scipy) and the exports (openpyxl) are imported by the commands that use them:
# importing them costs over a second, which `ingest --no-scores` and every other command would pay first.

__all__ = ["main", "build_parser", "DEFAULT_WAIT"]

DEFAULT_WAIT = 300.0
# Commands that write: while they wait and work, a note beside the file asks the app to let go of it.
# A backup only reads, but it too needs the file, which the running app holds between page runs; score and
# backtest store the scores they compute.
WRITING = {"demo", "ingest", "rates", "rollback", "backup", "score", "backtest", "rescore", "review"}
# Exit code of a fault of the database file itself (unwritable folder, damaged file): someone must act.
FAULT_EXIT = 2


def _who() -> str:
    """Give who a write from the command line is recorded as: the operating-system user."""
    return f"command line ({getpass.getuser()})"


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def _no_scores_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--no-scores", action="store_true",
                         help="do not bring the model's stored scores up to date afterwards (the app does it in "
                              "the background at its next visit; `rescore` does it here)")


def _rescore(store: Store, args: argparse.Namespace) -> None:
    """Ask for the stored scores to be brought up to date once this command has let go of the file (see main)."""
    args.rescore_after = not getattr(args, "no_scores", False)


def _rescore_apart(args: argparse.Namespace) -> None:
    """Bring the stored scores up to date, holding the file only to read the history and to write the scores.

    A load is done and committed before this starts: the app's pages show the new quarter while the
    model is fitted, instead of waiting for the whole command (most of a minute at the demo size).
    """
    from analytics.model.scoring import refresh_scores_apart

    runs = refresh_scores_apart(lambda: _open(args), progress=_progress)
    for run in runs:
        what = f"{run.partners:,} partners scored" if run.partners else run.message
        print(f"Scores as of {run.as_of}, {run.horizon}-quarter horizon: {what}.")
    if not runs:
        print("The stored scores are up to date.")


def _open(args: argparse.Namespace) -> Store:
    """Give the database the command works on, waiting for its turn; a writing command announces itself."""
    return Store(args.db, wait=args.wait, on_wait=lambda why: print(why, file=sys.stderr, flush=True),
                 announce=args.command in WRITING)


def build_parser() -> argparse.ArgumentParser:
    """Give the argument parser of the command line."""
    parser = argparse.ArgumentParser(prog="python -m analytics", description="Channel Health engine")
    parser.add_argument("--db", help=f"database file (default: $CHANNEL_DB or {default_db_path()})")
    parser.add_argument(
        "--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
        help=f"while another process (the running app) holds the database, wait this long for it "
             f"(default {DEFAULT_WAIT:.0f}); the app lets go as soon as a load is waiting",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate the demo channel and load it")
    demo.add_argument("--seed", type=int, default=None, help="random seed (default: the demo's own)")
    demo.add_argument("--partners", type=int, default=None, help="partners at the start (default 6000)")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the database holds data")
    demo.add_argument("--extracts-dir", type=Path, help="keep the quarterly CSV extracts in this folder")
    demo.add_argument("--hold-back", nargs="*", default=[], metavar="QUARTER",
                      help="write these quarters' extracts but do not load them (to upload them later)")
    _no_scores_option(demo)

    ingest = commands.add_parser("ingest", help="load sales extracts (CSV or Excel)")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    how = ingest.add_mutually_exclusive_group()
    how.add_argument("--replace", action="store_true", help="swap the quarters a file covers for its rows")
    how.add_argument("--append", action="store_true", help="add a file's rows to quarters that hold data")
    ingest.add_argument("--day-first", action="store_true", help="read dates like 03/04/2025 as day/month")
    ingest.add_argument(
        "--column", action="append", default=[], type=_column_choice, metavar="FIELD=HEADER",
        help='read FIELD from the file\'s column HEADER, e.g. --column revenue="Amount (USD)"; repeatable. '
             "Any field the importer knows (optional ones too: customer_segment, product, country, "
             "transaction_id, ...); remembered for files with the same headers",
    )
    ingest.add_argument("--force", action="store_true",
                        help="with --replace: replace even a quarter the file brings under a tenth of "
                             "(otherwise refused with the figures); with --append: add rows identical to stored "
                             "ones (otherwise refused with their count per quarter)")
    ingest.add_argument("--skip-bad-rows", action="store_true",
                        help="load the good rows and set rows with problems aside (otherwise a file with bad "
                             "rows is refused); needs --rejects")
    ingest.add_argument("--rejects", type=Path, metavar="FILE.csv",
                        help="write the rows set aside here, each as it was in the file with its row number "
                             "and the reason")
    ingest.add_argument("--currency", metavar="CODE", type=str.upper,
                        help="the currency (ISO 4217, like AUD) of amounts the file names none for: no currency "
                             "column, no code in the amount's header (otherwise the reporting currency)")
    _no_scores_option(ingest)

    rates = commands.add_parser("rates", help="load exchange rates per quarter and currency (CSV or Excel: quarter, "
                                              "currency, rate in units of the reporting currency per unit)")
    rates.add_argument("file", type=Path, metavar="FILE")
    _no_scores_option(rates)

    commands.add_parser("loads", help="list the loads")
    rollback = commands.add_parser("rollback", help="undo a load")
    rollback.add_argument("load_id", type=int, metavar="LOAD_ID")
    rollback.add_argument("--force", action="store_true",
                          help="roll back even a load whose quarters would be left empty (otherwise refused)")
    _no_scores_option(rollback)

    score = commands.add_parser("score", help="write each partner's churn and turnaround probability to a CSV")
    score.add_argument("--as-of", metavar="QUARTER", help="cutoff quarter like 2026Q3 (default: the latest)")
    score.add_argument("--horizon", type=int, default=DEFAULT_HORIZON, metavar="H",
                       help=f"quarters ahead the model looks (default {DEFAULT_HORIZON})")
    score.add_argument("--out", type=Path, required=True, metavar="FILE.csv")

    backtest = commands.add_parser("backtest", help="print the model's backtest against the baselines")
    backtest.add_argument("--as-of", metavar="QUARTER", help="use data up to this quarter only (default: all)")
    backtest.add_argument("--horizon", type=int, default=DEFAULT_HORIZON, metavar="H",
                          help=f"quarters ahead the model looks (default {DEFAULT_HORIZON})")

    commands.add_parser("rescore", help="bring the stored model scores up to date (after new program rules, "
                                        "a new version, or a load made with --no-scores)")

    review = commands.add_parser("review", help="write each partner's recommended action in the annual review to a "
                                                "CSV, or save them as a named review's decisions")
    review.add_argument("--as-of", metavar="QUARTER", help="last quarter of the review year like 2026Q3 "
                                                           "(default: the latest)")
    review.add_argument("--out", type=Path, metavar="FILE.csv", help="write the recommendations to this CSV")
    review.add_argument("--save", metavar="NAME", help="save the recommendations as the decisions of review NAME "
                                                        "(like FY2026), as the page's Save does; again updates it")
    review.add_argument("--program", type=Path, metavar="FILE.toml",
                        help="program rules (default: data/program.toml)")
    review.add_argument("--region", metavar="REGION",
                        help="only this region's partners, under its program: revenue in the program's currency and "
                             "in the reporting currency, columns named with each (revenue_AUD, revenue_USD)")

    letters = commands.add_parser("letters", help="write a letter per partner of a saved review (Word) and a mail "
                                                  "merge file")
    letters.add_argument("--review", required=True, metavar="NAME", help="the saved review, like FY2026")
    letters.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="folder for <partner_id>.docx and mailmerge.csv")
    letters.add_argument("--with-notes", action="store_true", help="include the chief's note in each letter")

    brief = commands.add_parser("brief", help="write the quarter's board pack (a PowerPoint deck)")
    brief.add_argument("--as-of", metavar="QUARTER", help="the quarter like 2026Q3 (default: the latest)")
    brief.add_argument("--out", type=Path, required=True, metavar="FILE.pptx")
    brief.add_argument("--template", type=Path, metavar="FILE.pptx",
                       help="build on this company deck's slide master and layouts (it needs layouts named "
                            "'Title Slide' and 'Title Only'); default: the template an admin uploaded "
                            "(data/brief_template.pptx), else the default Office one")

    summary = commands.add_parser("summary", help="totals over everything stored")
    summary.add_argument("--json", action="store_true", help="print one JSON object")

    backup = commands.add_parser("backup", help="copy the database into a new time-named folder under DIR")
    backup.add_argument("dir", type=Path, metavar="DIR")
    backup.add_argument("--keep", type=int, default=0, metavar="N",
                        help="then delete all but the newest N backups in DIR (default: keep all)")
    backup.add_argument("--force", action="store_true",
                        help="with --keep: delete old backups even when one holds more data than those kept")
    restore = commands.add_parser("restore",
                                  help="replace the database by a backup (DIR: one backup, or the newest in it)")
    restore.add_argument("dir", type=Path, metavar="DIR")
    restore.add_argument("--force", action="store_true",
                         help="replace a database that holds data (the replaced file is kept beside it)")

    serve = commands.add_parser("serve", help="run the app as N processes behind nginx, which keeps each browser "
                                              "on one process; a process that dies is started again")
    serve.add_argument("--processes", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="app processes, each reading the database read-only (default: one per core)")
    serve.add_argument("--port", type=int, default=8501, help="the address's port (default 8501)")
    serve.add_argument("--address", default=None,
                       help="the interface to answer on (default: all once sign-in is configured, else 127.0.0.1; "
                            "without sign-in only 127.0.0.1 is accepted)")
    serve.add_argument("--run-dir", type=Path, default=None, metavar="DIR",
                       help="where nginx's configuration, pid, logs and temp files go (default: a new temporary "
                            "folder, named at the start)")
    return parser


def _column_choice(text: str) -> tuple[str, str]:
    """Give (field, header) from one --column value written as field=Header."""
    canonical, sep, header = text.partition("=")
    if not sep or not canonical.strip() or not header:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=HEADER; write it like revenue=\"Amount (USD)\"")
    return canonical.strip(), header


def _demo(store: Store, args: argparse.Namespace) -> int:
    from analytics.demo import DemoSpec, build_demo_channel

    if args.if_empty and not store.is_empty():
        print(f"{store.path} already holds data; demo not built.")
        return 0
    spec = DemoSpec()
    if args.seed is not None:
        spec = DemoSpec(seed=args.seed, partners=spec.partners)
    if args.partners is not None:
        spec = DemoSpec(seed=spec.seed, partners=args.partners)
    started = time.perf_counter()
    results = build_demo_channel(
        store, spec, progress=_progress, extracts_dir=args.extracts_dir, hold_back=tuple(args.hold_back),
        score=not args.no_scores, by=_who(),
    )
    rows = sum(r.rows_added for r in results)
    print(f"Demo channel loaded: {rows:,} order lines in {len(results)} quarterly extracts, "
          f"{time.perf_counter() - started:.1f} s.")
    return 0


def _ingest(store: Store, args: argparse.Namespace) -> int:
    mode = "replace" if args.replace else "append" if args.append else "refuse"
    if args.skip_bad_rows and args.rejects is None:
        print("error: --skip-bad-rows needs --rejects FILE.csv, where the rows set aside are written", file=sys.stderr)
        return 1
    if args.force and mode == "refuse":
        print("error: --force applies to --replace or --append only", file=sys.stderr)
        return 1
    chosen = dict(args.column)
    failed = 0
    for path in args.files:
        try:
            # Columns named on the command line win over a mapping remembered for this layout, and are
            # remembered for the next file with these headers (as a mapping chosen on the Upload page).
            headers = extract_headers(path)
            overrides = {**(remembered_mapping(store, headers) or {}), **chosen} if chosen else None
            result = load_extract(store, path, mode=mode, column_overrides=overrides,
                                  day_first=True if args.day_first else None, loaded_by=_who(), progress=_progress,
                                  force=args.force, skip_bad_rows=args.skip_bad_rows, currency=args.currency,
                                  limits=COMMAND_LINE_LIMITS)
            if chosen and result.status == "loaded":
                remember_mapping(store, headers, overrides, by=_who())
        except StoreFault:
            raise  # the database itself cannot be used: no point trying the next file
        except ExtractInvalid as exc:
            print(exc.report.describe(limit=200))
            aside = (f" Or load its {exc.report.rows - len(exc.report.bad_rows):,} good rows and set the "
                     f"{len(exc.report.bad_rows):,} bad ones aside: --skip-bad-rows --rejects FILE.csv."
                     if exc.report.can_set_aside and not args.skip_bad_rows else "")
            print(f"{path}: not loaded; nothing was written. Fix the problems above and load it again.{aside}")
            failed += 1
            continue
        except (StoreError, OSError) as exc:
            print(f"{path}: {exc}")
            failed += 1
            continue
        if result.currency_note and result.status == "loaded":
            print(f"{path}: {result.currency_note}")
        for warning in result.warnings:
            print(f"{path}: warning: {warning}")
        if result.rejects is not None:
            rejects_path = _rejects_path(args.rejects, path, len(args.files))
            rejects_path.write_bytes(rejects_csv(result.rejects))
            print(f"{path}: {result.rows_set_aside:,} row(s) set aside, written to {rejects_path}")
        print(result.message)
    if failed < len(args.files):
        _rescore(store, args)
    return 1 if failed else 0


def _rates(store: Store, args: argparse.Namespace) -> int:
    try:
        result = load_rates(store, args.file, loaded_by=_who())
    except RatesInvalid as exc:
        print(exc)
        return 1
    print(result.message)
    reporting = reporting_currency()
    for r in result.changes.itertuples():
        before = "new" if r.previous_rate != r.previous_rate else f"was {r.previous_rate:g}"  # NaN: a new rate
        moved = f", revenue {r.revenue_change:+,.2f} {reporting} over {r.lines:,} line(s)" if r.lines else ""
        print(f"  {r.currency} {r.quarter}: {r.rate:g} ({before}){moved}")
    if result.rate_load_id is not None and result.changes["lines"].sum():
        _rescore(store, args)
    return 0


def _rejects_path(given: Path, source: str, files: int) -> Path:
    """Give where a file's rejects go: the path given, or beside it with the file's name when several load."""
    if files == 1:
        return given
    return given.with_name(f"{given.stem}_{Path(source).stem}{given.suffix or '.csv'}")


def _scored(store: Store, args: argparse.Namespace) -> tuple[str, int]:
    """Make sure scores as of --as-of (default: the latest quarter) and --horizon are stored; give the pair.

    Raises ValueError with the model's own words when the history is too short to score.
    """
    from analytics.model.scoring import refresh_scores, score_status

    quarter = _quarter(args.as_of) or latest_quarter(store)
    if quarter is None:
        raise ValueError("no data loaded yet; load an extract first")
    refresh_scores(store, progress=_progress, as_of=quarter, horizons=(args.horizon,))
    status = score_status(store, quarter, args.horizon)
    if not status.scored:
        raise ValueError(status.run.message if status.run else f"no scores as of {quarter}")
    return quarter, args.horizon


def _score(store: Store, args: argparse.Namespace) -> int:
    from analytics.export import to_safe_csv
    from analytics.model.scoring import stored_report, stored_scores

    quarter, horizon = _scored(store, args)
    scores = stored_scores(store, quarter, horizon)
    scores.insert(1, "as_of", quarter)
    scores = scores.rename(columns={"revenue_at_stake": f"revenue_last_{horizon}q"})
    args.out.write_bytes(to_safe_csv(scores))
    report = stored_report(store, quarter, horizon)
    for note in report.notes if report else ():
        print(f"note: {note}")
    print(f"{len(scores):,} partners with orders in the {quarters_to(quarter, horizon)} scored; "
          f"written to {args.out}.")
    return 0


def _backtest(store: Store, args: argparse.Namespace) -> int:
    from analytics.model.fit import backtest_text
    from analytics.model.scoring import stored_report

    quarter, horizon = _scored(store, args)
    print(backtest_text(stored_report(store, quarter, horizon)))
    return 0


def _brief(store: Store, args: argparse.Namespace) -> int:
    from analytics.analyses.messages import quarter_messages
    from analytics.brief import board_pack
    from analytics.brief.template import stored_template
    from analytics.filters import ChannelFilter
    from analytics.program.regional_programs import load_programs

    started = time.perf_counter()
    template = args.template or stored_template()
    if args.template is not None and not args.template.is_file():
        raise ValueError(f"no template file {args.template}")
    flt = ChannelFilter(quarter=_quarter(args.as_of)).resolved(store)
    programs = load_programs()
    messages = quarter_messages(store, flt, programs.global_rules, programs)
    deck = board_pack(store, flt, template, messages)
    try:
        deck.save(args.out)
    except OSError as exc:
        raise ValueError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    on = f"on the template {template}" if template is not None else "on the default template"
    print(f"Board pack written to {args.out} {on} ({time.perf_counter() - started:.1f} s).")
    if messages is not None:
        print(f"\nWhat changed in {messages.quarter}, largest first:")
        for i, message in enumerate(messages.messages, start=1):
            print(f"{i}. {message.text}. (Proof: the {message.page_label} page.)")
        if not messages.messages:
            print("Nothing changed beyond the noise.")
        for note in messages.not_available:
            print(note)
    return 0


def _backup(store: Store, args: argparse.Namespace) -> int:
    from analytics.store.backup import prune_backups, take_backup

    backup = take_backup(store, args.dir)
    print(f"Backup written: {backup.describe()}.")
    for folder in prune_backups(args.dir, args.keep, force=args.force):
        print(f"Older backup removed: {folder}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from analytics.store.backup import restore_backup

    target = Path(args.db) if args.db else default_db_path()
    done = restore_backup(args.dir, target, force=args.force, wait=args.wait,
                          on_wait=lambda why: print(why, file=sys.stderr, flush=True))
    print(f"Restored {target} from {done.backup.describe()}.")
    if done.kept_aside is not None:
        print(f"The file it replaced is kept as {done.kept_aside}.")
    return 0


def _review(store: Store, args: argparse.Namespace) -> int:
    from analytics.export import to_safe_csv
    from analytics.filters import ChannelFilter
    from analytics.program.regional_programs import load_programs
    from analytics.program.rules import PROGRAM_PATH
    from analytics.review.actions import ACTIONS, REVIEW_HORIZON
    from analytics.review.decisions import review_decisions, review_export
    from analytics.review.regional import region_review_export, regional_recommendations
    from analytics.review.saved_reviews import save_review

    programs = load_programs(args.program or PROGRAM_PATH)  # a bad file is a ValueError naming it and the key
    rules = programs.global_rules
    args.horizon = REVIEW_HORIZON
    as_of, _ = _scored(store, args)  # the stored scores the recommendations weigh, computed if missing
    if args.out is None and args.save is None:
        raise ValueError("review needs --out FILE.csv, --save NAME or both")
    scope = (args.region,) if args.region else ()
    recommended = regional_recommendations(store, as_of, programs, scope=scope)
    if args.region:
        if recommended.empty:
            raise ValueError(f"No partner of region {args.region!r} is in the review to {as_of}")
        under = sorted(recommended["program"].unique())
        if len(under) > 1:  # programs by country split the region: one file would mix currencies
            raise ValueError(f"Region {args.region} holds partners of the programs {', '.join(under)} (a program "
                             "names some of its countries); its review cannot be written in one currency")
        program = programs.named(under[0])
        rows = region_review_export(recommended, program, programs.reporting_currency)
        print(f"Region {args.region}: the {program.name} program, revenue in {program.currency}"
              + (f" and {programs.reporting_currency}." if program.currency != programs.reporting_currency else "."))
    else:
        rows = review_export(recommended)
    if args.out is not None:
        args.out.write_bytes(to_safe_csv(rows))
    if args.save is not None:
        saved = save_review(store, args.save, as_of, rules, review_decisions(recommended, ChannelFilter(as_of), {}),
                            user=_who())
        print(f"Saved review {saved['review']} as of {as_of}: {saved['added']:,} decisions added, "
              f"{saved['changed']:,} changed, {saved['unchanged']:,} unchanged.")
    counts = rows["recommendation"].value_counts()
    dormant = int((rows["dormant"] == "true").sum())
    print(f"{len(rows):,} partners reviewed, every one with an order in "
          f"{trailing_span(as_of, rules.review_lookback_quarters)}: {len(rows) - dormant:,} with orders in "
          f"{trailing_span(as_of, REVIEW_HORIZON)}, {dormant:,} dormant. Recommended: "
          + ", ".join(f"{action} {counts.get(action, 0):,}" for action in ACTIONS)
          + f" ({(rows['at_risk'] == 'true').sum():,} at risk)" + (f"; written to {args.out}." if args.out else "."))
    return 0


def _letters(store: Store, args: argparse.Namespace) -> int:
    from analytics.review.letters import write_letters

    count = write_letters(store, args.review, args.out, include_notes=args.with_notes,
                          progress=lambda done, total: _progress(done / total, f"Letters: {done:,} of {total:,}"))
    print(f"{count:,} letters of review {args.review} written to {args.out} (one .docx per partner, mailmerge.csv).")
    return 0


def _quarter(text: str | None) -> str | None:
    if text is None:
        return None
    quarter = parse_quarter_text(text)
    if quarter is None:
        raise ValueError(f"--as-of {text!r} is not a quarter; write it like 2026Q3")
    return quarter


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and give its exit code (0 done, 1 refused or bad input, 2 database file unusable)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "restore":
            return _restore(args)
        if args.command == "serve":
            from analytics.serve import serve

            return serve(Path(args.db) if args.db else default_db_path(), args.processes, args.port, args.address,
                         say=lambda text: print(text, file=sys.stderr, flush=True), run_dir=args.run_dir)
        code = _with_store(args)
        if getattr(args, "rescore_after", False):
            _rescore_apart(args)
        return code
    except StoreFault as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FAULT_EXIT
    except (StoreError, ValueError) as exc:
        # NotEnoughHistory and a malformed --as-of are ValueErrors whose message says what to do.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (duckdb.Error, OSError) as exc:
        # Damage beyond what opening the file reads shows only when a query reaches the garbled blocks;
        # a full disk shows wherever a write (the database, a temporary file of the importer) meets it.
        fault = store_fault(Path(args.db) if args.db else default_db_path(), exc)
        if fault is None:
            raise
        print(f"error: {fault}", file=sys.stderr)
        return FAULT_EXIT


def _with_store(args: argparse.Namespace) -> int:
    """Run a command that works on the database, and give its exit code."""
    with _open(args) as store:
        if args.command == "demo":
            return _demo(store, args)
        if args.command == "ingest":
            return _ingest(store, args)
        if args.command == "rates":
            return _rates(store, args)
        if args.command == "loads":
            frame = list_loads(store).drop(columns=["content_hash"])
            print("No loads yet." if frame.empty else frame.to_string(index=False))
            return 0
        if args.command == "score":
            return _score(store, args)
        if args.command == "backtest":
            return _backtest(store, args)
        if args.command == "backup":
            return _backup(store, args)
        if args.command == "review":
            return _review(store, args)
        if args.command == "letters":
            return _letters(store, args)
        if args.command == "brief":
            return _brief(store, args)
        if args.command == "rollback":
            quarters = rollback_load(store, args.load_id, by=_who(), force=args.force)
            print(f"Rolled back load #{args.load_id}; quarters refreshed: {', '.join(quarters)}.")
            _rescore(store, args)
            return 0
        if args.command == "rescore":
            _rescore(store, args)
            return 0
        summary = channel_summary(store)
        if args.json:
            print(json.dumps(summary))
        else:
            print(f"{summary['lines']:,} order lines, {summary['partners']:,} partners, "
                  f"revenue {summary['revenue']:,.2f} {summary['reporting_currency']}, {summary['loads']} loads")
            for q in summary["quarters"]:
                print(f"  {q['quarter']}: {q['lines']:>10,} lines {q['partners']:>7,} partners "
                      f"{q['revenue']:>18,.2f}")
        return 0
