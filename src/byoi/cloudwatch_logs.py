"""The CloudWatch Logs read API over app logs (log group /aws/sagemaker/studio).

DescribeLogGroups, DescribeLogStreams, GetLogEvents and FilterLogEvents answer
from ``byoi.runtime.app_logs.AppLogs``, so ``aws logs get-log-events
--endpoint-url ...`` shows what an app printed, and why it failed. Streams are
written while the app runs (``byoi.runtime.log_shipper``), so polling
FilterLogEvents, as ``aws logs tail --follow`` does, sees new lines.
``filterPattern`` is CloudWatch's pattern for unstructured events (``matches``).
"""

from __future__ import annotations

import shlex

from byoi.aws.errors import AwsError
from byoi.aws.pagination import Paginator
from byoi.aws.protocol import Handler, JsonService, RequestContext
from byoi.runtime.app_logs import LOG_GROUP, AppLogs

#: FilterLogEvents pages: events in time order (an event's id orders those of one millisecond).
_EVENT_PAGES: Paginator = Paginator("events", lambda e: (e["timestamp"], e["eventId"]), arity=2)


class LogsResourceNotFound(AwsError):
    code = "ResourceNotFoundException"
    status = 400


class InvalidParameterException(AwsError):
    code = "InvalidParameterException"
    status = 400


def matches(message: str, pattern: str | None) -> bool:
    """Whether ``message`` matches an unstructured filter pattern, as CloudWatch Logs reads one.

    Terms are case-sensitive and match anywhere in the message; a quoted phrase is
    one term. Every plain term must be present, no ``-term`` may be; when any
    ``?term`` is given, at least one of them must be present.
    """
    if not pattern or not pattern.strip():
        return True
    try:
        terms = shlex.split(pattern)
    except ValueError:
        terms = pattern.split()
    optional = [t[1:] for t in terms if t.startswith("?") and len(t) > 1]
    excluded = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    required = [t for t in terms if not (t.startswith(("?", "-")) and len(t) > 1)]
    return (
        all(t in message for t in required)
        and not any(t in message for t in excluded)
        and (not optional or any(t in message for t in optional))
    )


