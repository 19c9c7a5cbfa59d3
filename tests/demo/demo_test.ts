import assert from "node:assert/strict";
import { OS_RELEASE_LINE, runDemo } from "../../src/demo/mod.ts";
import { findProgram } from "../../src/process/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";
import { leftoversOf } from "./_leftovers.ts";

const root = Deno.uid() === 0;
const containers = root && ["containerd", "runc", "ctr"].every((p) => findProgram(p));
/** A step line: `[  12.34s +1.20s] text`. */
const STEP = /^\[ *\d+\.\d\ds \+\d+\.\d\ds\] \S/;

Deno.test("runDemo() converts, mounts lazily and runs the sample image, then removes it all", async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const result = await runDemo({ workdir: dir, log: (l) => lines.push(l) });
    assert.match(lines.at(-1) ?? "", /^demo passed/);
    for (const line of lines.slice(0, -1)) assert.match(line, STEP);
    assert.ok(lines.some((l) => /converted it with obdconv/.test(l)), lines.join("\n"));
    assert.ok(result.imageBytes > 32 << 20, `image of ${result.imageBytes} bytes`);
    if (root) {
      // busybox, os-release, motd and hello.txt read back with their sha256.
      assert.ok(result.mount, "the lazy mount did not run");
      assert.equal(result.mount.filesChecked, 4);
      assert.ok(result.mount.fetched > 0);
      assert.ok(result.mount.fetched < result.imageBytes / 8, `${result.mount.fetched} fetched`);
    } else {
      assert.equal(result.mount, undefined);
    }
    if (containers) {
      const run = result.container;
      assert.ok(run, "the container part did not run");
      assert.ok(run.output.split("\n").includes(OS_RELEASE_LINE), run.output);
      assert.ok(run.fetched > 0 && run.fetched < result.imageBytes / 8, `${run.fetched} fetched`);
    } else {
      assert.equal(result.container, undefined);
      assert.ok(result.skipped.some((s) => s.startsWith("container run: ")));
    }
    assert.deepEqual(await leftoversOf(dir), []);
  });
});

Deno.test("overlaybd demo tears everything down when interrupted in its last step", async () => {
  await withTempDir(async (dir) => {
    const main = new URL("../../main.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--quiet", main, "demo", "--workdir", dir],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    // With containers: during `ctr run`, the container up; else after the registry started.
    const last = containers ? /rpull / : /started docker-registry/;
    const lines: string[] = [];
    let interrupted = false;
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      lines.push(...chunk.split("\n").filter((l) => l));
      if (!interrupted && lines.some((l) => last.test(l))) {
        child.kill("SIGINT");
        interrupted = true;
      }
    }
    const status = await child.status;
    const output = `${lines.join("\n")}\n${await stderr}`;
    assert.ok(interrupted, output);
    assert.equal(status.code, 1, output);
    assert.match(await stderr, /interrupted by SIGINT/);
    assert.match(lines.at(-1) ?? "", /stopped and removed everything it started/);
    assert.deepEqual(await leftoversOf(dir), []);
  });
});

Deno.test("overlaybd demo --help lists the steps", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", main, "demo", "--help"],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  for (const word of ["obdconv", "rpull", "ctr run", "busybox-static", "Ctrl-C"]) {
    assert.ok(text.includes(word), `--help does not mention ${word}`);
  }
});

Deno.test("runDemo() refuses a work directory that is not empty", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/left-over`, "");
    await assert.rejects(runDemo({ workdir: dir, log: () => {} }), InvalidArgumentError, dir);
  });
});
