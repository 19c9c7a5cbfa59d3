import assert from "node:assert/strict";
import type { DeviceConfig } from "../../src/config/mod.ts";
import { applyLayer } from "../../src/convert/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import {
  CorruptDataError,
  InvalidArgumentError,
  NotFoundError,
  UnsupportedError,
} from "../../src/errors.ts";
import { commitLayer, createLayer, exportView, openView } from "../../src/layer/mod.ts";
import { randomBytes, withTempDir } from "../_helpers.ts";
import { diffTrees, snapshotTree } from "./_tree.ts";

const GIB = 2 ** 30;
const isRoot = Deno.uid() === 0;

async function sh(script: string, cwd: string): Promise<void> {
  const out = await new Deno.Command("bash", { args: ["-euc", script], cwd, stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`${script}: ${new TextDecoder().decode(out.stderr)}`);
}

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** Layer 1: every kind of entry, with owners, modes, xattrs, holes and long names. */
async function makeLayer1(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/src1`);
  await sh(
    `
    mkdir -p a many opq gone/deep rd/sub usr/lib ${"n".repeat(120)}
    printf 'hello\\n' > a/hello
    ln a/hello a/hl
    head -c 3000000 /dev/urandom > a/big
    truncate -s 8M a/sparse
    printf 'middle' | dd of=a/sparse bs=1 seek=$((5*1024*1024+100)) conv=notrunc status=none
    ln -s hello a/link
    ln -s /etc/passwd a/abs
    ln -s ${"t".repeat(200)} a/longlink
    mkfifo a/fifo
    printf '#!/bin/sh\\n' > a/suid
    for i in $(seq 1 300); do echo "$i" > many/file-$i; done
    echo x > opq/x; echo y > opq/y
    echo g > gone/deep/g
    echo r > r
    echo rd > rd/sub/f
    echo elf > usr/lib/libx.so
    ln -s usr/lib lib
    echo long > ${"n".repeat(120)}/${"f".repeat(150)}
    python3 -c 'import os; os.setxattr("a/hello", "user.foo", b"bar")'
    if [ "$(id -u)" = 0 ]; then
      mknod a/null c 1 3; mknod a/sda b 8 0
      chown -R 1000:1001 a/hello many; chown 7:8 a
      python3 -c 'import os; os.setxattr("a/suid", "security.capability", bytes.fromhex("0100000200040000000000000000000000000000"))'
      python3 -c 'import os; os.setxattr("opq", "trusted.overlay.opaque", b"y")'
    fi
    chmod 4755 a/suid; chmod 750 a
    touch -h -d @1600000000 a/link a/hello
    `,
    `${dir}/src1`,
  );
  await sh(
    `tar --format=posix --xattrs --xattrs-include='*' -cf layer1.tar -C src1 . && gzip -k layer1.tar`,
    dir,
  );
}

/**
 * Layer 2: whiteouts (.wh.hello, opaque opq/, .wh.gone), a file replaced by
 * a directory and the reverse, plus entries GNU tar cannot make and Python's
 * tarfile appends: a hard link to a layer-1 file and a file below the
 * layer-1 symlink lib -> usr/lib without its parent entry.
 */
async function makeLayer2(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/src2`);
  await sh(
    `
    mkdir -p a opq r
    : > a/.wh.hello
    : > opq/.wh..wh..opq
    echo z > opq/z
    : > .wh.gone
    echo inside > r/inside
    echo now-a-file > rd
    echo new > a/new
    chmod 700 a
    `,
    `${dir}/src2`,
  );
  await sh(
    `tar --format=posix --xattrs -cf layer2.tar -C src2 .
    python3 - <<'EOF'
import io, tarfile
with tarfile.open("layer2.tar", "a", format=tarfile.PAX_FORMAT) as t:
    link = tarfile.TarInfo("./a/hl2"); link.type = tarfile.LNKTYPE; link.linkname = "./a/big"
    link.mtime = 1600000000; t.addfile(link)
    f = tarfile.TarInfo("./lib/libz.so"); data = b"zlib"; f.size = len(data); f.mtime = 1600000000
    t.addfile(f, io.BytesIO(data))
EOF`,
    dir,
  );
}

