"""Run the fault, fuzz and security suites and publish what was tried and what held.

Runs ``pytest tests/faults tests/fuzz tests/security`` once (JUnit XML and Hypothesis statistics
on), counts per test function how many cases ran (parametrizations; for property tests, the
examples Hypothesis generated) and how many held, and writes ``docs/reliability.md``. With
``--atheris-runs N`` it also runs the coverage-guided decoder fuzzer (when atheris is importable)
and adds its line. Exits 1 when anything failed, after writing the report.

    python scripts/reliability_report.py
    PYTHONPATH=/tmp/atheris-lib python scripts/reliability_report.py --atheris-runs 200000
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = {"faults": "Faults", "fuzz": "Hostile input", "security": "Security"}
_STATS_TEST = re.compile(r"^(tests/\S+::\S+):\s*$")
_STATS_PASSING = re.compile(r"(\d+) passing(?: examples?)?,")
_ATHERIS_DONE = re.compile(r"Done (\d+) (?:runs )?in (\d+) second")
_ATHERIS_COV = re.compile(r"cov: (\d+)")
# What ``serve`` prints on start, which a soak log begins with.
_SERVER_BANNER = ("OTLP/", "SQL (", "Data directory", "Storage:")


@dataclass
class Row:
    """One test function: the cases it ran and how many held."""

    suite: str
    module: str
    function: str
    cases: int = 0
    held: int = 0
    seconds: float = 0.0
    examples: int = 0  # Hypothesis examples, summed over the function's cases
    ids: list[str] = field(default_factory=list)  # parametrization ids
    failures: list[str] = field(default_factory=list)

    @property
    def tried(self) -> str:
        return self.function.removeprefix("test_").replace("_", " ")

    def variants(self, limit: int = 600) -> str:
        """The parametrizations: grouped by a ``kind:`` prefix with counts, else listed."""
        if not self.ids:
            return ""
        if all(":" in i for i in self.ids):
            kinds: dict[str, int] = {}
            for i in self.ids:
                kind = i.split(":", 1)[0].split("-")[-1]
                kinds[kind] = kinds.get(kind, 0) + 1
            text = ", ".join(f"{kind} ({n})" for kind, n in kinds.items())
        else:
            text = "; ".join(f"`` {i} ``" if "`" in i else f"`{i}`" for i in self.ids)
        return text if len(text) <= limit else text[:limit].rsplit(";", 1)[0] + "; ..."


def run_pytest(extra: list[str]) -> tuple[list[Row], float, str]:
    """Run the suites; rows in file order, wall time, and pytest's output."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable, "-m", "pytest", *(f"tests/{suite}" for suite in SUITES),
                "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                "--hypothesis-show-statistics", *extra,
            ],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.monotonic() - started
        if not report.exists():
            raise SystemExit(f"pytest did not run:\n{result.stdout}\n{result.stderr}")
        rows = _rows(ET.parse(report).getroot())
    _add_examples(rows, result.stdout)
    return rows, wall, result.stdout


def _rows(root: ET.Element) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    for case in root.iter("testcase"):
        module = case.get("classname", "")
        function = case.get("name", "").split("[")[0]
        suite = module.split(".")[1] if module.count(".") >= 2 else module
        row = rows.setdefault((module, function), Row(suite, module, function))
        row.cases += 1
        name = case.get("name", "")
        if "[" in name:
            row.ids.append(name[name.index("[") + 1 : -1])
        row.seconds += float(case.get("time", "0"))
        problem = next(iter([*case.iter("failure"), *case.iter("error")]), None)
        skipped = next(iter(case.iter("skipped")), None)
        if problem is None and skipped is None:
            row.held += 1
        elif problem is not None:
            message = (problem.get("message") or "").splitlines()
            row.failures.append(f"{case.get('name')}: {message[0] if message else 'failed'}")
    return list(rows.values())


def _add_examples(rows: list[Row], output: str) -> None:
    """Hypothesis statistics name each test, then count its passing examples."""
    by_node = {f"{r.module.replace('.', '/')}.py::{r.function}": r for r in rows}
    current: Row | None = None
    for line in output.splitlines():
        if match := _STATS_TEST.match(line.strip()):
            current = by_node.get(match.group(1).split("[")[0])
        elif current is not None and (match := _STATS_PASSING.search(line)):
            current.examples += int(match.group(1))


