"""Entry point of a grading worker process: ``python -m grader.worker JOB.json`` (see :mod:`grader.batch`).

A worker starts once per notebook, so its start-up counts (see :func:`grader.cli.skip_slow_optional_imports`).
"""

import sys
from pathlib import Path

from grader.cli import skip_slow_optional_imports

skip_slow_optional_imports()

from grader.batch import run_worker  # noqa: E402

if __name__ == "__main__":
    run_worker(Path(sys.argv[1]))
