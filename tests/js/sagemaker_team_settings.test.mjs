// What teams set around images, through @aws-sdk/client-sagemaker: merged updates, landing,
// web portal settings, space storage, custom POSIX users and Docker settings.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import {
  SageMakerClient, CreateDomainCommand, DescribeDomainCommand, UpdateDomainCommand, DeleteDomainCommand,
  CreateUserProfileCommand, DescribeUserProfileCommand, UpdateUserProfileCommand, DeleteUserProfileCommand,
  CreateSpaceCommand, DescribeSpaceCommand, UpdateSpaceCommand, DeleteSpaceCommand, CreatePresignedDomainUrlCommand,
} from "@aws-sdk/client-sagemaker";
import { ROLE_ARN, clientConfig, rejection, uniqueName } from "./helpers.mjs";

const sm = new SageMakerClient(clientConfig());

/** Where `url` redirects to; *.localhost resolves to loopback, as browsers resolve it. */
function redirectOf(url) {
  const lookup = (_host, options, callback) => (options?.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4));
  return new Promise((resolve, reject) => {
    http.get(url, { lookup }, (response) => {
      response.resume();
      resolve(response.headers.location);
    }).on("error", reject);
  });
}

async function domain(extra = {}) {
  const { DomainId } = await sm.send(new CreateDomainCommand({
    DomainName: uniqueName("team"), AuthMode: "IAM", SubnetIds: ["subnet-1"], VpcId: "vpc-1",
    DefaultUserSettings: { ExecutionRole: ROLE_ARN }, ...extra,
  }));
  return DomainId;
}

test("settings merge member by member and the team's settings are kept", async () => {
  const DomainId = await domain({ DomainSettings: { SecurityGroupIds: ["sg-1"] } });
  await sm.send(new CreateUserProfileCommand({
    DomainId, UserProfileName: "alice",
    UserSettings: {
      CustomPosixUserConfig: { Uid: 10001, Gid: 1001 },
      StudioWebPortalSettings: { HiddenAppTypes: ["CodeEditor"], HiddenInstanceTypes: ["ml.g4dn.xlarge"] },
      DefaultLandingUri: "app:JupyterServer:",
    },
  }));
  await sm.send(new UpdateUserProfileCommand({ DomainId, UserProfileName: "alice", UserSettings: { StudioWebPortalSettings: { HiddenAppTypes: [] } } }));
  const { UserSettings } = await sm.send(new DescribeUserProfileCommand({ DomainId, UserProfileName: "alice" }));
  assert.deepEqual(UserSettings.CustomPosixUserConfig, { Uid: 10001, Gid: 1001 });
  assert.deepEqual(UserSettings.StudioWebPortalSettings, { HiddenAppTypes: [], HiddenInstanceTypes: ["ml.g4dn.xlarge"] });
  const { AuthorizedUrl } = await sm.send(new CreatePresignedDomainUrlCommand({ DomainId, UserProfileName: "alice" }));
  assert.equal(await redirectOf(AuthorizedUrl), `/apps/${DomainId}/alice/JupyterServer/default/`);

  await sm.send(new UpdateDomainCommand({ DomainId, DomainSettingsForUpdate: { DockerSettings: { EnableDockerAccess: "ENABLED" } } }));
  const described = await sm.send(new DescribeDomainCommand({ DomainId }));
  assert.deepEqual(described.DomainSettings, { SecurityGroupIds: ["sg-1"], DockerSettings: { EnableDockerAccess: "ENABLED" } });
  await sm.send(new DeleteUserProfileCommand({ DomainId, UserProfileName: "alice" }));
  await sm.send(new DeleteDomainCommand({ DomainId }));
});

test("studio as the landing needs the web portal, and a space's EBS volume stays within its maximum and only grows", async () => {
  const DomainId = await domain({
    DefaultSpaceSettings: { ExecutionRole: ROLE_ARN, SpaceStorageSettings: { DefaultEbsStorageSettings: { DefaultEbsVolumeSizeInGb: 5, MaximumEbsVolumeSizeInGb: 40 } } },
  });
  const landing = await rejection(sm.send(new CreateUserProfileCommand({
    DomainId, UserProfileName: "bob", UserSettings: { DefaultLandingUri: "studio::", StudioWebPortal: "DISABLED" },
  })));
  assert.equal(landing.name, "ValidationException");
  assert.match(landing.message, /StudioWebPortal/);
  const size = (EbsVolumeSizeInGb) => ({ SpaceStorageSettings: { EbsStorageSettings: { EbsVolumeSizeInGb } } });
  const tooLarge = await rejection(sm.send(new CreateSpaceCommand({ DomainId, SpaceName: "big", SpaceSettings: size(41) })));
  assert.equal(tooLarge.name, "ValidationException");
  await sm.send(new CreateSpaceCommand({ DomainId, SpaceName: "s", SpaceSettings: size(20) }));
  const smaller = await rejection(sm.send(new UpdateSpaceCommand({ DomainId, SpaceName: "s", SpaceSettings: size(10) })));
  assert.equal(smaller.name, "ValidationException");
  await sm.send(new UpdateSpaceCommand({ DomainId, SpaceName: "s", SpaceSettings: size(30) }));
  const { SpaceSettings } = await sm.send(new DescribeSpaceCommand({ DomainId, SpaceName: "s" }));
  assert.equal(SpaceSettings.SpaceStorageSettings.EbsStorageSettings.EbsVolumeSizeInGb, 30);
  await sm.send(new DeleteSpaceCommand({ DomainId, SpaceName: "s" }));
  await sm.send(new DeleteDomainCommand({ DomainId }));
});
