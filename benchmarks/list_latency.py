"""ListAppImageConfigs (and Cloud Control ListResources) page latency as the number of AppImageConfigs grows.

Reproduce (after `pip install -e '.[test]'`):

    .venv/bin/python benchmarks/list_latency.py --sizes 100 10000 100000 --calls 200

For each size, a fresh `byoi serve` (SQLite, authentication off) gets that
many AppImageConfigs, inserted straight into its database in one transaction
(creating 100,000 through the API would measure Create, not List); then one
boto3 client times ``--calls`` ListAppImageConfigs calls (MaxResults 10) for
each sort key and order, for the first page and for a page deep in the
listing (resumed from a NextToken saved halfway through), plus a NameContains
filter, and Cloud Control's ListResources of ``AWS::SageMaker::AppImageConfig``
(first and middle page, MaxResults 10, full models). Prints p50/p99 in
milliseconds per size as a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from tests.conftest import ByoiServer  # noqa: E402

from byoi.store.database import Database  # noqa: E402
from byoi.store.models import AppImageConfig  # noqa: E402

T0_MS = 1_700_000_000_000


def populate(database_url: str, count: int) -> None:
    """``count`` AppImageConfigs named cfg-000000..., one millisecond apart, in one transaction."""
    db = Database(database_url)
    db.migrate()
    rows = [
        {
            "account_id": "123456789012", "region": "us-east-1", "name": f"cfg-{i:06d}", "name_key": f"cfg-{i:06d}",
            "created_ms": T0_MS + i, "modified_ms": T0_MS + i, "code_editor": {},
        }
        for i in range(count)
    ]
    with db.write() as session:
        for start in range(0, count, 10_000):
            session.execute(insert(AppImageConfig), rows[start:start + 10_000])
    db.dispose()


def timed(call, calls: int) -> tuple[float, float]:
    for _ in range(10):
        call()
    latencies = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    return statistics.median(latencies) * 1000, latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000


def deep_token(sm, size: int, **query) -> str:
    """A NextToken from the middle of the listing, found by walking it 100 rows a call."""
    token, found = None, ""
    for _ in range(max(1, size // 200)):
        response = sm.list_app_image_configs(MaxResults=100, **query, **({"NextToken": token} if token else {}))
        token = response.get("NextToken")
        if not token:
            break
        found = token
    return found


def measure(size: int, calls: int) -> dict[str, tuple[float, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="byoi-list-"))
    server = ByoiServer(tmp, BYOI_AUTH="off", BYOI_LOG_LEVEL="warning")
    populate(server.env["BYOI_DATABASE_URL"], size)
    server.start()
    sm = server.client()
    results = {}
    try:
        for sort_by in ("CreationTime", "LastModifiedTime", "Name"):
            for order in ("Descending", "Ascending"):
                query = {"SortBy": sort_by, "SortOrder": order}
                results[f"{sort_by} {order}, first page"] = timed(
                    lambda query=query: sm.list_app_image_configs(MaxResults=10, **query), calls
                )
                token = deep_token(sm, size, **query)
                if token:
                    results[f"{sort_by} {order}, middle page"] = timed(
                        lambda query=query, token=token: sm.list_app_image_configs(MaxResults=10, NextToken=token, **query), calls
                    )
        results["NameContains '00042' (scans)"] = timed(lambda: sm.list_app_image_configs(MaxResults=10, NameContains="00042"), calls)
        cc = server.client("cloudcontrol")
        resources = {"TypeName": "AWS::SageMaker::AppImageConfig"}
        results["Cloud Control ListResources, first page"] = timed(lambda: cc.list_resources(MaxResults=10, **resources), calls)
        token = None
        for _ in range(max(1, size // 200)):
            token = cc.list_resources(MaxResults=100, **resources, **({"NextToken": token} if token else {})).get("NextToken")
        if token and size > 100:
            results["Cloud Control ListResources, middle page"] = timed(
                lambda: cc.list_resources(MaxResults=10, NextToken=token, **resources), calls
            )
    finally:
        server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    by_size = {}
    for size in args.sizes:
        by_size[size] = measure(size, args.calls)
        print(f"measured {size}", file=sys.stderr)
    rows = list(dict.fromkeys(row for size in args.sizes for row in by_size[size]))
    header = "| ListAppImageConfigs (MaxResults 10) | " + " | ".join(f"{s:,} configs p50 / p99 ms" for s in args.sizes) + " |"
    print(header)
    print("|---|" + "---|" * len(args.sizes))
    for row in rows:
        cells = [f"{by_size[s][row][0]:.2f} / {by_size[s][row][1]:.2f}" if row in by_size[s] else "-" for s in args.sizes]
        print(f"| {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
