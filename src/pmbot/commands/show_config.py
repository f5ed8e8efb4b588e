"""`pmbot show-config`: print the merged settings (defaults < TOML < env < flags)."""

from __future__ import annotations

import argparse
import os

from pmbot.settings import load_settings, show

HELP = "print the merged, validated settings (secrets are never part of them)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="TOML config file")


def main(args: argparse.Namespace) -> int:
    print(show(load_settings(args.config, os.environ)))
    return 0
