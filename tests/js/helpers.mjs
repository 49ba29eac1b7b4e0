// Shared setup for byoi's JS SDK tests: clients pointed at the server tests/api/test_js_sdk.py started.
import { randomUUID } from "node:crypto";

export const endpoint = process.env.BYOI_ENDPOINT;
if (!endpoint) throw new Error("BYOI_ENDPOINT is not set: run these tests through tests/api/test_js_sdk.py");

export const ROLE_ARN = "arn:aws:iam::123456789012:role/byoi-test";

export function clientConfig() {
  return {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  };
}

/** A resource name unique to one test. */
export function uniqueName(prefix = "js") {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** Polls `read` until `done(value)` holds (30 s at most); returns the last value. */
export async function waitFor(read, done, what) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The error `promise` rejects with (fails if it resolves). */
export async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}
