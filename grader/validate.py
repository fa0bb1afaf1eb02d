"""`course validate` (to be written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="(not written yet)")
    parser.set_defaults(func=lambda args: print("course validate: not written yet") or 2)
