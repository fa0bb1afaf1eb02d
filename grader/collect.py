"""`course collect` (to be written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("collect", help="(not written yet)")
    parser.set_defaults(func=lambda args: print("course collect: not written yet") or 2)
