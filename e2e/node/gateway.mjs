// The test gateway every script talks to: its base URL (LLAMAGATE_BASE_URL,
// set by e2e/node_test.go), and a fetch guard installed on import so that
// only the gateway may be reached: a library that fetches something else (a
// tokenizer file, telemetry) fails the test instead of leaving the machine.
import assert from "node:assert/strict";

export const base = process.env.LLAMAGATE_BASE_URL;
assert.ok(base, "LLAMAGATE_BASE_URL is not set");

const loopbackFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  if (!url.startsWith(base)) return Promise.reject(new Error(`unexpected fetch of ${url}`));
  return loopbackFetch(input, init);
};
