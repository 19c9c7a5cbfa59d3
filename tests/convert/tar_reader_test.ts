import assert from "node:assert/strict";
import { readTar, type TarEntry } from "../../src/convert/mod.ts";
import { CorruptDataError, UnsupportedError } from "../../src/errors.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { withTempDir } from "../_helpers.ts";

interface Read extends TarEntry {
  content: Uint8Array;
}

function streamOf(bytes: Uint8Array<ArrayBuffer>, chunk: number) {
  let pos = 0;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(ctrl) {
      if (pos >= bytes.length) return ctrl.close();
      ctrl.enqueue(bytes.slice(pos, pos + chunk));
      pos += chunk;
    },
  });
}

async function readAll(
  bytes: Uint8Array<ArrayBuffer>,
  chunk = 1000,
  buffered = false,
): Promise<Read[]> {
  const out: Read[] = [];
  for await (const e of readTar(streamOf(bytes, chunk))) {
    const parts: Uint8Array[] = [];
    const whole = buffered ? e.bufferedBody() : undefined;
    if (whole) parts.push(whole.slice());
    else for await (const c of e.body()) parts.push(c.slice());
    const content = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) (content.set(p, o), o += p.length);
    const { body: _, bufferedBody: __, ...rest } = e;
    out.push({ ...rest, content });
  }
  return out;
}

