// Studio lifecycle configurations through @aws-sdk/client-sagemaker.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SageMakerClient, CreateStudioLifecycleConfigCommand, DescribeStudioLifecycleConfigCommand,
  DeleteStudioLifecycleConfigCommand, paginateListStudioLifecycleConfigs,
} from "@aws-sdk/client-sagemaker";
import { clientConfig, rejection, uniqueName } from "./helpers.mjs";

const sm = new SageMakerClient(clientConfig());
const script = Buffer.from("#!/bin/bash\necho from-js\n").toString("base64");

test("a lifecycle config is created, described, listed by app type and deleted", async () => {
  const prefix = uniqueName();
  const types = ["JupyterLab", "CodeEditor", "JupyterLab"];
  for (const [i, StudioLifecycleConfigAppType] of types.entries()) {
    await sm.send(new CreateStudioLifecycleConfigCommand({
      StudioLifecycleConfigName: `${prefix}-${i}`, StudioLifecycleConfigContent: script, StudioLifecycleConfigAppType,
    }));
  }
  const described = await sm.send(new DescribeStudioLifecycleConfigCommand({ StudioLifecycleConfigName: `${prefix}-1` }));
  assert.equal(described.StudioLifecycleConfigContent, script);
  assert.equal(described.StudioLifecycleConfigAppType, "CodeEditor");
  const listed = [];
  const pages = paginateListStudioLifecycleConfigs(
    { client: sm, pageSize: 1 }, { NameContains: prefix, AppTypeEquals: "JupyterLab", SortBy: "Name", SortOrder: "Ascending" },
  );
  for await (const page of pages) listed.push(...page.StudioLifecycleConfigs.map((c) => c.StudioLifecycleConfigName));
  assert.deepEqual(listed, [`${prefix}-0`, `${prefix}-2`]);
  await sm.send(new DeleteStudioLifecycleConfigCommand({ StudioLifecycleConfigName: `${prefix}-0` }));
  const error = await rejection(sm.send(new DescribeStudioLifecycleConfigCommand({ StudioLifecycleConfigName: `${prefix}-0` })));
  assert.equal(error.name, "ResourceNotFound");
});

test("content that is not base64 is a ValidationException", async () => {
  const error = await rejection(sm.send(new CreateStudioLifecycleConfigCommand({
    StudioLifecycleConfigName: uniqueName(), StudioLifecycleConfigContent: "echo not base64", StudioLifecycleConfigAppType: "JupyterLab",
  })));
  assert.equal(error.name, "ValidationException");
  assert.match(error.message, /base64/);
});
