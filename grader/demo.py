"""`course demo` (to be written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="(not written yet)")
    parser.set_defaults(func=lambda args: print("course demo: not written yet") or 2)
