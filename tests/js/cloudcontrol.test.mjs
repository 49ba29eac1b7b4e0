// A whole Studio stack through @aws-sdk/client-cloudcontrol: create, get, list, update and delete.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CloudControlClient, CreateResourceCommand, DeleteResourceCommand, GetResourceCommand, GetResourceRequestStatusCommand,
  ListResourcesCommand, UpdateResourceCommand, paginateListResources, waitUntilResourceRequestSuccess,
} from "@aws-sdk/client-cloudcontrol";
import { SageMakerClient, DescribeDomainCommand, DescribeSpaceCommand } from "@aws-sdk/client-sagemaker";
import { ROLE_ARN, clientConfig, rejection, uniqueName } from "./helpers.mjs";

const cc = new CloudControlClient(clientConfig());
const sm = new SageMakerClient(clientConfig());
const ARN = "arn:aws:sagemaker:us-east-1:123456789012";

/** Waits for a request to succeed; its final ProgressEvent. */
async function succeeded({ ProgressEvent }) {
  await waitUntilResourceRequestSuccess({ client: cc, minDelay: 1, maxDelay: 1, maxWaitTime: 60 }, { RequestToken: ProgressEvent.RequestToken });
  return (await cc.send(new GetResourceRequestStatusCommand({ RequestToken: ProgressEvent.RequestToken }))).ProgressEvent;
}

const create = async (TypeName, model) => succeeded(await cc.send(new CreateResourceCommand({ TypeName, DesiredState: JSON.stringify(model) })));
const remove = async (TypeName, Identifier) => succeeded(await cc.send(new DeleteResourceCommand({ TypeName, Identifier })));
const get = async (TypeName, Identifier) => JSON.parse((await cc.send(new GetResourceCommand({ TypeName, Identifier }))).ResourceDescription.Properties);

async function identifiers(TypeName, model) {
  const found = [];
  for await (const page of paginateListResources({ client: cc, pageSize: 1 }, { TypeName, ResourceModel: JSON.stringify(model) })) {
    found.push(...page.ResourceDescriptions.map((d) => d.Identifier));
  }
  return found;
}

test("a Studio stack is created, read, listed, updated and deleted", async () => {
  const name = uniqueName();
  await create("AWS::SageMaker::Image", { ImageName: name, ImageRoleArn: ROLE_ARN });
  await create("AWS::SageMaker::ImageVersion", { ImageName: name, BaseImage: "repo/img:1" });
  await create("AWS::SageMaker::AppImageConfig", { AppImageConfigName: name, KernelGatewayImageConfig: { KernelSpecs: [{ Name: "python3" }] } });
  const script = Buffer.from("#!/bin/bash\necho js\n").toString("base64");
  await create("AWS::SageMaker::StudioLifecycleConfig", {
    StudioLifecycleConfigName: name, StudioLifecycleConfigContent: script, StudioLifecycleConfigAppType: "JupyterLab",
  });
  const custom = { ImageName: name, AppImageConfigName: name };
  const domain = await create("AWS::SageMaker::Domain", {
    DomainName: name, AuthMode: "IAM", SubnetIds: ["subnet-1"], VpcId: "vpc-1",
    DefaultUserSettings: { ExecutionRole: ROLE_ARN, KernelGatewayAppSettings: { CustomImages: [custom] } },
    DefaultSpaceSettings: { ExecutionRole: ROLE_ARN, JupyterLabAppSettings: { LifecycleConfigArns: [`${ARN}:studio-lifecycle-config/${name}`] } },
  });
  const domainId = domain.Identifier;
  assert.match(domainId, /^d-[a-z0-9]{12}$/);
  const model = await get("AWS::SageMaker::Domain", domainId);
  assert.equal(model.DomainArn, `${ARN}:domain/${domainId}`);
  assert.equal(model.Url, (await sm.send(new DescribeDomainCommand({ DomainId: domainId }))).Url);

  const profile = await create("AWS::SageMaker::UserProfile", { DomainId: domainId, UserProfileName: "alice" });
  assert.equal(profile.Identifier, `alice|${domainId}`);
  await create("AWS::SageMaker::UserProfile", { DomainId: domainId, UserProfileName: "bob" });
  const space = await create("AWS::SageMaker::Space", {
    DomainId: domainId, SpaceName: "lab", SpaceDisplayName: "Lab", OwnershipSettings: { OwnerUserProfileName: "alice" },
    SpaceSharingSettings: { SharingType: "Private" }, SpaceSettings: { AppType: "JupyterLab" },
  });
  assert.equal(space.Identifier, `${domainId}|lab`);
  assert.deepEqual(await identifiers("AWS::SageMaker::UserProfile", { DomainId: domainId }), [`alice|${domainId}`, `bob|${domainId}`]);
  assert.deepEqual(await identifiers("AWS::SageMaker::Space", { DomainId: domainId }), [`${domainId}|lab`]);
  assert.ok((await identifiers("AWS::SageMaker::Domain", {})).includes(domainId));

  await succeeded(await cc.send(new UpdateResourceCommand({
    TypeName: "AWS::SageMaker::Space", Identifier: `${domainId}|lab`,
    PatchDocument: JSON.stringify([{ op: "replace", path: "/SpaceDisplayName", value: "Lab 2" }]),
  })));
  assert.equal((await sm.send(new DescribeSpaceCommand({ DomainId: domainId, SpaceName: "lab" }))).SpaceDisplayName, "Lab 2");

  await remove("AWS::SageMaker::Space", `${domainId}|lab`);
  await remove("AWS::SageMaker::UserProfile", `alice|${domainId}`);
  await remove("AWS::SageMaker::UserProfile", `bob|${domainId}`);
  await remove("AWS::SageMaker::Domain", domainId);
  await remove("AWS::SageMaker::StudioLifecycleConfig", name);
  const error = await rejection(cc.send(new GetResourceCommand({ TypeName: "AWS::SageMaker::Domain", Identifier: domainId })));
  assert.equal(error.name, "ResourceNotFoundException");
});

