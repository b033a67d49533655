"""The `sentibot` command line: thin click shells over the core modules (DESIGN.md lists the commands)."""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path

import click

from sentibot import __version__
from sentibot.config import Settings, load_settings
from sentibot.errors import SentibotError

db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="SQLite history file (default: SENTIBOT_DB, or data/sentibot.db).",
)


def settings_from(ctx: click.Context) -> Settings:
    """Settings are loaded and validated once per invocation."""
    root = ctx.find_root()
    if "settings" not in root.meta:
        root.meta["settings"] = load_settings()
    return root.meta["settings"]


def open_store(path, **kwargs):
    """sentibot.store.db.open_store, imported on first use: sqlite-utils pulls in pandas (~0.4 s), which
    `sentibot --version` and `--help` do not need."""
    from sentibot.store.db import open_store as _open_store

    return _open_store(path, **kwargs)


def language(ctx: click.Context) -> str:
    """The CLI's language: SENTIBOT_LANGUAGE, else the locale (LANG...); JSON output is never translated."""
    import os

    from sentibot import i18n

    try:
        return i18n.default_language(settings_from(ctx).language)
    except SentibotError:  # a bad setting fails the command that needs it, not the offline demo's output
        return i18n.default_language(os.environ.get("SENTIBOT_LANGUAGE", ""))


def open_db(ctx: click.Context, db_path: Path | None):
    return open_store(db_path or settings_from(ctx).db)


