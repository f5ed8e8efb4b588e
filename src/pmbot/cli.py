"""The `pmbot` command line: one subcommand per module under `pmbot.commands`.

Each command module defines `HELP`, `add_arguments(parser)` and `main(args) -> int`,
and is imported only when its command runs (so `pmbot sim` never loads yfinance).
Exit codes: 0 ok, 1 runtime failure, 2 configuration or usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Sequence

from pmbot.errors import ConfigError, PmbotError

__all__ = ["COMMANDS", "main"]

# command name -> module under pmbot.commands
COMMANDS: dict[str, str] = {
    "run": "run",
    "sim": "sim",
    "markets": "markets",
    "status": "status",
    "cancel-all": "cancel_all",
    "reconcile": "reconcile",
    "calibrate": "calibrate",
    "backtest": "backtest",
    "show-config": "show_config",
}


def _available() -> dict[str, object]:
    mods = {}
    for name, mod in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"pmbot.commands.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"pmbot.commands.{mod}":
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmbot", description="Market-making bot for prediction markets"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in _available().items():
        p = sub.add_parser(
            name, help=getattr(mod, "HELP", ""), description=getattr(mod, "HELP", "")
        )
        mod.add_arguments(p)  # type: ignore[attr-defined]
        p.set_defaults(_main=mod.main)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help()
        return 2
    try:
        return int(args._main(args) or 0)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except (PmbotError, OSError, sqlite3.DatabaseError) as e:
        # a refused key, an unreachable venue, an unreadable path or ledger: one line
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except BaseExceptionGroup as eg:  # from a run's TaskGroup (its orders already cancelled)
        leaves = _leaves(eg)
        if not all(isinstance(x, _USER_ERRORS) for x in leaves):
            raise
        for e in leaves:
            print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


_USER_ERRORS = (PmbotError, OSError, sqlite3.DatabaseError)


def _leaves(e: BaseException) -> list[BaseException]:
    if isinstance(e, BaseExceptionGroup):
        return [x for sub in e.exceptions for x in _leaves(sub)]
    return [e]


if __name__ == "__main__":
    sys.exit(main())
