"""``course``: the instructor (and student) command line. Each verb lives in its own module.

A verb module exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

VERBS = ("generate", "run", "selfcheck", "validate", "collect", "autograde", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="nlp-course instructor tools: build student versions, run notebooks, grade a class.",
    )
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in VERBS:
        importlib.import_module(f"grader.{verb}").register(subparsers)
    return parser


def skip_slow_optional_imports() -> None:
    """jsonschema (under nbformat) imports the optional ``rfc3987_syntax`` for IRI format checks; it
    compiles a grammar at import, about a second per process. Notebooks never need those checks."""
    sys.modules.setdefault("rfc3987_syntax", None)  # None: "import rfc3987_syntax" raises ImportError


def main(argv: list[str] | None = None) -> int:
    skip_slow_optional_imports()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
