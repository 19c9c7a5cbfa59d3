import type { MountSpec } from "./snapshotter.ts";

/** Whether overlayfs has an `index` feature, which then must be turned off (containerd does). */
export function overlayHasIndex(): boolean {
  try {
    Deno.statSync("/sys/module/overlay/parameters/index");
    return true;
  } catch {
    return false;
  }
}

/** What the mounts of an active or view snapshot are made of. */
export interface MountPlan {
  kind: "active" | "view";
  /** The snapshot's own upper directory and overlay work directory. */
  upper: string;
  work: string;
  /** Lower directories, nearest parent first; empty for none. */
  lowers: string[];
  /** Add `index=off` to overlay mounts. */
  indexOff: boolean;
}

/**
 * The mounts containerd's overlayfs snapshotter returns: no parent → bind
 * of the own directory (`rw` or `ro`); a view of one parent → read-only
 * bind of it; otherwise an overlay (`index=off` when the kernel has the
 * feature; `workdir` and `upperdir` for active snapshots; `lowerdir`
 * nearest first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const m = overlayMounts({ kind: "view", upper: "/s/2/fs", work: "/s/2/work", lowers: ["/s/1/fs"], indexOff: true });
 * assert.deepEqual(m, [{ type: "bind", source: "/s/1/fs", options: ["ro", "rbind"] }]);
 * ```
 */
export function overlayMounts(plan: MountPlan): MountSpec[] {
  const ro = plan.kind === "view" ? "ro" : "rw";
  if (plan.lowers.length === 0) {
    return [{ type: "bind", source: plan.upper, options: [ro, "rbind"] }];
  }
  if (plan.kind === "view" && plan.lowers.length === 1) {
    return [{ type: "bind", source: plan.lowers[0], options: ["ro", "rbind"] }];
  }
  const options = plan.indexOff ? ["index=off"] : [];
  if (plan.kind === "active") options.push(`workdir=${plan.work}`, `upperdir=${plan.upper}`);
  options.push(`lowerdir=${plan.lowers.join(":")}`);
  return [{ type: "overlay", source: "overlay", options }];
}
