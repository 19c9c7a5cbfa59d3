import assert from "node:assert/strict";
import { exportView, openView } from "../../src/layer/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { sha256, vector, withTempDir } from "../_helpers.ts";

const HELLO_BLOB =
  "upstream/hello-world-registry/blobs/sha256/022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";
const HELLO_SHA = "d3f7d10e296e5c626ea78539cb38cd8dffd043bea3627da35ce3b20c0ac68014";

async function exportTo(layers: string[], path: string): Promise<number> {
  const image = openView(layers);
  try {
    return await exportView(image, path);
  } finally {
    image.close();
  }
}

Deno.test("exportView() of the upstream hello-world layer is an ext4 image holding /hello", async () => {
  await withTempDir(async (dir) => {
    const written = await exportTo([vector(HELLO_BLOB)], `${dir}/hello.img`);
    assert.equal((await Deno.stat(`${dir}/hello.img`)).size, 68719476736);
    assert.ok(written < 80 << 20, `only data runs are written (${written} bytes)`);
    // Upstream's old mkfs left /lost+found (inode 11) flagged as an HTREE it never built;
    // e2fsck 1.47 reports that, and nothing else may be wrong.
    const fsck = await new Deno.Command("e2fsck", { args: ["-fn", `${dir}/hello.img`] }).output();
    const problems = new TextDecoder().decode(fsck.stdout).split("\n")
      .filter((l) => /problem|invalid|error|bad|wrong/i.test(l) && !/still has errors/.test(l));
    assert.ok(problems.every((l) => /inode 11\b/.test(l)), problems.join("\n"));
    await runTool("debugfs", ["-R", `dump /hello ${dir}/hello`, `${dir}/hello.img`]);
    const hello = await Deno.readFile(`${dir}/hello`);
    assert.equal(hello.length, 13256);
    assert.equal(await sha256(hello), HELLO_SHA);
  });
});

Deno.test("exportView() of the legacy ext4_64 baselayer passes e2fsck", async () => {
  await withTempDir(async (dir) => {
    await runTool("tar", ["-xzf", vector("upstream/ext4_64.tar.gz"), "-C", dir]);
    await exportTo([`${dir}/ext4_64`], `${dir}/base.img`);
    await runTool("e2fsck", ["-fn", `${dir}/base.img`]);
  });
});

Deno.test("exportView() writes the same bytes a full read returns", async () => {
  await withTempDir(async (dir) => {
    await exportTo([vector("overlaybd.commit")], `${dir}/view.img`);
    const got = await Deno.readFile(`${dir}/view.img`);
    assert.equal(got.length, 64 << 20);
    const raw = await Deno.readFile(vector("view.raw"));
    assert.equal(await sha256(got.slice(0, raw.length)), await sha256(raw));
  });
});
