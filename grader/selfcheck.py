"""`course selfcheck` (to be written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("selfcheck", help="(not written yet)")
    parser.set_defaults(func=lambda args: print("course selfcheck: not written yet") or 2)
