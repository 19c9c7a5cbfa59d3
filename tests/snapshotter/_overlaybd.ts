/**
 * Test fixture: a real registry holding the converted hello-world image,
 * devices (FUSE + loop + ext4) and an overlaybd snapshotter on a fresh root,
 * everything torn down afterwards even on failure: mounts, devices, loop
 * devices, registry.
 *
 * @module
 */

import { defaultGlobalConfig, type GlobalConfig } from "../../src/config/mod.ts";
import {
  defaultSnapshotterConfig,
  openSnapshotDevices,
  openSnapshotter,
  type SnapshotDevices,
  type Snapshotter,
  type SnapshotterConfig,
} from "../../src/snapshotter/mod.ts";
import { BLOB_DIGEST, BLOB_SIZE, withHelloRegistry } from "../mount/_mounted.ts";
import { unmountBelow } from "./_mount.ts";

/** Chain ID of the image's only layer (its diff ID: the blob is an uncompressed tar). */
export const CHAIN_ID = BLOB_DIGEST;

/** What a test gets; `reopen` closes and opens snapshotter (and devices, if asked) again. */
export interface ObdFixture {
  tmp: string;
  root: string;
  runDir: string;
  imageRef: string;
  sn: Snapshotter;
  devices: SnapshotDevices;
  config: SnapshotterConfig;
  global: GlobalConfig;
  log: string[];
  /** A fresh mount target `<tmp>/m/<name>`. */
  target(name: string): Promise<string>;
  reopen(withDevices?: boolean): Promise<void>;
}

/** Labels of containerd's pull Prepare of the layer, with rpull's image-ref. */
export function pullLabels(imageRef: string): Record<string, string> {
  return {
    "containerd.io/snapshot.ref": CHAIN_ID,
    "containerd.io/snapshot/overlaybd/blob-digest": BLOB_DIGEST,
    "containerd.io/snapshot/overlaybd/blob-size": String(BLOB_SIZE),
    "containerd.io/snapshot/overlaybd/version": "0.1.0",
    "containerd.io/snapshot/image-ref": imageRef,
  };
}

/**
 * Runs `fn` with a registry, devices and a snapshotter whose config is the
 * default with `overrides` (`rwMode`, say).
 */
export function withObdSnapshotter(
  fn: (f: ObdFixture) => Promise<void>,
  overrides: Partial<SnapshotterConfig> = {},
): Promise<void> {
  return withHelloRegistry({}, async (h) => {
    const global = defaultGlobalConfig();
    global.cacheConfig.cacheDir = `${h.tmp}/obd-cache`;
    global.cacheConfig.refillSize = 65536;
    global.credentialConfig.path = `${h.tmp}/no-cred.json`;
    const log: string[] = [];
    const logLine = (l: string) => void log.push(l);
    const config = {
      ...defaultSnapshotterConfig(),
      mirrorRegistry: [{ host: h.registry.host, insecure: true }],
      ...overrides,
    };
    const root = `${h.tmp}/root`;
    const runDir = `${h.tmp}/devices`;
    const f: ObdFixture = {
      tmp: h.tmp,
      root,
      runDir,
      imageRef: `${h.registry.host}/hello-world:amd64-converted`,
      config,
      global,
      log,
      devices: await openSnapshotDevices(global, runDir, logLine),
      sn: undefined as unknown as Snapshotter,
      target: async (name) => {
        await Deno.mkdir(`${h.tmp}/m/${name}`, { recursive: true });
        return `${h.tmp}/m/${name}`;
      },
      reopen: async (withDevices = false) => {
        await f.sn.close();
        if (withDevices) {
          await f.devices.close();
          f.devices = await openSnapshotDevices(global, runDir, logLine);
        }
        f.sn = await openSnapshotter({ root, config, devices: f.devices, log: logLine });
      },
    };
    try {
      f.sn = await openSnapshotter({ root, config, devices: f.devices, log: logLine });
      await fn(f);
    } finally {
      await unmountBelow(`${h.tmp}/m`);
      await f.sn?.close();
      await f.devices.close();
      await unmountBelow(h.tmp);
    }
  });
}

/** Loop devices whose backing file lies under `dir`. */
export async function loopsUnder(dir: string): Promise<string[]> {
  const out = await new Deno.Command("losetup", { args: ["-a"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.includes(dir));
}