def open_existing(ctx: click.Context, db_path: Path | None):
    """For read-only commands: a missing history is a one-line error, never a new empty file."""
    from sentibot.errors import StoreError

    path = db_path or settings_from(ctx).db
    if not Path(path).expanduser().exists():
        raise StoreError(f"database {path}: does not exist (run `sentibot demo`, `sentibot replay` or "
                         "`sentibot run` first, or pass --db)")
    return open_store(path, create=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sentibot")
def cli() -> None:
    """sentibot: retail sentiment tracker and alert bot for the Beijing Stock Exchange (北交所)."""


# --- foundation commands ---


@cli.command()
@db_option
@click.option("--kind", "kind", metavar="K", default=None,
              help="alerts, scores or notices; or an alert kind (frenzy, cooling, regulator_warning, source_down, "
                   "digest) for alerts of that kind. Default: all three.")
@click.option("--since", metavar="DATE", default=None,
              help="Only records at or after DATE (YYYY-MM-DD, or YYYY-MM-DDTHH:MM in Asia/Shanghai).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV export (header ts,record,kind,level,score,title,detail).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (alert JSON for alerts).")
@click.pass_context
def history(ctx: click.Context, db_path: Path | None, kind: str | None, since: str | None, as_csv: bool,
            as_json: bool) -> None:
    """Print the stored alerts, scores and notices, oldest first."""
    import io

    from sentibot import i18n
    from sentibot.errors import InputError
    from sentibot.views import timeline as hist

    if as_csv and as_json:
        raise InputError("--csv and --json: choose one output format")
    query = hist.build_query(kind, since)
    path = db_path or settings_from(ctx).db
    if db_path is None and not path.exists():
        click.echo(i18n.t(language(ctx), "No history yet: {path} does not exist (run `sentibot demo` or "
                                         "`sentibot run` first).", path=path), err=as_csv or as_json)  # exports stay clean
        return
    rows = hist.query_history(open_store(path, create=False), query)
    if as_csv:
        out = io.StringIO()
        hist.write_csv(rows, out)
        click.echo(out.getvalue(), nl=False)
    elif as_json:
        for line in hist.json_lines(rows):
            click.echo(line)
    elif rows:
        click.echo(hist.format_table(rows))
    if not rows:
        # i18n: {query} is "alerts, scores or notices" or "frenzy alerts since 2023-11-01" (English, from the query)
        click.echo(i18n.t(language(ctx), "No {query} stored in {path}.", path=path, query=query.describe()),
                   err=as_csv or as_json)


# --- text commands ---
def _analyze_texts(csv_path: Path) -> list[str]:
    """The `title` (or else `text`) column of a CSV file."""
    import csv

    from sentibot.errors import InputError

    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            column = "title" if "title" in columns else "text" if "text" in columns else None
            if column is None:
                raise InputError(f"{csv_path}: no 'title' or 'text' column (columns: {', '.join(columns) or 'none'})")
            return [row[column] or "" for row in reader]
    except FileNotFoundError:
        raise InputError(f"{csv_path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{csv_path}: not a readable UTF-8 CSV file ({exc})") from None
    except OSError as exc:
        raise InputError(f"{csv_path}: cannot read ({exc.strerror})") from None


@cli.command()
@click.argument("texts", nargs=-1)
@click.option("--file", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file whose 'title' (or 'text') column holds the texts.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per text, one per line.")
def analyze(texts: tuple[str, ...], csv_path: Path | None, as_json: bool) -> None:
    """Tokens, sentiment, mentioned stocks/topics and notice class of titles or notices."""
    import json

    from sentibot.text import tokenizer as textmod

    items = list(texts) + (_analyze_texts(csv_path) if csv_path else [])
    if not items:
        raise click.UsageError("give TEXT arguments or --file CSV")
    for item in items:
        row, senti = textmod.explain(item)
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        words = senti.words
        mentions, notice = row["mentions"], row["notice_class"]
        click.echo(
            f"{row['label']:<8} {row['sentiment']:+.2f}  {item[:60]}\n"
            f"    tokens: {' '.join(row['tokens'][:40])}\n"
            f"    words: {', '.join(words) or '-'}  stocks: {', '.join(mentions['stocks']) or '-'}  "
            f"topics: {', '.join(mentions['topics']) or '-'}  notice: {notice['label']}"
            + (f" (severity {notice['severity']}: {', '.join(notice['triggers'])})" if notice["triggers"] else "")
        )


# --- collection commands ---

COLLECT_FAILED = ("blocked", "failed")


@cli.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE ...]")
@db_option
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Backfill from this date (YYYY-MM-DD); resumes where an interrupted backfill stopped.")
@click.pass_context
def collect(ctx: click.Context, sources: tuple[str, ...], db_path: Path | None, since) -> None:
    """One collection cycle of the named sources (default: all); prints one summary line per source."""
    import asyncio

    from sentibot import i18n
    from sentibot.collect import cycle as registry
    from sentibot.timeutil import now

    names = registry.check_names(sources)
    settings = settings_from(ctx)
    db = open_db(ctx, db_path)
    day = since.date() if since else None
    if day is None:
        results = asyncio.run(registry.collect_cycle(names, settings, db, now()))
    else:
        total = sum(registry.backfill_units(name, db, settings) for name in names)
        label = i18n.t(language(ctx), "backfill since {day}", day=day)
        with click.progressbar(length=max(total, 1), label=label, file=sys.stderr) as bar:
            results = asyncio.run(registry.collect_cycle(names, settings, db, now(), day, bar.update))
    width, lang = max(len(r.source) for r in results), language(ctx)
    for r in results:  # source, outcome and detail are the collectors' own words (as in /sources and the logs)
        items = i18n.tn(lang, "{n} item", "{n} items", r.items, n=format(r.items, ">7"))
        click.echo(f"{r.source:<{width}}  {r.outcome.value:<14}  {items}  {r.detail}")
    failed = [r.source for r in results if r.outcome.value in COLLECT_FAILED]
    if failed:
        raise SentibotError(f"collect: {', '.join(failed)} blocked or failed (see the summary above)")


# --- probe command ---


@cli.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE ...]")
@click.option("--record", "record_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save every raw response under DIR as a test fixture (cookies, tokens, credentials removed).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per endpoint, one per line.")
@click.pass_context
def probe(ctx: click.Context, sources: tuple[str, ...], record_dir: Path | None, as_json: bool) -> None:
    """Ask each endpoint of each source once and print whether it works; exit 0 only when all configured do."""
    import asyncio
    import json

    from sentibot import i18n
    from sentibot.collect import probe as probes
    from sentibot.timeutil import now

    names = probes.check_probe_names(sources)
    settings = settings_from(ctx)
    recorder = None
    if record_dir is not None:
        from sentibot.collect.recorder import FixtureRecorder

        recorder = FixtureRecorder(record_dir, settings, now())
    lines = asyncio.run(probes.run_probes(names, settings, now(), recorder=recorder))
    width = max(len(line.endpoint) for line in lines)
    for line in lines:
        if as_json:
            click.echo(json.dumps(line.to_json(), ensure_ascii=False))
        else:
            click.echo(f"{line.source:<12} {line.endpoint:<{width}}  {line.status.value:<14}  {line.detail}"
                       + (f"  [{line.url}]" if line.url else ""))
    if recorder is not None:
        click.echo(i18n.tn(language(ctx), "recorded {n} response under {dir}", "recorded {n} responses under {dir}",
                           len(recorder.written), dir=record_dir), err=True)
    failing = list(dict.fromkeys(line.source for line in lines if line.fails))
    if failing:
        raise SentibotError(f"probe: {', '.join(failing)} not working (see the lines above)")


