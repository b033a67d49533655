"""The `sentibot` command line: thin click shells over the core modules (DESIGN.md lists the commands)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from sentibot import __version__
from sentibot.config import Settings, load_settings
from sentibot.errors import SentibotError
from sentibot.store import open_store

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


def open_db(ctx: click.Context, db_path: Path | None):
    return open_store(db_path or settings_from(ctx).db)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sentibot")
def cli() -> None:
    """sentibot: retail sentiment tracker and alert bot for the Beijing Stock Exchange (北交所)."""


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

    from sentibot import text as textmod

    items = list(texts) + (_analyze_texts(csv_path) if csv_path else [])
    if not items:
        raise click.UsageError("give TEXT arguments or --file CSV")
    for item in items:
        row = textmod.analyze(item)
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        words = textmod.sentiment(item).words
        mentions, notice = row["mentions"], row["notice_class"]
        click.echo(
            f"{row['label']:<8} {row['sentiment']:+.2f}  {item[:60]}\n"
            f"    tokens: {' '.join(row['tokens'][:40])}\n"
            f"    words: {', '.join(words) or '-'}  stocks: {', '.join(mentions['stocks']) or '-'}  "
            f"topics: {', '.join(mentions['topics']) or '-'}  notice: {notice['label']}"
            + (f" (severity {notice['severity']}: {', '.join(notice['triggers'])})" if notice["triggers"] else "")
        )


# --- scoring commands ---


@cli.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as one JSON object.")
@click.pass_context
def heat(ctx: click.Context, db_path: Path | None, as_json: bool) -> None:
    """The current heat snapshot (the same content as the bot's /heat)."""
    import json

    from sentibot.heat import EMPTY_MESSAGE, format_heat, heat_snapshot

    snapshot = heat_snapshot(open_db(ctx, db_path))
    if as_json:
        click.echo(json.dumps(snapshot.to_json() if snapshot else {"empty": True, "message": EMPTY_MESSAGE},
                              ensure_ascii=False))
    else:
        click.echo(format_heat(snapshot, html=False))


# --- run commands ---


@cli.command()
@db_option
@click.pass_context
def run(ctx: click.Context, db_path: Path | None) -> None:
    """The main job: scheduler + collectors + scoring + alerts + bot, until SIGTERM/SIGINT."""
    import asyncio
    import dataclasses

    from sentibot.service import configure_logging, serve

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