/** The reference: layer 1 unpacked by GNU tar, layer 2's whiteouts by hand, then layer 2. */
async function makeExpected(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/exp`);
  await sh(
    `
    X="--xattrs --xattrs-include=* --numeric-owner -p"
    tar $X -xf layer1.tar -C exp
    rm exp/a/hello; rm -rf exp/opq/* exp/gone exp/r exp/rd
    tar $X --exclude='.wh.*' -xf layer2.tar -C exp
    `,
    dir,
  );
}

function config(lowers: string[], data: string, index: string): DeviceConfig {
  return {
    repoBlobUrl: "",
    lowers: lowers.map((file) => ({ file })),
    upper: { data, index },
    resultFile: "",
  };
}

Deno.test({
  name: "applyLayer() of two stacked layers gives the tree GNU tar unpacks, e2fsck-clean",
  ignore: !(await has("tar")) || !(await has("python3")),
  fn: async () => {
    await withTempDir(async (dir) => {
      await makeLayer1(dir);
      await makeLayer2(dir);
      const zstd = await has("zstd");
      if (zstd) await runTool("zstd", ["-q", `${dir}/layer2.tar`]);

      createLayer(`${dir}/d1`, `${dir}/i1`, { virtualSize: GIB });
      const s1 = await applyLayer(
        `${dir}/layer1.tar.gz`,
        config([], `${dir}/d1`, `${dir}/i1`),
        "c1",
        {
          mkfs: true,
        },
      );
      assert.ok(s1.tarBytes > 10_000_000 && s1.fileBytes > 11_000_000);
      commitLayer(`${dir}/d1`, `${dir}/i1`, `${dir}/layer1.commit`, {
        zfile: { algorithm: "lz4", blockSize: 4096 },
        tar: true,
      });

      createLayer(`${dir}/d2`, `${dir}/i2`, { virtualSize: 0 });
      const l2 = zstd ? `${dir}/layer2.tar.zst` : `${dir}/layer2.tar`;
      const cfg2 = config([`${dir}/layer1.commit`], `${dir}/d2`, `${dir}/i2`);
      const s2 = await applyLayer(l2, cfg2, "c2");
      assert.equal(s2.whiteouts, 3);
      assert.equal(s2.removed, 4); // a/hello, opq/x, opq/y, gone
      commitLayer(`${dir}/d2`, `${dir}/i2`, `${dir}/layer2.commit`, {
        zfile: { algorithm: "zstd", blockSize: 4096 },
        tar: true,
      });

      const image = openView([`${dir}/layer1.commit`, `${dir}/layer2.commit`]);
      try {
        await exportView(image, `${dir}/merged.img`);
      } finally {
        image.close();
      }
      await runTool("e2fsck", ["-fn", `${dir}/merged.img`]);
      if (!isRoot) return; // mounting needs root

      await makeExpected(dir);
      await Deno.mkdir(`${dir}/mnt`);
      await runTool("mount", ["-o", "loop,ro", `${dir}/merged.img`, `${dir}/mnt`]);
      try {
        const want = await snapshotTree(`${dir}/exp`);
        const got = await snapshotTree(`${dir}/mnt`, ["/lost+found"]);
        assert.deepEqual(diffTrees(want, got), []);
        assert.ok(want.size > 320, `compared ${want.size} entries`);
        assert.deepEqual(Object.keys(got.get("/a/suid")!.xattrs), ["security.capability"]);
        assert.deepEqual(got.get("/opq")!.xattrs, { "trusted.overlay.opaque": "79" });
        assert.equal(got.get("/a/hl")!.links.length, 0); // its twin a/hello was whited out
        assert.equal(got.get("/a/null")!.type, "char");
        assert.equal(got.get("/a/link")!.mtime, 1600000000);
        assert.equal(got.get("/a/hl2")!.links.join(), "/a/big");
        assert.equal(got.get("/lib/libz.so"), undefined); // lib is still the symlink
        assert.equal(got.get("/usr/lib/libz.so")!.size, 4);
        assert.equal(got.get("/a/sparse")!.size, 8 << 20);
        const blocks = (await Deno.lstat(`${dir}/mnt/a/sparse`)).blocks;
        assert.ok(
          blocks !== null && blocks <= 16,
          `sparse file keeps its holes (${blocks} sectors)`,
        );
      } finally {
        await runTool("umount", [`${dir}/mnt`]);
      }
    });
  },
});

/** A tar made by Python's tarfile: `entries` are `add(path, data, **TarInfo fields)` lines. */
async function pyTar(dir: string, name: string, entries: string): Promise<string> {
  await sh(
    `python3 - <<'EOF'
import io, tarfile
t = tarfile.open("${name}", "w", format=tarfile.PAX_FORMAT)
def add(path, data=None, **kw):
    i = tarfile.TarInfo(path)
    for k, v in kw.items(): setattr(i, k, v)
    if data is not None: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data is not None else None)
${entries}
t.close()
EOF`,
    dir,
  );
  return `${dir}/${name}`;
}

async function applyFresh(dir: string, tar: string, size = 64 << 20) {
  const tag = crypto.randomUUID();
  createLayer(`${dir}/${tag}.d`, `${dir}/${tag}.i`, { virtualSize: size });
  return await applyLayer(tar, config([], `${dir}/${tag}.d`, `${dir}/${tag}.i`), "c", {
    mkfs: true,
  });
}

Deno.test("applyLayer() refuses an entry that climbs out of the root, naming it", async () => {
  await withTempDir(async (dir) => {
    const tar = await pyTar(dir, "evil.tar", `add("ok", b"fine")\nadd("a/../../etc/evil", b"x")`);
    await assert.rejects(applyFresh(dir, tar), (err: Error) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /layer entry a\/\.\.\/\.\.\/etc\/evil/);
      return true;
    });
  });
});