# --- scoring commands ---


@cli.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as one JSON object.")
@click.pass_context
def heat(ctx: click.Context, db_path: Path | None, as_json: bool) -> None:
    """The current heat snapshot (the same content as the bot's /heat)."""
    import json

    from sentibot.timeutil import now
    from sentibot.views.heat import EMPTY_MESSAGE, format_heat, heat_snapshot

    snapshot = heat_snapshot(open_existing(ctx, db_path), now=now())
    if as_json:
        click.echo(json.dumps(snapshot.to_json() if snapshot else {"empty": True, "message": EMPTY_MESSAGE},
                              ensure_ascii=False))
    else:
        click.echo(format_heat(snapshot, html=False, lang=language(ctx)))


# --- stock commands ---


def _lang(ctx: click.Context) -> str:
    from sentibot import i18n

    return i18n.default_language(settings_from(ctx).language)


def _read_only_db(ctx: click.Context, db_path: Path | None, as_json: bool):
    """The history for `top` and `stock`, never created: None (and a note) when it does not exist yet."""
    from sentibot import i18n

    path = db_path or settings_from(ctx).db
    if not path.exists():
        click.echo(i18n.t(_lang(ctx), "No history yet: {path} does not exist (run `sentibot collect`, `replay` or "
                                      "`run` first).", path=path), err=as_json)
        if as_json:
            click.echo("[]" if ctx.command.name == "top" else "{}")
        return None
    return open_store(path, create=False)


@cli.command()
@click.option("-n", "n", type=click.IntRange(1, 300), default=10, show_default=True, help="How many stocks.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="A JSON list, best first (DESIGN.md's Top JSON).")
@click.pass_context
def top(ctx: click.Context, n: int, db_path: Path | None, as_json: bool) -> None:
    """BSE stocks ranked by heat (attention surge first), with the change since the previous trading day."""
    import json

    from sentibot.views import stocks as views

    db = _read_only_db(ctx, db_path, as_json)
    if db is None:
        return
    rows = views.top(db, n)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], ensure_ascii=False))
    else:
        click.echo(views.format_top(rows, html=False, day=views.latest_dates(db)[0], lang=_lang(ctx)))


@cli.command()
@click.argument("query", metavar="CODE|NAME")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as one JSON object.")
@click.pass_context
def stock(ctx: click.Context, query: str, db_path: Path | None, as_json: bool) -> None:
    """One stock's heat: a 920xxx code, an old 43/83/87xxxx code, or a name (full or a unique prefix)."""
    import json

    from sentibot.errors import InputError
    from sentibot.store.stock_names import StockInputError, resolve
    from sentibot.views import stocks as views

    path = db_path or settings_from(ctx).db
    db = open_store(path, create=False) if path.exists() else None
    try:
        found = resolve(db, query)
    except StockInputError as exc:  # an unknown or ambiguous name: one line, in the CLI's language
        raise InputError(exc.text(_lang(ctx))) from None
    if db is None:
        _read_only_db(ctx, db_path, as_json)
        return
    snap = views.stock_snapshot(db, found)
    click.echo(json.dumps(snap.to_json(), ensure_ascii=False) if as_json else
               views.format_stock(snap, html=False, lang=_lang(ctx)))


