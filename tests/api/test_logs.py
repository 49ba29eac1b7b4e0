"""App logs read through the CloudWatch Logs API (boto3 and ``aws logs``)."""

import pytest

from tests.conftest import aws_cli

GROUP = "/aws/sagemaker/studio"
LINES = [
    "2026-11-23T09:00:00.000000001Z [I KernelGatewayApp] Jupyter Kernel Gateway 3.0.1 is available",
    "2026-11-23T09:00:01.500000000Z Traceback (most recent call last):",
    '2026-11-23T09:00:01.600000000Z PermissionError: [Errno 13] Permission denied: "/home/sagemaker-user/x"',
]


@pytest.fixture
def logged(fresh_server):
    srv = fresh_server()
    stream = srv.data_dir / "logs/aws/sagemaker/studio/d-abc/alice/KernelGateway/default.log"
    stream.parent.mkdir(parents=True)
    stream.write_text("\n".join(LINES) + "\n")
    return srv


def test_groups_streams_and_events(logged):
    logs = logged.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]
    streams = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["d-abc/alice/KernelGateway/default"]
    assert streams[0]["firstEventTimestamp"] == 1795424400000 and streams[0]["lastEventTimestamp"] == 1795424401600
    events = logs.get_log_events(logGroupName=GROUP, logStreamName="d-abc/alice/KernelGateway/default", startFromHead=True)
    assert [e["message"] for e in events["events"]] == [line.split(" ", 1)[1] for line in LINES]
    again = logs.get_log_events(logGroupName=GROUP, logStreamName="d-abc/alice/KernelGateway/default", nextToken=events["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == events["nextForwardToken"]
    found = logs.filter_log_events(logGroupName=GROUP, filterPattern="PermissionError")["events"]
    assert [e["logStreamName"] for e in found] == ["d-abc/alice/KernelGateway/default"] and "Permission denied" in found[0]["message"]
    assert logs.filter_log_events(logGroupName=GROUP, filterPattern='"no such words"')["events"] == []


def test_missing_groups_and_streams(logged):
    logs = logged.client("logs")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.describe_log_streams(logGroupName="/aws/other")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName=GROUP, logStreamName="d-abc/bob/KernelGateway/default")


def test_the_aws_cli_reads_why_an_app_failed(logged, tmp_path):
    aws = aws_cli(logged, tmp_path, "logs")
    out = aws("get-log-events", "--log-group-name", GROUP, "--log-stream-name", "d-abc/alice/KernelGateway/default", "--start-from-head")
    assert "PermissionError" in out["events"][-1]["message"]
    streams = aws("describe-log-streams", "--log-group-name", GROUP, "--log-stream-name-prefix", "d-abc/alice")
    assert [s["logStreamName"] for s in streams["logStreams"]] == ["d-abc/alice/KernelGateway/default"]
    filtered = aws("filter-log-events", "--log-group-name", GROUP, "--filter-pattern", "Traceback")
    assert len(filtered["events"]) == 1


def test_the_proxy_keeps_byois_credentials_from_apps():
    from byoi.gateway.proxy import app_headers

    forwarded = dict(app_headers({"Cookie": "byoi_session=secret; _xsrf=abc", "Authorization": "Bearer secret", "Accept": "*/*", "Connection": "x", "Host": "byoi:8080"}))
    assert forwarded == {"Cookie": "_xsrf=abc", "Accept": "*/*", "Host": "byoi:8080"}
    assert dict(app_headers({"Cookie": "byoi_session=secret", "Authorization": "token app-token"})) == {"Authorization": "token app-token"}


def test_the_log_group_has_its_arns_and_retention(logged):
    (group,) = logged.client("logs").describe_log_groups()["logGroups"]
    assert group["logGroupArn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/studio"
    assert group["arn"] == group["logGroupArn"] + ":*"
    assert group["retentionInDays"] == 30  # BYOI_LOG_RETENTION_DAYS' default


@pytest.mark.parametrize(
    ("pattern", "found"),
    [
        ("Traceback", [1]),
        ("traceback", []),  # terms are case-sensitive
        ('"Permission denied"', [2]),
        ("Errno 13", [2]),  # every term
        ("?Traceback ?PermissionError", [1, 2]),  # any optional term
        ("Jupyter -Gateway", []),
        ("Errno -Traceback", [2]),
        ("", [0, 1, 2]),
    ],
)
def test_filter_patterns_match_as_cloudwatchs_unstructured_patterns_do(logged, pattern, found):
    events = logged.client("logs").filter_log_events(logGroupName=GROUP, filterPattern=pattern)["events"]
    assert [e["message"] for e in events] == [LINES[i].split(" ", 1)[1] for i in found]


def test_ordering_streams_by_last_event_time_refuses_a_prefix(logged):
    logs = logged.client("logs")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", logStreamNamePrefix="d-abc")


def test_time_windows_include_the_start_and_exclude_the_end(logged):
    logs = logged.client("logs")
    stream = "d-abc/alice/KernelGateway/default"
    events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startTime=1795424401500, endTime=1795424401600)
    assert [e["timestamp"] for e in events["events"]] == [1795424401500]
    filtered = logs.filter_log_events(logGroupName=GROUP, startTime=1795424401500, endTime=1795424401600)["events"]
    assert [e["timestamp"] for e in filtered] == [1795424401500, 1795424401600]  # FilterLogEvents' end is inclusive


def test_event_ids_stay_the_same_when_older_events_are_pruned(logged):
    """``aws logs tail --follow`` (CLI v2) polls FilterLogEvents from the newest time it saw and drops
    the event ids it printed; an id that changed would print a line twice."""
    from byoi.runtime.app_logs import AppLogs

    logs = logged.client("logs")
    before = {e["message"]: e["eventId"] for e in logs.filter_log_events(logGroupName=GROUP)["events"]}
    AppLogs(logged.data_dir).prune(1795424401000)  # drops the first line only
    after = {e["message"]: e["eventId"] for e in logs.filter_log_events(logGroupName=GROUP)["events"]}
    assert len(after) == 2 and all(before[m] == after[m] for m in after)
