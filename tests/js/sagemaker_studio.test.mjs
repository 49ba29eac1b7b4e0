// Domains, user profiles, spaces and presigned URLs through @aws-sdk/client-sagemaker.
import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import {
  SageMakerClient, CreateDomainCommand, DescribeDomainCommand, UpdateDomainCommand, DeleteDomainCommand,
  CreateUserProfileCommand, DescribeUserProfileCommand, DeleteUserProfileCommand, paginateListUserProfiles,
  CreateSpaceCommand, DescribeSpaceCommand, UpdateSpaceCommand, DeleteSpaceCommand, ListSpacesCommand,
  CreatePresignedDomainUrlCommand, ListTagsCommand,
} from "@aws-sdk/client-sagemaker";
import { ROLE_ARN, clientConfig, endpoint, rejection, uniqueName } from "./helpers.mjs";

const sm = new SageMakerClient(clientConfig());

async function makeDomain(extra = {}) {
  const created = await sm.send(new CreateDomainCommand({
    DomainName: uniqueName(), AuthMode: "IAM", DefaultUserSettings: { ExecutionRole: ROLE_ARN }, SubnetIds: ["subnet-1"], VpcId: "vpc-1", ...extra,
  }));
  return created.DomainId;
}

/** GET `url` from byoi's own address, naming the URL's host (a *.localhost origin) in Host. */
function getVia(url) {
  const target = new URL(url);
  const server = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: server.hostname, port: server.port, path: target.pathname + target.search, headers: { Host: target.host } }, (res) => {
      res.resume();
      resolve(res);
    });
    req.on("error", reject);
    req.end();
  });
}

test("a domain is created, described, updated and deleted", async () => {
  const domainId = await makeDomain({ Tags: [{ Key: "team", Value: "js" }] });
  assert.match(domainId, /^d-[a-z0-9]{12}$/);
  const described = await sm.send(new DescribeDomainCommand({ DomainId: domainId }));
  assert.equal(described.Status, "InService");
  assert.equal(described.DefaultUserSettings.ExecutionRole, ROLE_ARN);
  assert.ok(described.CreationTime instanceof Date);
  const tags = await sm.send(new ListTagsCommand({ ResourceArn: described.DomainArn }));
  assert.deepEqual(tags.Tags, [{ Key: "team", Value: "js" }]);
  await sm.send(new UpdateDomainCommand({ DomainId: domainId, AppNetworkAccessType: "VpcOnly" }));
  assert.equal((await sm.send(new DescribeDomainCommand({ DomainId: domainId }))).AppNetworkAccessType, "VpcOnly");
  await sm.send(new DeleteDomainCommand({ DomainId: domainId }));
  const error = await rejection(sm.send(new DescribeDomainCommand({ DomainId: domainId })));
  assert.equal(error.name, "ResourceNotFound");
});

test("user profiles are listed in pages and spaces carry their settings", async () => {
  const domainId = await makeDomain();
  for (const name of ["ann", "ben", "cat"]) await sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: name }));
  const names = [];
  for await (const page of paginateListUserProfiles({ client: sm, pageSize: 2 }, { DomainIdEquals: domainId })) {
    names.push(...page.UserProfiles.map((p) => p.UserProfileName));
  }
  assert.deepEqual(names, ["ann", "ben", "cat"]);  // ascending by creation time, as the model documents
  const profile = await sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: "ann" }));
  assert.equal(profile.HomeEfsFileSystemUid, "200001");
  const duplicate = await rejection(sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: "ANN" })));
  assert.equal(duplicate.name, "ResourceInUse");

  await sm.send(new CreateSpaceCommand({
    DomainId: domainId, SpaceName: "lab", SpaceDisplayName: "Lab", OwnershipSettings: { OwnerUserProfileName: "ann" },
    SpaceSharingSettings: { SharingType: "Private" }, SpaceSettings: { AppType: "JupyterLab" },
  }));
  await sm.send(new UpdateSpaceCommand({ DomainId: domainId, SpaceName: "lab", SpaceDisplayName: "Lab 2" }));
  const space = await sm.send(new DescribeSpaceCommand({ DomainId: domainId, SpaceName: "lab" }));
  assert.equal(space.SpaceDisplayName, "Lab 2");
  assert.match(space.Url, /^http:\/\//);
  const listed = await sm.send(new ListSpacesCommand({ DomainIdEquals: domainId }));
  assert.deepEqual(listed.Spaces.map((s) => [s.SpaceName, s.OwnershipSettingsSummary.OwnerUserProfileName]), [["lab", "ann"]]);

  const busy = await rejection(sm.send(new DeleteDomainCommand({ DomainId: domainId })));
  assert.equal(busy.name, "ResourceInUse");
  await sm.send(new DeleteSpaceCommand({ DomainId: domainId, SpaceName: "lab" }));
  for (const name of ["ann", "ben", "cat"]) await sm.send(new DeleteUserProfileCommand({ DomainId: domainId, UserProfileName: name }));
  await sm.send(new DeleteDomainCommand({ DomainId: domainId }));
});

test("a presigned URL opens one Studio session, once", async () => {
  const domainId = await makeDomain();
  await sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: "ann" }));
  const { AuthorizedUrl } = await sm.send(new CreatePresignedDomainUrlCommand({ DomainId: domainId, UserProfileName: "ann", ExpiresInSeconds: 60 }));
  assert.match(AuthorizedUrl, new RegExp(`^http://${domainId}\\.studio\\.localhost:\\d+/auth\\?token=`));
  const first = await getVia(AuthorizedUrl);
  assert.equal(first.statusCode, 302);
  assert.ok(first.headers["set-cookie"].some((c) => c.startsWith("byoi_session=")));
  assert.equal((await getVia(AuthorizedUrl)).statusCode, 403);  // used once already
  const missing = await rejection(sm.send(new CreatePresignedDomainUrlCommand({ DomainId: domainId, UserProfileName: "nobody" })));
  assert.equal(missing.name, "ResourceNotFound");
  await sm.send(new DeleteUserProfileCommand({ DomainId: domainId, UserProfileName: "ann" }));
  await sm.send(new DeleteDomainCommand({ DomainId: domainId }));
});
