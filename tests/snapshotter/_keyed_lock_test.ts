import assert from "node:assert/strict";
import { KeyedLock } from "../../src/snapshotter/_keyed_lock.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("KeyedLock.run() runs calls on one key one at a time, in order, past failures", async () => {
  const lock = new KeyedLock<number>();
  const events: string[] = [];
  const job = (name: string, ms: number, fail = false) => async () => {
    events.push(`${name}+`);
    await tick(ms);
    events.push(`${name}-`);
    if (fail) throw new Error(name);
    return name;
  };
  const results = await Promise.allSettled([
    lock.run(1, job("a", 20, true)),
    lock.run(1, job("b", 1)),
    lock.run(2, job("c", 5)),
  ]);
  assert.equal(results[0].status, "rejected");
  assert.deepEqual(results[1], { status: "fulfilled", value: "b" });
  assert.deepEqual(events, ["a+", "c+", "c-", "a-", "b+", "b-"]);
});
