"""Run the sentibot command line in-process, as a user would type it, and read what it printed."""

from __future__ import annotations

from sentibot.cli import main


def run(argv: list[str], capsys) -> tuple[int | str | None, str, str]:
    """(exit code, stdout, stderr) of `sentibot ARGV`; 0 when main returns without SystemExit."""
    code: int | str | None = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
