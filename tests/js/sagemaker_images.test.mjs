// Images, image versions, app image configs and tags through @aws-sdk/client-sagemaker.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SageMakerClient, CreateImageCommand, DescribeImageCommand, DeleteImageCommand, ListImagesCommand,
  CreateAppImageConfigCommand, DescribeAppImageConfigCommand, UpdateAppImageConfigCommand,
  AddTagsCommand, ListTagsCommand, DeleteTagsCommand, paginateListImages,
} from "@aws-sdk/client-sagemaker";
import { clientConfig, rejection, uniqueName, waitFor, ROLE_ARN } from "./helpers.mjs";

const sm = new SageMakerClient(clientConfig());

test("an image is created, settles, is listed and deleted", async () => {
  const name = uniqueName();
  const { ImageArn } = await sm.send(new CreateImageCommand({ ImageName: name, RoleArn: ROLE_ARN, DisplayName: "JS" }));
  assert.equal(ImageArn, `arn:aws:sagemaker:us-east-1:123456789012:image/${name}`);
  const image = await waitFor(
    () => sm.send(new DescribeImageCommand({ ImageName: name })), (d) => d.ImageStatus === "CREATED", "the image to settle",
  );
  assert.equal(image.DisplayName, "JS");
  assert.ok(image.CreationTime instanceof Date, "timestamps arrive as Dates");
  const listed = await sm.send(new ListImagesCommand({ NameContains: name }));
  assert.deepEqual(listed.Images.map((i) => i.ImageName), [name]);
  await sm.send(new DeleteImageCommand({ ImageName: name }));
  const error = await waitFor(
    () => sm.send(new DescribeImageCommand({ ImageName: name })).then(() => null, (e) => e), (e) => e !== null, "the delete",
  );
  assert.equal(error.name, "ResourceNotFound");
});

test("the SDK's paginator walks every page of ListImages", async () => {
  const prefix = uniqueName();
  const names = [0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`);
  for (const ImageName of names) await sm.send(new CreateImageCommand({ ImageName, RoleArn: ROLE_ARN }));
  const seen = [];
  for await (const page of paginateListImages({ client: sm, pageSize: 2 }, { NameContains: prefix, SortBy: "IMAGE_NAME", SortOrder: "ASCENDING" })) {
    seen.push(...page.Images.map((i) => i.ImageName));
  }
  assert.deepEqual(seen, names);
});

test("an app image config round-trips its mode, and errors are typed exceptions", async () => {
  const name = uniqueName();
  const kernelGateway = { KernelSpecs: [{ Name: "python3", DisplayName: "Python 3" }], FileSystemConfig: {} };
  await sm.send(new CreateAppImageConfigCommand({ AppImageConfigName: name, KernelGatewayImageConfig: kernelGateway }));
  const described = await sm.send(new DescribeAppImageConfigCommand({ AppImageConfigName: name }));
  assert.deepEqual(described.KernelGatewayImageConfig.FileSystemConfig, { MountPath: "/home/sagemaker-user", DefaultUid: 1000, DefaultGid: 100 });
  await sm.send(new UpdateAppImageConfigCommand({ AppImageConfigName: name, CodeEditorAppImageConfig: {} }));
  const updated = await sm.send(new DescribeAppImageConfigCommand({ AppImageConfigName: name }));
  assert.equal(updated.KernelGatewayImageConfig, undefined);
  assert.deepEqual(updated.CodeEditorAppImageConfig, {});
  const error = await rejection(sm.send(new CreateAppImageConfigCommand({ AppImageConfigName: name, CodeEditorAppImageConfig: {} })));
  assert.equal(error.name, "ResourceInUse");
  assert.equal(error.$metadata.httpStatusCode, 400);
});

test("tags are added, listed in the order added and deleted", async () => {
  const name = uniqueName();
  const { ImageArn } = await sm.send(new CreateImageCommand({ ImageName: name, RoleArn: ROLE_ARN }));
  await sm.send(new AddTagsCommand({ ResourceArn: ImageArn, Tags: [{ Key: "b", Value: "2" }, { Key: "a", Value: "1" }] }));
  assert.deepEqual((await sm.send(new ListTagsCommand({ ResourceArn: ImageArn }))).Tags, [{ Key: "b", Value: "2" }, { Key: "a", Value: "1" }]);
  await sm.send(new DeleteTagsCommand({ ResourceArn: ImageArn, TagKeys: ["b"] }));
  assert.deepEqual((await sm.send(new ListTagsCommand({ ResourceArn: ImageArn }))).Tags, [{ Key: "a", Value: "1" }]);
});
