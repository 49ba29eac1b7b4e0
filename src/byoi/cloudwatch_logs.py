"""The CloudWatch Logs read API over app logs (log group /aws/sagemaker/studio).

DescribeLogGroups, DescribeLogStreams, GetLogEvents and FilterLogEvents answer
from ``byoi.runtime.app_logs.AppLogs``, so ``aws logs get-log-events
--endpoint-url ...`` shows what an app printed, and why it failed. Streams are
written when an app stops or fails. ``filterPattern`` matches events holding
every term it lists (quoted phrases allowed), as CloudWatch's plain terms do.
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
    if not pattern:
        return True
    try:
        terms = shlex.split(pattern)
    except ValueError:
        terms = pattern.split()
    return all(term in message for term in terms)


def handlers(logs: AppLogs) -> dict[str, Handler]:
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
        return {"logGroups": [{"logGroupName": LOG_GROUP, "creationTime": first, "arn": arn(ctx), "storedBytes": sum(logs.path(s).stat().st_size for s in streams)}]}

    def describe_log_streams(ctx: RequestContext, p: dict) -> dict:
        group_of(p)
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
            for index, (t, m) in enumerate(logs.events(stream)):
                if p.get("startTime", 0) <= t and ("endTime" not in p or t <= p["endTime"]) and matches(m, p.get("filterPattern")):
                    events.append({"logStreamName": stream, "timestamp": t, "message": m, "ingestionTime": t, "eventId": f"{stream}/{index}"})
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


def logs_service(logs: AppLogs) -> JsonService:
    # Its reads read whole log files: never on the event loop.
    return JsonService(target_prefix="Logs_20140328", model_name="logs", handlers=handlers(logs), reads_store_only=False)
