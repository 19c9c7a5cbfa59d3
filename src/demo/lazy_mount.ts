import { NotFoundError, UnavailableError } from "../errors.ts";
import {
  callDaemon,
  daemonStarter,
  forceUnmount,
  readState,
  waitForDaemonExit,
} from "../mount/mod.ts";

/** An image mounted with `overlaybd mount`'s daemon. */
export interface LazyMount {
  /** Where the image's filesystem is. */
  dir: string;
  /** Its blob cache: what is in there was fetched. */
  cacheDir: string;
  /** The loop device it sits on. */
  loopDevice: string;
  /** Unmounts it and lets the daemon exit; idempotent, never throws for "not mounted". */
  unmount(): Promise<void>;
}

/**
 * Mounts `image` (a plain-HTTP registry reference) read-only on `work/mnt`
 * the way `overlaybd mount` does: a mount daemon with its socket, FUSE
 * directory and state in `work/run` and its blob cache in `work/cache`
 * (upstream's defaults otherwise) is started on demand and serves the
 * image's blocks, fetching each from the registry when first read.
 */
export async function mountLazily(work: string, image: string): Promise<LazyMount> {
  const [runDir, cacheDir, dir] = [`${work}/run`, `${work}/cache`, `${work}/mnt`];
  for (const d of [runDir, cacheDir, dir]) await Deno.mkdir(d, { recursive: true });
  const config = `${work}/overlaybd.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      logConfig: { logPath: `${work}/overlaybd.log` },
      cacheConfig: { cacheDir },
      credentialConfig: { path: `${work}/no-credentials.json` },
    }),
  );
  let unmounted: Promise<void> | undefined;
  const unmount = () =>
    unmounted ??= (async () => {
      try {
        await callDaemon(runDir, { op: "umount", dir });
      } catch (err) {
        if (!(err instanceof UnavailableError) && !(err instanceof NotFoundError)) throw err;
        // The daemon is gone: undo what it left, as `overlaybd umount` does.
        const state = await readState(runDir, dir).catch(() => undefined);
        if (state) await forceUnmount(runDir, state);
      }
      // It exits with its last mount (or a failed first one): wait until it let go of FUSE.
      await waitForDaemonExit(runDir);
    })();
  const reply = await callDaemon(
    runDir,
    { op: "mount", source: image, dir, plain: true },
    daemonStarter(runDir, config),
  ).catch(async (err) => {
    await unmount().catch(() => {});
    throw err;
  });
  return { dir, cacheDir, loopDevice: reply.mount?.loopDevice ?? "", unmount };
}
