import assert from "node:assert/strict";
import { killPid, processArgs } from "../../src/process/mod.ts";

Deno.test("processArgs() lists processes with their arguments; killPid() SIGKILLs one", async () => {
  const child = new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" })
    .spawn();
  const args = (await processArgs()).get(child.pid) ?? [];
  assert.match(args[0] ?? "", /(^|\/)sleep$/);
  assert.deepEqual(args.slice(1), ["600"]);
  killPid(child.pid);
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  killPid(child.pid);
  assert.equal((await processArgs()).has(child.pid), false);
});
