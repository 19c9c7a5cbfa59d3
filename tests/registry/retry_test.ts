import assert from "node:assert/strict";
import { backoffDelay, isRetryableStatus, retryPolicy } from "../../src/registry/mod.ts";

Deno.test("backoffDelay() doubles with jitter in the upper half, capped", () => {
  const p = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
  assert.equal(backoffDelay(1, p, null, () => 0), 50);
  assert.equal(backoffDelay(1, p, null, () => 0.999999) < 100, true);
  assert.equal(backoffDelay(3, p, null, () => 0), 200);
  assert.equal(backoffDelay(10, p, null, () => 0), 500);
  assert.ok(backoffDelay(10, p, null, () => 0.9999) <= 1000);
});

Deno.test("backoffDelay() honours Retry-After up to the cap", () => {
  const p = retryPolicy({ baseDelayMs: 100, maxDelayMs: 5000 });
  assert.equal(backoffDelay(1, p, "2", () => 0), 2000);
  assert.equal(backoffDelay(1, p, "60", () => 0), 5000);
  assert.equal(backoffDelay(1, p, "Wed, 21 Oct 2015 07:28:00 GMT", () => 0), 50);
});

Deno.test("isRetryableStatus() retries server faults and throttling only", () => {
  for (const s of [408, 429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s), String(s));
  for (const s of [200, 206, 400, 401, 403, 404, 416, 501, 505]) {
    assert.ok(!isRetryableStatus(s), String(s));
  }
});

Deno.test("retryPolicy() applies defaults", () => {
  assert.deepEqual(retryPolicy(), {
    attempts: 4,
    baseDelayMs: 200,
    maxDelayMs: 5000,
    idleTimeoutMs: 30000,
  });
  assert.equal(retryPolicy({ attempts: 0 }).attempts, 1);
});
