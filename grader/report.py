"""Step 5, report: grades.csv for the LMS, summary.json, a score histogram, a one-screen table.

Everything is rebuilt from ``results/<student>.json`` (one record per student, rewritten on each
grading), so a rerun, or grading a few students again, never duplicates or loses a row.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.workspace import Workspace

if TYPE_CHECKING:
    from grader.autograde import StudentGrade


def save_result(workspace: Workspace, grade: StudentGrade, extra: dict[str, Any]) -> None:
    path = workspace.result_file(grade.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**asdict(grade), **extra}, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_results(workspace: Workspace) -> list[dict[str, Any]]:
    """Records of every collected student that has been graded, sorted by student."""
    collected = set(workspace.collected_students())
    records = []
    for path in sorted((workspace.workdir / "results").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["student"] in collected:
            records.append(record)
    return records


def _tests(records: list[dict[str, Any]], max_scores: dict[str, float]) -> list[str]:
    tests = list(max_scores)
    for record in records:
        tests += [name for name in record["max_scores"] if name not in tests]
    return tests


def write_csv(path: Path, records: list[dict[str, Any]], max_scores: dict[str, float]) -> None:
    tests = _tests(records, max_scores)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *tests, "total", "max", "status", "reason", "tampered"])
        for r in records:
            writer.writerow([r["student"], *(f"{r['scores'].get(t, 0.0):g}" for t in tests),
                             f"{r['total']:g}", f"{r['max_total']:g}", r["status"], r["reason"],
                             "yes" if r["tampered"] else "no"])


def summarize(records: list[dict[str, Any]], max_scores: dict[str, float], run: dict[str, Any]) -> dict[str, Any]:
    totals = [r["total"] for r in records]
    statuses: dict[str, int] = {}
    for r in records:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    pass_rates = {}
    for name, points in max_scores.items():
        earned = [r["scores"].get(name, 0.0) >= points for r in records]
        pass_rates[name] = round(sum(earned) / len(earned), 3) if earned else None
    return {
        "students": len(records),
        "max_total": sum(max_scores.values()),
        "mean": round(statistics.fmean(totals), 3) if totals else None,
        "median": statistics.median(totals) if totals else None,
        "statuses": statuses,
        "tampered": sorted(r["student"] for r in records if r["tampered"]),
        "pass_rates": pass_rates,
        "last_run": run,
    }


def write_histogram(path: Path, records: list[dict[str, Any]], max_total: float, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    totals = [r["total"] for r in records]
    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    if max_total <= 40:  # one bar per whole point, centred on it: 12 and 13 never share a bar
        bins = [edge - 0.5 for edge in range(int(max_total) + 2)]
    else:
        bins = [max_total * step / 20 for step in range(21)]
    axes.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(f"total score (out of {max_total:g})")
    axes.set_ylabel("students")
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def table(records: list[dict[str, Any]], summary: dict[str, Any] | None = None, width: int = 100,
          max_rows: int = 40) -> str:
    """The one-screen summary: a line per student (only the ones to look at in a big class)."""
    head = f"{'student':<18} {'score':>11}  {'status':<9} {'tamp':<4}  reason"
    lines = [head, "-" * width]
    shown = records
    if len(records) > max_rows:
        shown = [r for r in records if r["status"] != "ok" or r["tampered"]][:max_rows]
    room = max(10, width - 48)
    for r in shown:
        score = f"{r['total']:g}/{r['max_total']:g}"
        reason = r["reason"] if len(r["reason"]) <= room else r["reason"][: room - 3] + "..."
        lines.append(f"{r['student']:<18} {score:>11}  {r['status']:<9} {'yes' if r['tampered'] else '':<4}  {reason}")
    if len(shown) < len(records):
        lines.append(f"... {len(records) - len(shown)} more students in grades.csv")
    if summary and records:
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(summary["statuses"].items()))
        lines.append("-" * width)
        lines.append(f"{len(records)} students, mean {summary['mean']:g} / {summary['max_total']:g}, "
                     f"median {summary['median']:g}; status: {statuses}")
    return "\n".join(lines)


def write_reports(workspace: Workspace, max_scores: dict[str, float], run: dict[str, Any]) -> dict[str, Any]:
    """Rewrite grades.csv, summary.json and scores.png from all results; return the summary."""
    records = load_results(workspace)
    write_csv(workspace.workdir / "grades.csv", records, max_scores)
    summary = summarize(records, max_scores, run)
    (workspace.workdir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    write_histogram(workspace.workdir / "scores.png", records, summary["max_total"],
                    f"{workspace.assignment}: {len(records)} students")
    summary["table"] = table(records, summary)
    return summary
