"""Showing a check report: a table for people, JSON for programs."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from byoi.check.findings import ERROR, Report


def as_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2)


def print_table(report: Report, console: Console) -> None:
    if not report.findings:
        console.print(f"[green]✓[/green] {report.image} passes every check for a {report.app_type} app ({', '.join(report.checked)}).")
        return
    table = Table(title=f"byoi check {report.image} ({report.app_type})", show_lines=True)
    for column in ("Severity", "Finding", "Evidence", "Fix"):
        table.add_column(column, overflow="fold")
    for f in report.findings:
        color = "red" if f.severity == ERROR else "yellow"
        table.add_row(f"[{color}]{f.severity}[/{color}]", f"[bold]{f.code}[/bold]\n{f.message}", f.evidence, f.fix)
    console.print(table)
    errors = sum(f.severity == ERROR for f in report.findings)
    verdict = "[red]will not work in Studio[/red]" if errors else "[yellow]will work, with warnings[/yellow]"
    console.print(f"{report.image}: {verdict} ({errors} errors, {len(report.findings) - errors} warnings).")