def handlers(logs: AppLogs, retention_days: int = 0) -> dict[str, Handler]:
    def group_of(p: dict) -> str:
        name = p.get("logGroupName") or (p.get("logGroupIdentifier") or "").split(":log-group:")[-1].removesuffix(":*")
        if name != LOG_GROUP or not logs.streams():
            raise LogsResourceNotFound("The specified log group does not exist.")
        return name

    def arn(ctx: RequestContext, stream: str | None = None) -> str:
        base = f"arn:aws:logs:{ctx.scope.region}:{ctx.scope.account_id}:log-group:{LOG_GROUP}"
        return f"{base}:log-stream:{stream}" if stream else f"{base}:*"

    def describe_log_groups(ctx: RequestContext, p: dict) -> dict:
        prefix = p.get("logGroupNamePrefix") or ""
        streams = logs.streams()
        if not streams or not LOG_GROUP.startswith(prefix):
            return {"logGroups": []}
        first = min((logs.events(s) or [(0, "")])[0][0] for s in streams)
        stored = sum(logs.path(s).stat().st_size for s in streams)
        group = {"logGroupName": LOG_GROUP, "creationTime": first, "arn": arn(ctx), "logGroupArn": arn(ctx).removesuffix(":*"),
                 "storedBytes": stored, "metricFilterCount": 0}
        if retention_days:
            group["retentionInDays"] = retention_days
        return {"logGroups": [group]}

    def describe_log_streams(ctx: RequestContext, p: dict) -> dict:
        group_of(p)
        if p.get("orderBy") == "LastEventTime" and p.get("logStreamNamePrefix"):
            raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
        summaries = []
        for stream in logs.streams():
            if not stream.startswith(p.get("logStreamNamePrefix") or ""):
                continue
            events = logs.events(stream)
            first, last = (events[0][0], events[-1][0]) if events else (0, 0)
            summaries.append(
                {"logStreamName": stream, "creationTime": first, "firstEventTimestamp": first, "lastEventTimestamp": last,
                 "lastIngestionTime": last, "arn": arn(ctx, stream), "storedBytes": logs.path(stream).stat().st_size}
            )
        by_time = p.get("orderBy") == "LastEventTime"
        descending = bool(p.get("descending"))
        paginator = Paginator(
            f"streams:{'time' if by_time else 'name'}:{'desc' if descending else 'asc'}",
            (lambda s: (s["lastEventTimestamp"], s["logStreamName"])) if by_time else (lambda s: ("", s["logStreamName"])),
            arity=2,
            descending=descending,
        )
        summaries.sort(key=paginator.key, reverse=descending)
        page = paginator.page_of(summaries, p.get("limit", 50), p.get("nextToken"))
        return {"logStreams": page.items, "nextToken": page.next_token}

    def get_log_events(ctx: RequestContext, p: dict) -> dict:
        group_of(p)
        stream = p["logStreamName"]
        if stream not in logs.streams():
            raise LogsResourceNotFound("The specified log stream does not exist.")
        events = [(t, m) for t, m in logs.events(stream) if p.get("startTime", 0) <= t and ("endTime" not in p or t < p["endTime"])]
        limit = p.get("limit", 10000)
        token = p.get("nextToken")
        if token:  # f/N or b/N: continue from event N
            if not (token[:2] in ("f/", "b/") and token[2:].isdigit()):
                raise InvalidParameterException("The specified nextToken is invalid.")
            position = int(token[2:])
        else:  # like CloudWatch: the newest events, unless asked to start from the head
            position = 0 if p.get("startFromHead") else max(0, len(events) - limit)
        page = events[position : position + limit]
        end = position + len(page)
        return {
            "events": [{"timestamp": t, "message": m, "ingestionTime": t} for t, m in page],
            "nextForwardToken": f"f/{end}",
            "nextBackwardToken": f"b/{max(0, position - limit)}",
        }

    def filter_log_events(ctx: RequestContext, p: dict) -> dict:
        group_of(p)
        wanted = p.get("logStreamNames")
        prefix = p.get("logStreamNamePrefix") or ""
        streams = [s for s in logs.streams() if s.startswith(prefix) and (not wanted or s in wanted)]
        events = []
        for stream in streams:
            previous, same_ms = None, 0
            for t, m in logs.events(stream):
                # An id that pruning older events cannot change: the time and the place among that millisecond's events.
                same_ms = same_ms + 1 if t == previous else 0
                previous = t
                if p.get("startTime", 0) <= t and ("endTime" not in p or t <= p["endTime"]) and matches(m, p.get("filterPattern")):
                    events.append({"logStreamName": stream, "timestamp": t, "message": m, "ingestionTime": t,
                                   "eventId": f"{stream}/{t}/{same_ms:06d}"})
        events.sort(key=_EVENT_PAGES.key)
        page = _EVENT_PAGES.page_of(events, p.get("limit", 10000), p.get("nextToken"))
        return {
            "events": page.items,
            "searchedLogStreams": [{"logStreamName": s, "searchedCompletely": True} for s in streams],
            "nextToken": page.next_token,
        }

    return {
        "DescribeLogGroups": describe_log_groups,
        "DescribeLogStreams": describe_log_streams,
        "GetLogEvents": get_log_events,
        "FilterLogEvents": filter_log_events,
    }


def logs_service(logs: AppLogs, retention_days: int = 0) -> JsonService:
    """The CloudWatch Logs service; ``retention_days`` is the log group's retention (0: kept forever)."""
    # Its reads read whole log files: never on the event loop.
    return JsonService(target_prefix="Logs_20140328", model_name="logs", handlers=handlers(logs, retention_days),
                       reads_store_only=False)
