/**
 * Issue 4's whole-tree test: an image built here from installed system
 * files plus two layers that exercise every tar and whiteout rule is
 * converted, the result mounted with `overlaybd mount` (a config.v1.json of
 * the converted blobs) and compared entry by entry — content, type, mode,
 * owner, xattrs, link targets, device numbers, mtimes, hard-link groups —
 * with the same image unpacked by an independent tool, Debian's `umoci`
 * (overlay semantics); the merged filesystem must be `e2fsck -fn` clean.
 *
 * @module
 */

import assert from "node:assert/strict";
import { convertImage, layoutBlobPath, resolveLayoutImage } from "../../src/convert/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { exportView, openView } from "../../src/layer/mod.ts";
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from "../../src/registry/mod.ts";
import { runCli, sha256, sha256File, withTempDir } from "../_helpers.ts";
import { isMounted } from "../mount/_mounted.ts";
import { diffTrees, snapshotTree } from "./_tree.ts";

const isRoot = Deno.uid() === 0;

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

/** System directories of the lowest layer (several thousand files; those missing are left out). */
const SYSTEM_DIRS = ["etc", "usr/share/zoneinfo", "usr/lib/python3/dist-packages"];

/** A tar made by Python's tarfile (PAX): `entries` are `add(path, ...)` lines, in that order. */
async function pyTar(out: string, entries: string): Promise<void> {
  const script = `
import io, tarfile
t = tarfile.open(${JSON.stringify(out)}, "w", format=tarfile.PAX_FORMAT)
T = 1700000000
def add(path, data=None, type=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, link="", major=0, minor=0, xattrs={}):
    i = tarfile.TarInfo(path)
    i.type, i.mode, i.uid, i.gid, i.mtime, i.linkname = type, mode, uid, gid, T, link
    i.devmajor, i.devminor = major, minor
    i.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    i.size = len(data) if data is not None else 0
    t.addfile(i, io.BytesIO(data) if data is not None else None)
D, L, H, S = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE
C, B = tarfile.CHRTYPE, tarfile.BLKTYPE
# security.capability v2 (revision 0x02000000 | effective): cap_net_raw permitted.
CAP = bytes([1, 0, 0, 2, 0, 0x20, 0, 0]) + bytes(12)
${entries}
t.close()
`;
  const r = await new Deno.Command("python3", { args: ["-c", script], stderr: "piped" }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

/** Layer 2: every kind of entry, owners, modes, xattrs, holes, hard links. */
const LAYER2 = `
add("base", type=D, mode=0o755)
add("base/f1", b"file one\\n")
add("base/d1", type=D, mode=0o750, uid=7, gid=8)
add("base/d1/x", b"x\\n")
add("base/opq", type=D)
add("base/opq/a", b"a\\n")
add("base/opq/sub", type=D)
add("base/opq/sub/b", b"b\\n")
add("base/f2", b"linked from above\\n" * 300, mode=0o640, uid=1000, gid=1000)
add("base/link", type=L, link="f2")
add("base/abs", type=L, link="/etc/passwd")
add("base/long", type=L, link="t" * 200)
add("base/sparse", bytes(4 << 20) + b"middle" + bytes(1 << 20))
add("base/suid", b"#!/bin/sh\\n", mode=0o4755, xattrs={"security.capability": CAP.decode("latin-1")})
add("base/fifo", type=S, mode=0o600)
add("base/null", type=C, mode=0o666, major=1, minor=3)
add("base/loop", type=B, mode=0o660, gid=6, major=7, minor=0)
add("base/xa", b"x", xattrs={"user.k": "v", "user.empty": ""})
add("base/odd", b"o", mode=0o1751, uid=12345, gid=54321)
add("base/sticky", type=D, mode=0o1777)
add("base/h1", b"h" * 5000, mode=0o600, uid=5, gid=5)
add("base/h2", type=H, link="base/h1")
add("base/h3", type=H, link="base/h1")
add("base/" + "n" * 200, b"long name\\n")
`;

/**
 * Layer 3: whiteouts of lower files and directories, an opaque system
 * directory, a file replaced by a directory and a directory by a file,
 * hard links into lower layers, files whose directories have no entry.
 */
function layer3(lowerFile: string): string {
  return `
add("base/f1", type=D, mode=0o711)
add("base/f1/inner", b"now a directory\\n")
add("base/d1", b"now a file\\n", mode=0o600)
add("base/opq/.wh..wh..opq", b"")
add("base/opq/new", b"new\\n")
add("base/.wh.link", b"")
add("base/hl_lower", type=H, link="base/f2")
add("base/hl_sys", type=H, link=${JSON.stringify(lowerFile)})
add("base/h2", b"h2 is alone now\\n")
add("base/sparse", type=L, link="f2")
add("base/null", type=S, mode=0o644)
add("base/xa", b"y", xattrs={"user.k": "w"})
add("etc/.wh.motd", b"")
add("etc/debian_version", b"replaced\\n", mode=0o444)
add("usr/share/zoneinfo/.wh.Europe", b"")
add("usr/share/zoneinfo/America/.wh..wh..opq", b"")
add("usr/share/zoneinfo/America/New_York", b"not a zone\\n")
add("new/deep/dir/file", b"parents made on the way\\n")
`;
}

/** A blob of the layout `dir`, named by its digest. */
async function putBlob(dir: string, data: Uint8Array<ArrayBuffer>) {
  const digest = `sha256:${await sha256(data)}`;
  await Deno.writeFile(layoutBlobPath(dir, digest), data);
  return { digest, size: data.length };
}

/** The OCI layout `dir`, tag `src`, of the gzip-compressed tars, bottom first. */
async function buildLayout(dir: string, tars: string[]): Promise<void> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const layers = [];
  const diffIds = [];
  for (const tar of tars) {
    diffIds.push(`sha256:${await sha256File(tar)}`);
    await runTool("gzip", ["-n", "-1", tar]);
    layers.push({
      mediaType: OCI_LAYER_GZIP,
      ...await putBlob(dir, await Deno.readFile(`${tar}.gz`)),
    });
  }
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  const config = await putBlob(
    dir,
    enc({
      architecture: "amd64",
      os: "linux",
      created: "2024-01-02T03:04:05Z",
      config: {},
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  );
  const manifest = await putBlob(
    dir,
    enc({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, ...config },
      layers,
    }),
  );
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: OCI_MANIFEST,
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": "src" },
      }],
    }),
  );
}