def _alert_line(alert) -> str:
    score = "" if alert.score is None else f" score {alert.score:.0f}"
    reasons = f"  ({'; '.join(alert.reasons)})" if alert.reasons else ""
    return f"{alert.ts}  {alert.kind.value:17} {alert.level:8}{score}  {alert.title}{reasons}"


@cli.command()
@click.option("--market", "market", required=True, multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Market CSV: date,close,amount[,open,high,low,volume,turnover_rate,code]; repeat it for more "
                   "files (e.g. the stocks' bars for the limit board).")
@click.option("--attention", "attention", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Attention CSV (long): date,source,metric,value[,subject].")
@click.option("--notices", "notices", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Notices CSV or JSON Lines: published_at,source,title,text,url.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="One alert JSON object per line.")
@click.pass_context
def replay(ctx: click.Context, market: tuple[Path, ...], attention: Path | None, notices: Path | None, db_path: Path | None,
           as_json: bool) -> None:
    """Import a history and score it day by day as if live; prints the alerts."""
    import json

    from sentibot import i18n
    from sentibot.score.replay import replay as run_replay

    db = open_db(ctx, db_path)
    result = run_replay(db, list(market), attention, notices)
    if as_json:
        for alert in result.alerts:
            click.echo(json.dumps(alert.to_json(), ensure_ascii=False))
        return
    lang = language(ctx)
    click.echo(i18n.t(lang, "imported {bars} bars, {observations} attention values, {notices} notices ({first} .. "
                            "{last}); scored {scored} days; {alerts} alerts", bars=result.bars,
                      observations=result.observations, notices=result.notices, first=result.first, last=result.last,
                      scored=result.scored, alerts=len(result.alerts)))
    if result.scored == 0:
        click.echo(i18n.t(lang, "no day could be scored yet: a score needs about 21 trading days of BSE 50 bars"))
    for alert in result.alerts:
        click.echo(_alert_line(alert))


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite file for the demo (default: a fresh data/out/demo.db; never your SENTIBOT_DB).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/out"),
              help="Directory for the chart PNG (default data/out).")
@click.pass_context
def demo(ctx: click.Context, db_path: Path | None, out_dir: Path) -> None:
    """Offline: replay the bundled, reconstructed Nov-2023 BSE episode; print timeline and alerts; write a chart."""
    from sentibot import i18n
    from sentibot.demo import run_demo

    if db_path is None:
        db_path = out_dir / "demo.db"
        for suffix in ("", "-wal", "-shm"):  # a fresh demo history each run: the default file is the demo's own
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    lang = language(ctx)
    result = run_demo(open_store(db_path), out_dir, lang=lang)
    click.echo("\n".join(result.lines))
    click.echo(i18n.t(lang, "history: {path}", path=db_path))


# --- bot commands ---
@cli.command("bot")
@db_option
@click.pass_context
def bot_command(ctx: click.Context, db_path: Path | None) -> None:
    """Serve Telegram commands and deliver pending alerts (no collection); Ctrl-C stops it."""
    import asyncio

    from sentibot.bot.application import serve
    from sentibot.logs import configure_logging

    settings = settings_from(ctx)
    configure_logging(settings)
    db = open_db(ctx, db_path)
    asyncio.run(serve(settings, db))


# --- run commands ---


@cli.command()
@db_option
@click.pass_context
def run(ctx: click.Context, db_path: Path | None) -> None:
    """The main job: scheduler + collectors + scoring + alerts + bot, until SIGTERM/SIGINT."""
    import asyncio
    import dataclasses

    from sentibot.logs import configure_logging
    from sentibot.run.service import serve

    settings = settings_from(ctx)
    if db_path is not None:
        settings = dataclasses.replace(settings, db=db_path)
    configure_logging(settings)
    asyncio.run(serve(settings))


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every SentibotError ends as one line on stderr and exit status 1."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cli.main(args=argv, prog_name="sentibot", standalone_mode=False)
    except SentibotError as exc:
        click.echo(f"sentibot: error: {exc}", err=True)
        sys.exit(1)
    except sqlite3.Error as exc:  # e.g. "database is locked" past the busy timeout
        click.echo(f"sentibot: error: database: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("sentibot: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
