/**
 * Test program: opens devices and a snapshotter as the daemon would, pulls
 * the layer of the image named by argv and prepares one container on it
 * (attaching its device), prints the container's mounts as one JSON line,
 * then waits to be killed. The test kills it with SIGKILL to leave what a
 * crashed snapshotter leaves behind.
 *
 * Usage: `deno run -A _crashing_snapshotter.ts FIXTURE.json`
 *
 * @module
 */

import type { GlobalConfig } from "../../src/config/mod.ts";
import {
  openSnapshotDevices,
  openSnapshotter,
  type SnapshotterConfig,
} from "../../src/snapshotter/mod.ts";
import { CHAIN_ID, pullLabels } from "./_overlaybd.ts";

interface Fixture {
  global: GlobalConfig;
  config: SnapshotterConfig;
  root: string;
  runDir: string;
  imageRef: string;
}

const f = JSON.parse(await Deno.readTextFile(Deno.args[0])) as Fixture;
const devices = await openSnapshotDevices(f.global, f.runDir, () => {});
const sn = await openSnapshotter({ root: f.root, config: f.config, devices });
await sn.prepare("pull", "", pullLabels(f.imageRef)).catch(() => {/* AlreadyExists */});
const mounts = await sn.prepare("c1", CHAIN_ID, {});
console.log(JSON.stringify(mounts));
setInterval(() => {/* stay alive until killed */}, 1 << 30);
