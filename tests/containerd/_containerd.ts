/**
 * Test fixture: Debian's real `containerd` (1.6) with a private root, state,
 * socket and config in a temporary directory, optionally with proxy
 * snapshotters, torn down afterwards even on failure by
 * {@linkcode PrivateContainerd.close} of `src/containerd/`: tasks killed,
 * shims killed, containerd stopped, processes and cgroups of containers
 * whose task survived killed and removed, mounts under the directory
 * unmounted — then the directory deleted. On failure the end of the
 * containerd log (debug level) is printed.
 *
 * Each fixture has its own namespace (cgroups are named after it), so tests
 * running in parallel never touch each other's containers. Give `ctr run`
 * {@linkcode ContainerdFixture.runFlags} to keep runc's state and the stdio
 * FIFOs inside the directory too.
 *
 * ```ts ignore
 * await withContainerd({ proxySnapshotters: { overlaybd: sock } }, async (ctd) => {
 *   const out = await ctd.ctr(["run", "--rm", ...ctd.runFlags, image, "c1", "true"]);
 *   assert.equal(out.code, 0, out.stderr);
 * });
 * ```
 *
 * @module
 */

import {
  openPrivateContainerd,
  type PrivateContainerd,
  privateContainerdConfig,
} from "../../src/containerd/mod.ts";
import { withTempDir } from "../_helpers.ts";

export type { CtrResult } from "../../src/containerd/mod.ts";

/** Lines of the containerd log printed when a test fails (debug level is chatty). */
const LOG_TAIL_LINES = 300;

/** Options of {@linkcode withContainerd}. */
export interface ContainerdOptions {
  /** Proxy snapshotters to register: name → unix socket of its gRPC server. */
  proxySnapshotters?: Record<string, string>;
  /** Namespace of `ctr()` (default `obd-test-<random>`, new for each fixture). */
  namespace?: string;
  /** More TOML appended to the generated config. */
  extraConfig?: string;
}

/**
 * A running containerd of one test: `dir` (the temporary directory that
 * holds everything), `address`, `namespace`, `runFlags`, `ctr()` (killed
 * after 120 s unless given `timeoutMs`), `log()`.
 */
export type ContainerdFixture = Omit<PrivateContainerd, "close">;

/** The config.toml (version 2) of a fixture in `dir`: containerd logs at debug level. */
export function containerdConfig(dir: string, options: ContainerdOptions = {}): string {
  return privateContainerdConfig(dir, { ...options, logLevel: "debug" });
}

/**
 * Runs `fn` with a private containerd; everything is torn down afterwards,
 * also when `fn` or the start fails (the log is printed then).
 */
export async function withContainerd<T>(
  options: ContainerdOptions,
  fn: (ctd: ContainerdFixture) => Promise<T>,
): Promise<T> {
  return await withTempDir(async (dir) => {
    let ctd: PrivateContainerd | undefined;
    try {
      ctd = await openPrivateContainerd({
        dir,
        proxySnapshotters: options.proxySnapshotters,
        extraConfig: options.extraConfig,
        logLevel: "debug",
        namespace: options.namespace ?? `obd-test-${crypto.randomUUID().slice(0, 8)}`,
      });
      return await fn(ctd);
    } catch (err) {
      const logPath = `${dir}/containerd.log`;
      const log = await Deno.readTextFile(logPath).catch(() => "");
      const tail = log.split("\n").slice(-LOG_TAIL_LINES).join("\n");
      console.error(`--- containerd log, last lines (${logPath}) ---\n${tail}--- end ---`);
      throw err;
    } finally {
      await ctd?.close();
    }
  });
}