def run_atheris(runs: int) -> str | None:
    """One line on the coverage-guided fuzzer, or None when atheris is not installed."""
    if importlib.util.find_spec("atheris") is None:
        return None
    with tempfile.TemporaryDirectory() as corpus:
        harness = ROOT / "tests" / "fuzz" / "atheris_decoders.py"
        subprocess.run(
            [sys.executable, str(harness), "--seed", corpus], cwd=ROOT, check=True,
            capture_output=True,
        )  # fmt: skip
        result = subprocess.run(
            [sys.executable, str(harness), f"-atheris_runs={runs}", "-max_len=65536", corpus],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
    log = result.stdout + result.stderr
    done = _ATHERIS_DONE.search(log)
    coverage = _ATHERIS_COV.findall(log)
    if result.returncode != 0 or done is None:
        tail = "\n".join(log.splitlines()[-15:])
        return f"| atheris (OTLP decoders, coverage-guided) | FOUND A CRASH | \n\n```\n{tail}\n```"
    return (
        f"| atheris: protobuf and JSON OTLP decoders down to Arrow columns, coverage-guided"
        f" | {int(done.group(1)):,} inputs | all held | {coverage[-1] if coverage else '?'}"
        f" edges covered, {done.group(2)} s |"
    )


def render(rows: list[Row], wall: float, atheris: str | None, soak: str | None) -> str:
    failed = sum(r.cases - r.held for r in rows)
    cases = sum(r.cases for r in rows)
    examples = sum(r.examples for r in rows)
    lines = [
        "# Reliability: what was tried, and what held",
        "",
        "Generated by `python scripts/reliability_report.py` (do not edit by hand) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {cases} cases"
        f" ({examples:,} generated examples in property tests), {cases - failed} held,"
        f" {failed} failed, in {wall:.0f} s.",
        "",
        "Every case runs against real processes: `agentledger serve` (embedded chDB) over real",
        "sockets, and in server mode a second `serve` whose SQL endpoint plays the ClickHouse",
        "server, which the faults stop, freeze or slow down (a throttling TCP proxy).",
        "A full disk is simulated with `RLIMIT_FSIZE` on the collector process (the same",
        "`OSError` on the same `write` as `ENOSPC`; tmpfs or loop mounts need root), and the",
        "spool's own limit with `AGENTLEDGER_SPOOL_MAX_BYTES`.",
        "",
    ]
    for suite, title in SUITES.items():
        lines += [
            f"## {title}",
            "",
            "| what was tried | cases | held | notes |",
            "|---|---:|---:|---|",
        ]
        for row in (r for r in rows if r.suite == suite):
            notes = [f"{row.examples:,} examples"] if row.examples else []
            if row.variants():
                notes.append(row.variants())
            notes.append(f"{row.seconds:.0f} s")
            notes += [f"FAILED {failure}" for failure in row.failures[:3]]
            cell = "; ".join(notes).replace("|", "\\|")  # a pipe would end the table cell
            lines.append(f"| {row.tried} | {row.cases} | {row.held} | {cell} |")
        lines.append("")
    if atheris:
        lines += [
            "## Coverage-guided fuzzing",
            "",
            "| what was tried | inputs | held | notes |",
            "|---|---:|---|---|",
            atheris,
            "",
        ]
    if soak:
        lines += [
            "## Soak",
            "",
            "`python benchmarks/soak.py` output (a run's log, passed with `--soak-log`):",
            "",
            "```",
            *[line for line in soak.splitlines() if not line.startswith(_SERVER_BANNER)],
            "```",
            "",
        ]
    lines += [
        "## Rerun",
        "",
        "```",
        "python scripts/reliability_report.py          # the suites above (about 4 minutes)",
        "pip install --target /tmp/atheris-lib atheris",
        "PYTHONPATH=/tmp/atheris-lib python tests/fuzz/atheris_decoders.py -atheris_runs=1000000"
        " /tmp/corpus",
        "python benchmarks/soak.py --minutes 10          # RSS and latency at half the max rate",
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--atheris-runs", type=int, default=0)
    parser.add_argument("--soak-log", type=Path, help="output of benchmarks/soak.py to include")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, e.g. -k tenancy")
    args = parser.parse_args()
    rows, wall, output = run_pytest(args.pytest_args)
    atheris = run_atheris(args.atheris_runs) if args.atheris_runs else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    soak = args.soak_log.read_text() if args.soak_log else None
    args.out.write_text(render(rows, wall, atheris, soak))
    held = all(r.held == r.cases for r in rows)
    print(output.strip().splitlines()[-1] if output.strip() else "")
    print(f"wrote {args.out}")
    if not held:
        sys.exit(1)


if __name__ == "__main__":
    main()
