// App logs through @aws-sdk/client-cloudwatch-logs. The test writes a stream the way byoi's log
// shipper does (one file per app under BYOI_DATA_DIR/logs), so no container is needed.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  CloudWatchLogsClient, DescribeLogStreamsCommand, FilterLogEventsCommand, GetLogEventsCommand, paginateFilterLogEvents,
} from "@aws-sdk/client-cloudwatch-logs";
import { clientConfig, rejection } from "./helpers.mjs";

const logs = new CloudWatchLogsClient(clientConfig());
const dataDir = process.env.BYOI_DATA_DIR;
if (!dataDir) throw new Error("BYOI_DATA_DIR is not set: run these tests through tests/api/test_js_sdk.py");
const GROUP = "/aws/sagemaker/studio";
const LINES = [
  "2026-11-23T09:00:00.000000001Z [I KernelGatewayApp] Jupyter Kernel Gateway 3.0.1 is available",
  "2026-11-23T09:00:01.500000000Z Traceback (most recent call last):",
  '2026-11-23T09:00:01.600000000Z PermissionError: [Errno 13] Permission denied: "/home/sagemaker-user/x"',
];
const messages = (indexes) => indexes.map((i) => LINES[i].split(" ").slice(1).join(" "));

/** A stream of LINES for a domain id of this test's own: its name. */
function stream(user = "alice") {
  const domainId = `d-${Math.random().toString(36).slice(2, 14).padEnd(12, "0")}`;
  const name = `${domainId}/${user}/KernelGateway/default`;
  const file = join(dataDir, "logs", GROUP, `${name}.log`);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, LINES.join("\n") + "\n");
  return name;
}

test("GetLogEvents reads from the head or the tail, and its tokens move forward and back", async () => {
  const logStreamName = stream();
  const head = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName, startFromHead: true, limit: 2 }));
  assert.deepEqual(head.events.map((e) => e.message), messages([0, 1]));
  const next = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName, nextToken: head.nextForwardToken, limit: 2 }));
  assert.deepEqual(next.events.map((e) => e.message), messages([2]));
  const end = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName, nextToken: next.nextForwardToken }));
  assert.deepEqual(end.events, []);
  assert.equal(end.nextForwardToken, next.nextForwardToken);  // at the end, the same token again
  const tail = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName, limit: 1 }));
  assert.deepEqual(tail.events.map((e) => e.message), messages([2]));  // without startFromHead: the newest
  const back = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName, nextToken: tail.nextBackwardToken, limit: 1 }));
  assert.deepEqual(back.events.map((e) => e.message), messages([1]));
  assert.equal(head.events[1].timestamp, 1795424401500);
});

test("FilterLogEvents matches CloudWatch's unstructured patterns and pages", async () => {
  const logStreamName = stream();
  const filter = async (filterPattern) => (await logs.send(new FilterLogEventsCommand({
    logGroupName: GROUP, logStreamNames: [logStreamName], filterPattern,
  }))).events.map((e) => e.message);
  assert.deepEqual(await filter("Traceback"), messages([1]));
  assert.deepEqual(await filter("traceback"), []);  // terms are case-sensitive
  assert.deepEqual(await filter('"Permission denied"'), messages([2]));
  assert.deepEqual(await filter("?Traceback ?PermissionError"), messages([1, 2]));
  assert.deepEqual(await filter("Errno -Traceback"), messages([2]));
  const paged = [];
  for await (const page of paginateFilterLogEvents({ client: logs, pageSize: 1 }, { logGroupName: GROUP, logStreamNames: [logStreamName] })) {
    paged.push(...page.events.map((e) => e.message));
  }
  assert.deepEqual(paged, messages([0, 1, 2]));
});

test("DescribeLogStreams finds an app's stream by prefix, with its event times", async () => {
  const logStreamName = stream("bob");
  const prefix = logStreamName.split("/").slice(0, 2).join("/");
  const found = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, logStreamNamePrefix: prefix }));
  assert.deepEqual(found.logStreams.map((s) => s.logStreamName), [logStreamName]);
  assert.equal(found.logStreams[0].firstEventTimestamp, 1795424400000);
  assert.equal(found.logStreams[0].lastEventTimestamp, 1795424401600);
  const missing = await rejection(logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: `${prefix}/JupyterLab/none` })));
  assert.equal(missing.name, "ResourceNotFoundException");
  const refused = await rejection(logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: "LastEventTime", logStreamNamePrefix: prefix })));
  assert.equal(refused.name, "InvalidParameterException");
});
