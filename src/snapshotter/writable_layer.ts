/**
 * The native writable layer of a container's snapshot (`rwMode` `dir` or
 * `dev`, spec §10.4): an LSMT writable layer stacked on the image's lowers
 * in the snapshot's own device, instead of an overlayfs upper on the
 * image's shared read-only device. Its ext4 filesystem is mounted on the
 * snapshot's mountpoint and bound into the container (`dir`), or left for
 * containerd to mount from the loop device (`dev`). Commit seals the layer
 * in place into `fs/overlaybd.sealed`, which children stack as a lower.
 *
 * @module
 */

import type { DeviceConfig } from "../config/mod.ts";
import { InvalidArgumentError } from "../errors.ts";
import { createLayer, formatLayer, sealLayer } from "../layer/mod.ts";
import type { RwMode } from "./config.ts";
import { VSIZE, WRITABLE } from "./labels.ts";
import { existsSync, type Layout } from "./layout.ts";
import { writeDeviceConfigSync } from "./local_layer.ts";
import type { MountSpec } from "./snapshotter.ts";

/** The modes that give a snapshot its own writable device. */
export type WritableMode = Exclude<RwMode, "overlayfs">;

const GiB = 2 ** 30;
/** Spec §10.4: the virtual size of a writable layer with nothing below it, GiB. */
export const DEFAULT_VSIZE_GIB = 64;

/**
 * The mode a rootfs Prepare asks for: the label
 * `containerd.io/snapshot/overlaybd.writable`, else the config's `rwMode`.
 *
 * @throws {InvalidArgumentError} for a label value other than dir, dev or overlayfs
 */
export function requestedRwMode(labels: Record<string, string>, configured: RwMode): RwMode {
  const v = labels[WRITABLE];
  if (!v) return configured;
  if (v !== "dir" && v !== "dev" && v !== "overlayfs") {
    throw new InvalidArgumentError(`label ${WRITABLE} must be dir, dev or overlayfs, got '${v}'`);
  }
  return v;
}

/**
 * Virtual size in GiB of a new writable layer: the label
 * `containerd.io/snapshot/overlaybd/vsize`, else 64 without a parent and 0
 * (the size of the layers below) with one.
 *
 * @throws {InvalidArgumentError} when the label is not a positive whole number
 */
export function writableVsizeGiB(labels: Record<string, string>, hasParent: boolean): number {
  const v = labels[VSIZE];
  if (!v) return hasParent ? 0 : DEFAULT_VSIZE_GIB;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n * GiB) || n <= 0) {
    throw new InvalidArgumentError(`label ${VSIZE} must be a size in GiB, got '${v}'`);
  }
  return n;
}

/** What {@linkcode fillWritableLayer} builds. */
export interface NewWritableLayer {
  mode: WritableMode;
  /** GiB; 0 inherits the lowers' size. */
  vsizeGiB: number;
  /** One sparse data file (`writableLayerType` `sparse`) instead of data + index log. */
  sparse: boolean;
  /** The parent's device config; none formats the new layer as an empty ext4. */
  parent?: DeviceConfig;
}

/**
 * Creates the writable layer of snapshot `id` in its temporary directory
 * `tmp` (renamed to the snapshot's directory afterwards): the layer files,
 * an ext4 filesystem when there is no parent, `rw_mode`, and a
 * `config.v1.json` of the parent's lowers plus this upper, naming the
 * final paths. Synchronous: it runs inside the metadata transaction.
 */
export function fillWritableLayer(
  layout: Layout,
  id: number,
  tmp: string,
  layer: NewWritableLayer,
): void {
  const data = `${tmp}/block/writable_data`;
  const index = `${tmp}/block/writable_index`;
  createLayer(data, index, { virtualSize: layer.vsizeGiB * GiB, sparse: layer.sparse });
  if (!layer.parent) formatLayer(data, index);
  Deno.writeTextFileSync(`${tmp}/block/rw_mode`, `${layer.mode}\n`);
  const p = layer.parent;
  const config: DeviceConfig = {
    repoBlobUrl: p?.repoBlobUrl ?? "",
    lowers: [...(p?.lowers ?? [])],
    upper: { index: layout.writableIndex(id), data: layout.writableData(id) },
    resultFile: layout.resultFile(id),
  };
  if (layer.vsizeGiB > 0) config.upper.vsize = layer.vsizeGiB;
  if (p?.download) config.download = p.download;
  if (p?.accelerationLayer) config.accelerationLayer = true;
  writeDeviceConfigSync(`${tmp}/block/config.v1.json`, config);
}

/** The mode snapshot `id` was prepared with, or undefined when it has no writable layer. */
export function writableModeOf(layout: Layout, id: number): WritableMode | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(layout.rwMode(id)).trim();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  return text === "dev" ? "dev" : "dir";
}

/**
 * Mounts of a writable snapshot (spec §10.4 table): a bind of its mounted
 * filesystem (`dir`), or its loop device as ext4 (`dev`).
 */
export function writableMounts(mode: WritableMode, mountpoint: string, loop: string): MountSpec[] {
  if (mode === "dir") return [{ type: "bind", source: mountpoint, options: ["rw", "rbind"] }];
  return [{ type: "ext4", source: loop, options: ["rw", "discard"] }];
}

/**
 * Seals the detached writable layer of snapshot `id` into
 * `fs/overlaybd.sealed` (spec §2.8, §10.4 Commit) and drops its index file.
 * `rw_mode` stays until the commit is recorded ({@linkcode forgetRwMode}),
 * so a commit that fails afterwards is retried as a writable one. Each step
 * may be repeated after a crash: the seal is idempotent and a layer already
 * moved is left alone.
 *
 * @returns the sealed file's path
 */
export async function sealWritableLayer(layout: Layout, id: number): Promise<string> {
  const sealed = layout.sealed(id);
  if (existsSync(layout.writableData(id))) {
    sealLayer(layout.writableData(id), layout.writableIndex(id));
    await Deno.rename(layout.writableData(id), sealed);
  }
  await Deno.remove(layout.writableIndex(id)).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  return sealed;
}

/** Removes `rw_mode` of a committed snapshot. Synchronous: it runs in the commit's transaction. */
export function forgetRwMode(layout: Layout, id: number): void {
  try {
    Deno.removeSync(layout.rwMode(id));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
