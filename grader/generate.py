"""`course generate` (to be written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("generate", help="(not written yet)")
    parser.set_defaults(func=lambda args: print("course generate: not written yet") or 2)