Deno.test("applyLayer() fails on a hard link to nothing, naming the entry", async () => {
  await withTempDir(async (dir) => {
    const tar = await pyTar(
      dir,
      "link.tar",
      `add("l", type=tarfile.LNKTYPE, linkname="missing")`,
    );
    await assert.rejects(applyFresh(dir, tar), (err: Error) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, /layer entry l: .*missing/);
      return true;
    });
  });
});

Deno.test("applyLayer() fails with InvalidArgumentError for a file bigger than the filesystem", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/big`, randomBytes(40 << 20, 3));
    await runTool("tar", ["-cf", `${dir}/big.tar`, "-C", dir, "big"]);
    await assert.rejects(applyFresh(dir, `${dir}/big.tar`, 32 << 20), (err: Error) => {
      assert.ok(err instanceof InvalidArgumentError, String(err));
      assert.match(err.message, /layer entry big: .*no space left/);
      return true;
    });
  });
});

Deno.test("applyLayer() fails with CorruptDataError for a cut tar and a corrupt gzip", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, randomBytes(1 << 20, 4));
    await runTool("tar", ["-cf", `${dir}/t.tar`, "-C", dir, "f"]);
    const tar = await Deno.readFile(`${dir}/t.tar`);
    await Deno.writeFile(`${dir}/cut.tar`, tar.slice(0, 600_000));
    await assert.rejects(applyFresh(dir, `${dir}/cut.tar`), (err: Error) => {
      assert.ok(err instanceof CorruptDataError);
      assert.match(err.message, /layer entry f: truncated tar/);
      return true;
    });
    await runTool("gzip", ["-k", `${dir}/t.tar`]);
    const gz = await Deno.readFile(`${dir}/t.tar.gz`);
    gz[gz.length >> 1] ^= 0x55;
    await Deno.writeFile(`${dir}/bad.tar.gz`, gz);
    await assert.rejects(applyFresh(dir, `${dir}/bad.tar.gz`), CorruptDataError);
  });
});

Deno.test("applyLayer() refuses a lower that exists only in a registry", async () => {
  await withTempDir(async (dir) => {
    const cfg: DeviceConfig = {
      repoBlobUrl: "http://127.0.0.1:1/v2/x/blobs",
      lowers: [{ digest: `sha256:${"0".repeat(64)}`, size: 1 }],
      upper: { data: `${dir}/d`, index: `${dir}/i` },
      resultFile: "",
    };
    await assert.rejects(applyLayer(`${dir}/none.tar`, cfg, "c"), UnsupportedError);
  });
});