Deno.test({
  name:
    "convertImage() of system files plus whiteouts, replacements and links mounts as the tree umoci unpacks, e2fsck-clean",
  ignore: !isRoot || !(await has("umoci")) || !(await has("python3")),
  fn: async () => {
    await withTempDir(async (tmp) => {
      const dirs: string[] = [];
      for (const d of SYSTEM_DIRS) {
        if (await Deno.stat(`/${d}`).catch(() => undefined)) dirs.push(d);
      }
      const parents = ["usr", "usr/share", "usr/lib", "usr/lib/python3"];
      await runTool("tar", [
        "-C",
        "/",
        "--numeric-owner",
        "--xattrs",
        "--xattrs-include=*",
        "--ignore-failed-read",
        "--warning=no-file-ignored",
        "-cf",
        `${tmp}/l1.tar`,
        "--no-recursion",
        ...parents.filter((p) => dirs.some((d) => d.startsWith(`${p}/`))),
        "--recursion",
        ...dirs,
      ]);
      await pyTar(`${tmp}/l2.tar`, LAYER2);
      await pyTar(`${tmp}/l3.tar`, layer3("etc/passwd"));
      await buildLayout(`${tmp}/src`, [`${tmp}/l1.tar`, `${tmp}/l2.tar`, `${tmp}/l3.tar`]);

      // The reference: umoci applies the layers with overlay semantics, owners kept (root).
      await runTool("umoci", ["unpack", "--image", `${tmp}/src:src`, `${tmp}/ref`]);

      await Deno.mkdir(`${tmp}/work`);
      const result = await convertImage(`oci:${tmp}/src:src`, `oci:${tmp}/out:obd`, {
        workdir: `${tmp}/work`,
        virtualSize: 4 * 2 ** 30,
      });
      assert.equal(result.layers.length, 3);
      const { manifest } = await resolveLayoutImage(`${tmp}/out`, "obd");
      const blobs = manifest.layers.map((l) => layoutBlobPath(`${tmp}/out`, l.digest));

      const image = openView(blobs);
      try {
        await exportView(image, `${tmp}/merged.img`);
      } finally {
        image.close();
      }
      await runTool("e2fsck", ["-fn", `${tmp}/merged.img`]);
      await Deno.remove(`${tmp}/merged.img`);

      await Deno.writeTextFile(
        `${tmp}/config.v1.json`,
        JSON.stringify({
          repoBlobUrl: "",
          lowers: blobs.map((file) => ({ file })),
          resultFile: "",
        }),
      );
      await Deno.writeTextFile(
        `${tmp}/overlaybd.json`,
        JSON.stringify({ cacheConfig: { cacheDir: `${tmp}/cache`, cacheSizeGB: 1 } }),
      );
      const mnt = `${tmp}/mnt`;
      await Deno.mkdir(mnt);
      const run = ["--run-dir", `${tmp}/run`];
      const mounted = await runCli([
        "mount",
        "--config",
        `${tmp}/overlaybd.json`,
        ...run,
        `${tmp}/config.v1.json`,
        mnt,
      ]);
      assert.equal(mounted.code, 0, mounted.stderr);
      try {
        const want = await snapshotTree(`${tmp}/ref/rootfs`);
        const got = await snapshotTree(mnt, ["/lost+found"]);
        // umoci gives its rootfs directory its own mode; the root's owner and content count.
        want.set("/", { ...want.get("/")!, mode: got.get("/")!.mode });
        assert.deepEqual(diffTrees(want, got), []);
        assert.ok(want.size > 3000, `compared ${want.size} entries`);
        // What each rule made, so that a reference gone wrong the same way cannot pass.
        assert.equal(got.get("/base/f1")!.type, "dir");
        assert.equal(got.get("/base/d1")!.type, "file");
        assert.deepEqual([...got.keys()].filter((p) => p.startsWith("/base/opq/")), [
          "/base/opq/new",
        ]);
        assert.equal(got.get("/base/link"), undefined);
        assert.equal(got.get("/etc/motd"), undefined);
        assert.equal(got.get("/usr/share/zoneinfo/Europe"), undefined);
        assert.deepEqual(
          [...got.keys()].filter((p) => p.startsWith("/usr/share/zoneinfo/America/")),
          ["/usr/share/zoneinfo/America/New_York"],
        );
        assert.deepEqual(got.get("/base/f2")!.links, ["/base/hl_lower"]);
        assert.deepEqual(got.get("/etc/passwd")!.links, ["/base/hl_sys"]);
        assert.deepEqual(got.get("/base/h1")!.links, ["/base/h3"]);
        assert.deepEqual(Object.keys(got.get("/base/suid")!.xattrs), ["security.capability"]);
        assert.equal(got.get("/base/null")!.type, "fifo");
        assert.equal(got.get("/base/loop")!.type, "block");
        assert.deepEqual([got.get("/base/odd")!.uid, got.get("/base/odd")!.mode], [12345, "1751"]);
      } finally {
        const r = await runCli(["umount", ...run, mnt]);
        if (await isMounted(mnt)) await new Deno.Command("umount", { args: ["-l", mnt] }).output();
        assert.equal(r.code, 0, r.stderr);
      }
    });
  },
});