/** A source tree with every kind of entry GNU tar can store. */
async function makeTree(dir: string): Promise<void> {
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/d`, { recursive: true });
  await Deno.writeTextFile(`${src}/d/f`, "hello\n");
  await Deno.link(`${src}/d/f`, `${src}/d/h`);
  await Deno.symlink("f", `${src}/d/s`);
  const long = `${src}/${"x".repeat(120)}/${"y".repeat(150)}`;
  await Deno.mkdir(`${src}/${"x".repeat(120)}`);
  await Deno.writeTextFile(long, "long");
  await Deno.symlink("t".repeat(150), `${src}/d/longlink`);
  await runTool("mkfifo", [`${src}/d/p`]);
  await runTool("python3", [
    "-c",
    `import os; os.setxattr("${src}/d/f", "user.k", b"v\\x00\\xff")`,
  ]);
  if (Deno.uid() === 0) {
    await runTool("mknod", [`${src}/d/c`, "c", "1", "3"]);
    await runTool("chown", ["3000000:42", `${src}/d/f`]);
  }
  await Deno.chmod(`${src}/d/f`, 0o4755); // after chown, which clears set-uid
}

for (const format of ["posix", "gnu"]) {
  Deno.test(`readTar() reads every kind of entry of a GNU tar --format=${format} archive`, async () => {
    await withTempDir(async (dir) => {
      await makeTree(dir);
      await runTool("tar", [
        `--format=${format}`,
        "--xattrs",
        "-cf",
        `${dir}/t.tar`,
        "-C",
        `${dir}/src`,
        ".",
      ]);
      const entries = await readAll(await Deno.readFile(`${dir}/t.tar`));
      const by = new Map(entries.map((e) => [e.path.replace(/^\.\//, ""), e]));
      const [f, link] = by.get("d/f")!.type === "file"
        ? [by.get("d/f")!, by.get("d/h")!]
        : [by.get("d/h")!, by.get("d/f")!];
      assert.equal(new TextDecoder().decode(f.content), "hello\n");
      assert.equal(f.type, "file");
      assert.equal(f.mode, 0o4755);
      assert.equal(link.type, "hardlink");
      assert.equal(link.linkname.replace(/^\.\//, ""), f.path.replace(/^\.\//, ""));
      assert.deepEqual([by.get("d/s")!.type, by.get("d/s")!.linkname], ["symlink", "f"]);
      assert.equal(by.get("d/longlink")!.linkname, "t".repeat(150));
      assert.equal(by.get("d/p")!.type, "fifo");
      assert.equal(by.get("d/")!.type, "dir");
      const long = by.get(`${"x".repeat(120)}/${"y".repeat(150)}`)!;
      assert.equal(new TextDecoder().decode(long.content), "long");
      if (format === "posix") {
        const x = f.xattrs.find(([n]) => n === "user.k");
        assert.deepEqual(x && [...x[1]], [0x76, 0x00, 0xff]);
      }
      if (Deno.uid() === 0) {
        assert.deepEqual([by.get("d/c")!.type, by.get("d/c")!.devmajor, by.get("d/c")!.devminor], [
          "char",
          1,
          3,
        ]);
        assert.equal(f.uid, 3000000); // pax uid, or GNU base-256
        assert.equal(f.gid, 42);
      }
    });
  });
}

Deno.test("readTar() gives the same entries whatever the chunk sizes", async () => {
  await withTempDir(async (dir) => {
    await makeTree(dir);
    await runTool("tar", ["--format=posix", "-cf", `${dir}/t.tar`, "-C", `${dir}/src`, "."]);
    const bytes = await Deno.readFile(`${dir}/t.tar`);
    const a = await readAll(bytes, 1);
    const b = await readAll(bytes, 1 << 20);
    assert.deepEqual(a, b);
  });
});

Deno.test("readTar() hands out a buffered body whole, and the same entries either way", async () => {
  await withTempDir(async (dir) => {
    await makeTree(dir);
    await runTool("tar", ["--format=posix", "-cf", `${dir}/t.tar`, "-C", `${dir}/src`, "."]);
    const bytes = await Deno.readFile(`${dir}/t.tar`);
    const want = await readAll(bytes, 1 << 20);
    for (const chunk of [1, 700, 1 << 20]) {
      assert.deepEqual(await readAll(bytes, chunk, true), want, `chunks of ${chunk}`);
    }
    let whole = 0;
    for await (const e of readTar(streamOf(bytes, 1 << 20))) {
      if (e.size > 0 && e.bufferedBody()) whole++;
    }
    assert.ok(whole > 0, "bodies inside one chunk come whole");
  });
});

Deno.test("readTar() skips bodies that are not read", async () => {
  await withTempDir(async (dir) => {
    await makeTree(dir);
    await runTool("tar", ["-cf", `${dir}/t.tar`, "-C", `${dir}/src`, "."]);
    const names: string[] = [];
    const stream = streamOf(await Deno.readFile(`${dir}/t.tar`), 333);
    for await (const e of readTar(stream)) names.push(e.path);
    assert.ok(names.includes("./d/f"));
  });
});

Deno.test("readTar() fails with CorruptDataError naming the entry when the tar is cut short", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeFile(`${dir}/src/big`, new Uint8Array(100_000).fill(7));
    await runTool("tar", ["-cf", `${dir}/t.tar`, "-C", `${dir}/src`, "big"]);
    const bytes = await Deno.readFile(`${dir}/t.tar`);
    await assert.rejects(readAll(bytes.slice(0, 50_000)), (err: Error) => {
      assert.ok(err instanceof CorruptDataError);
      assert.match(err.message, /truncated tar: entry big/);
      return true;
    });
    await assert.rejects(readAll(bytes.slice(0, 300)), CorruptDataError);
  });
});

Deno.test("readTar() rejects a header with a bad checksum", async () => {
  const block = new Uint8Array(1024);
  new TextEncoder().encodeInto("name\0", block);
  block.set(new TextEncoder().encode("0000644\0"), 100);
  block.set(new TextEncoder().encode("0000001\0"), 148);
  await assert.rejects(readAll(block), /checksum/);
});

Deno.test("readTar() refuses GNU sparse entries instead of writing them wrong", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    await runTool("truncate", ["-s", "1M", `${dir}/src/sparse`]);
    await runTool("tar", [
      "--format=gnu",
      "-S",
      "-cf",
      `${dir}/t.tar`,
      "-C",
      `${dir}/src`,
      "sparse",
    ]);
    await assert.rejects(readAll(await Deno.readFile(`${dir}/t.tar`)), UnsupportedError);
  });
});
