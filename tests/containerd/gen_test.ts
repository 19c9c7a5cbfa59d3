import assert from "node:assert/strict";
import { withTempDir } from "../_helpers.ts";

const repo = new URL("../../", import.meta.url).pathname;
const generated = `${repo}src/containerd/gen`;
const tools = [
  `${repo}.tools/node_modules/@bufbuild/buf/package.json`,
  `${repo}.tools/node_modules/@bufbuild/protoc-gen-es/package.json`,
];
const installed = tools.every((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** Every file under `dir`, as relative path → bytes. */
async function tree(dir: string, prefix = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) { for (const [k, v] of await tree(dir, rel)) out.set(k, v); }
    else out.set(rel, await Deno.readFile(`${dir}/${rel}`));
  }
  return out;
}

Deno.test({
  name: "scripts/gen_proto.sh regenerates src/containerd/gen/ byte for byte",
  // scripts/setup.sh installs buf and protoc-gen-es into .tools/.
  ignore: !installed,
  fn: async () => {
    await withTempDir(async (dir) => {
      const out = await new Deno.Command("bash", {
        args: [`${repo}scripts/gen_proto.sh`, dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const fresh = await tree(dir);
      const committed = await tree(generated);
      assert.deepEqual([...fresh.keys()].sort(), [...committed.keys()].sort());
      for (const [path, bytes] of fresh) {
        assert.ok(
          bytes.length === committed.get(path)?.length &&
            bytes.every((b, i) => b === committed.get(path)?.[i]),
          `${path} differs: run scripts/gen_proto.sh`,
        );
      }
      assert.ok(fresh.size >= 6, `only ${fresh.size} files generated`);
    });
  },
});
