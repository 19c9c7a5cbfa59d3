import assert from "node:assert/strict";
import { exportView, openView } from "../../src/layer/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { runCli, withTempDir } from "../_helpers.ts";

async function writeConfig(dir: string, lowers: string[], upper: string): Promise<string> {
  const config = {
    repoBlobUrl: "",
    lowers: lowers.map((file) => ({ file })),
    upper: { data: `${dir}/${upper}.data`, index: `${dir}/${upper}.index` },
    resultFile: "",
  };
  await Deno.writeTextFile(`${dir}/${upper}.json`, JSON.stringify(config));
  return `${dir}/${upper}.json`;
}

Deno.test("overlaybd create, apply --mkfs and commit -z -t give a layer blob with the files", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/src/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/src/etc/motd`, "welcome\n");
    await runTool("tar", ["-czf", `${dir}/layer.tar.gz`, "-C", `${dir}/src`, "."]);
    let r = await runCli(["create", `${dir}/up.data`, `${dir}/up.index`, "1"]);
    assert.equal(r.code, 0, r.stderr);
    const config = await writeConfig(dir, [], "up");
    r = await runCli(["apply", "--mkfs", `${dir}/layer.tar.gz`, config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /applied .*layer\.tar\.gz .*: \d+ entries, 0 whiteouts/);
    r = await runCli(["commit", "-z", "-t", `${dir}/up.data`, `${dir}/up.index`, `${dir}/blob`]);
    assert.equal(r.code, 0, r.stderr);

    // A second layer on top, through the CLI as well.
    await Deno.writeTextFile(`${dir}/src/etc/.wh.motd`, "");
    await Deno.remove(`${dir}/src/etc/motd`);
    await Deno.writeTextFile(`${dir}/src/etc/issue`, "debian\n");
    await runTool("tar", ["-cf", `${dir}/layer2.tar`, "-C", `${dir}/src`, "."]);
    r = await runCli(["create", `${dir}/up2.data`, `${dir}/up2.index`, "0"]);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli([
      "apply",
      `${dir}/layer2.tar`,
      await writeConfig(dir, [`${dir}/blob`], "up2"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1 whiteouts/);

    const image = openView([`${dir}/blob`], {
      upper: { data: `${dir}/up2.data`, index: `${dir}/up2.index` },
    });
    try {
      await exportView(image, `${dir}/fs.img`);
    } finally {
      image.close();
    }
    await runTool("e2fsck", ["-fn", `${dir}/fs.img`]);
    assert.equal(await runTool("debugfs", ["-R", "cat /etc/issue", `${dir}/fs.img`]), "debian\n");
    const ls = await runTool("debugfs", ["-R", "ls /etc", `${dir}/fs.img`]);
    assert.doesNotMatch(ls, /motd/);
  });
});

Deno.test("overlaybd apply prints one line naming the entry when the tar is cut short", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeFile(`${dir}/src/data.bin`, new Uint8Array(200_000).fill(1));
    await runTool("tar", ["-cf", `${dir}/full.tar`, "-C", `${dir}/src`, "data.bin"]);
    const tar = await Deno.readFile(`${dir}/full.tar`);
    await Deno.writeFile(`${dir}/cut.tar`, tar.slice(0, 100_000));
    await runCli(["create", `${dir}/up.data`, `${dir}/up.index`, "1"]);
    const r = await runCli(["apply", "--mkfs", `${dir}/cut.tar`, await writeConfig(dir, [], "up")]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^overlaybd: apply .*cut\.tar: layer entry data\.bin: truncated tar/);
  });
});

Deno.test("overlaybd apply without an upper in the config is a usage error", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify({ lowers: [], upper: {} }));
    await Deno.writeFile(`${dir}/l.tar`, new Uint8Array(1024));
    const r = await runCli(["apply", `${dir}/l.tar`, `${dir}/c.json`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /upper\.data and upper\.index/);
  });
});