test("listing a domain's user profiles needs its DomainId", async () => {
  const error = await rejection(cc.send(new ListResourcesCommand({ TypeName: "AWS::SageMaker::UserProfile" })));
  assert.equal(error.name, "InvalidRequestException");
  assert.match(error.message, /Required property: \[DomainId\]/);
});

test("create-only properties are not updatable", async () => {
  const name = uniqueName();
  const domain = await create("AWS::SageMaker::Domain", { DomainName: name, AuthMode: "IAM", DefaultUserSettings: { ExecutionRole: ROLE_ARN } });
  const error = await rejection(cc.send(new UpdateResourceCommand({
    TypeName: "AWS::SageMaker::Domain", Identifier: domain.Identifier,
    PatchDocument: JSON.stringify([{ op: "replace", path: "/DomainName", value: "other" }]),
  })));
  assert.equal(error.name, "NotUpdatableException");
  await remove("AWS::SageMaker::Domain", domain.Identifier);
});

test("an app is created, read, listed and deleted (the test server has no container runtime: it ends Failed)", async () => {
  const name = uniqueName();
  await create("AWS::SageMaker::Image", { ImageName: name, ImageRoleArn: ROLE_ARN });
  await create("AWS::SageMaker::ImageVersion", { ImageName: name, BaseImage: "repo/img:1" });
  await create("AWS::SageMaker::AppImageConfig", { AppImageConfigName: name, KernelGatewayImageConfig: { KernelSpecs: [{ Name: "python3" }] } });
  const domain = await create("AWS::SageMaker::Domain", {
    DomainName: name, AuthMode: "IAM",
    DefaultUserSettings: { ExecutionRole: ROLE_ARN, KernelGatewayAppSettings: { CustomImages: [{ ImageName: name, AppImageConfigName: name }] } },
  });
  const domainId = domain.Identifier;
  await create("AWS::SageMaker::UserProfile", { DomainId: domainId, UserProfileName: "alice" });
  const { ProgressEvent } = await cc.send(new CreateResourceCommand({
    TypeName: "AWS::SageMaker::App",
    DesiredState: JSON.stringify({
      DomainId: domainId, UserProfileName: "alice", AppType: "KernelGateway", AppName: "default",
      ResourceSpec: { SageMakerImageArn: `${ARN}:image/${name}`, InstanceType: "ml.t3.medium" },
    }),
  }));
  const identifier = `default|KernelGateway|${domainId}|alice`;
  assert.equal(ProgressEvent.Identifier, identifier);
  await rejection(waitUntilResourceRequestSuccess(  // the waiter stops at FAILED
    { client: cc, minDelay: 1, maxDelay: 1, maxWaitTime: 60 }, { RequestToken: ProgressEvent.RequestToken },
  ));
  const final = (await cc.send(new GetResourceRequestStatusCommand({ RequestToken: ProgressEvent.RequestToken }))).ProgressEvent;
  assert.equal(final.ErrorCode, "NotStabilized");
  assert.match(final.StatusMessage, /no container runtime/);
  const app = await get("AWS::SageMaker::App", identifier);
  assert.equal(app.AppArn, `${ARN}:app/${domainId}/alice/kernelgateway/default`);
  assert.deepEqual(await identifiers("AWS::SageMaker::App", { DomainId: domainId }), [identifier]);
  await remove("AWS::SageMaker::App", identifier);
  assert.deepEqual(await identifiers("AWS::SageMaker::App", { DomainId: domainId }), []);
  await remove("AWS::SageMaker::UserProfile", `alice|${domainId}`);
  await remove("AWS::SageMaker::Domain", domainId);
});
