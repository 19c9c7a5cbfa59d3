import { convertImage } from "../convert/mod.ts";
import { releaseUnder } from "../device/mod.ts";
import { InvalidArgumentError, UnavailableError } from "../errors.ts";
import { type ContainerRun, containerSkipReason, runInContainer } from "./container_run.ts";
import { openInterrupt } from "./interrupt.ts";
import { type LazyRead, readLazily } from "./lazy_read.ts";
import { pushSampleImage } from "./push_image.ts";
import { startLocalRegistry } from "./registry_server.ts";
import { buildSampleImage } from "./sample_image.ts";
import { amount, stepLine, stepper } from "./steps.ts";
import { openTeardown } from "./teardown.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** Where to work (new or empty); a new temporary directory when omitted. Kept when given. */
  workdir?: string;
  /** Keep the temporary directory. */
  keep?: boolean;
  /** Progress lines go here (default stdout). */
  log?: (line: string) => void;
}

/** What the demo made and measured. */
export interface DemoResult {
  /** The sample image in the local registry, and its overlaybd conversion. */
  source: string;
  converted: string;
  /** Bytes of the converted image's layer blobs. */
  imageBytes: number;
  /** The lazy mount; absent when skipped. */
  mount?: LazyRead;
  /** The container run; absent when skipped. */
  container?: ContainerRun;
  /** One line per part that was skipped, saying why. */
  skipped: string[];
}

/** The line of a skipped part. */
const skip = (why: string) => `skipped ${why}`;

/**
 * Makes `dir` unless it exists; an existing one must be empty (state of an
 * earlier run would confuse containerd and the snapshotter).
 */
async function emptyDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for await (const _ of Deno.readDir(dir)) {
    throw new InvalidArgumentError(`--workdir ${dir} is not empty: give a new or empty directory`);
  }
}

/** Removes the work directory, unless something stays mounted in it. */
async function removeWorkdir(work: string): Promise<void> {
  await releaseUnder(work);
  await Deno.remove(work, { recursive: true });
}

/**
 * The demo on built-in defaults, each step one line with its time: builds
 * a sample OCI image (busybox-static, sample files, a 32 MiB data file, a
 * whiteout), pushes it to a local docker-registry, converts it with
 * `obdconv`'s {@linkcode convertImage}, mounts the result lazily and checks
 * its files (as root), and runs it in a container through `overlaybd
 * snapshotter`, a private containerd and `rpull` (as root, with containerd
 * and runc installed). Everything it starts is stopped and removed at the
 * end, on failure and on Ctrl-C too.
 *
 * @throws the first failed check or step (also when a teardown step failed)
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? console.log;
  if (options.workdir) await emptyDir(options.workdir);
  const work = options.workdir ?? await Deno.makeTempDir({ prefix: "overlaybd-demo-" });
  const interrupt = openInterrupt(log);
  const teardown = openTeardown();
  const t0 = performance.now();
  const step = stepper(log, interrupt, t0);
  if (!options.workdir && !options.keep) {
    teardown.defer("work directory", () => removeWorkdir(work));
  }
  const skipped: string[] = [];
  let passed = false;
  try {
    const sample = await step(
      () => buildSampleImage(`${work}/sample`),
      (s) =>
        `built a sample OCI image in ${s.layout}: busybox-static + /etc/os-release; sample ` +
        `files, a ${amount(s.dataFile.size)} data file and a whiteout of ${s.removed} ` +
        `(2 gzip layers, ${amount(s.layers.reduce((n, l) => n + l.descriptor.size, 0))})`,
    );
    const registry = await step(async () => {
      const r = await startLocalRegistry(`${work}/registry`);
      teardown.defer("docker-registry", () => r.stop());
      return r;
    }, (r) => `started docker-registry on ${r.host}`);
    const source = `${registry.host}/demo/sample:oci`;
    const converted = `${registry.host}/demo/sample:obd`;
    await step(() => pushSampleImage(sample, source), (n) => `pushed ${source} (${amount(n)})`);

    const conversion = await step(
      () => convertImage(source, converted, { plain: true, workdir: work }),
      (r) =>
        `converted it with obdconv to ${converted}: ${r.layers.length} layers, ` +
        `${r.layers.map((l) => amount(l.size)).join(" + ")} of ZFile (lz4) blobs, ` +
        `${r.blobsWritten} blobs stored, manifest ${r.manifestDigest.slice(0, 19)}…`,
    );
    const imageBytes = conversion.layers.reduce((n, l) => n + l.size, 0);
    const result: DemoResult = { source, converted, imageBytes, skipped };

    if (Deno.uid() === 0) {
      result.mount = await readLazily(`${work}/mount`, converted, sample, imageBytes, {
        step,
        teardown,
      });
    } else {
      skipped.push(
        await step(() => Promise.resolve("lazy mount: FUSE and loop devices need root"), skip),
      );
    }

    const why = containerSkipReason();
    if (why) {
      skipped.push(await step(() => Promise.resolve(`container run: ${why}`), skip));
    } else {
      result.container = await runInContainer(`${work}/containers`, converted, imageBytes, {
        step,
        teardown,
        signal: interrupt.signal,
      });
    }
    passed = true;
    return result;
  } finally {
    const started = performance.now();
    const failures = await teardown.run();
    interrupt.close();
    const text = failures.length
      ? `teardown failed: ${failures.join("; ")}`
      : "stopped and removed everything it started";
    log(stepLine(t0, started, performance.now(), text));
    if (passed && failures.length) {
      // deno-lint-ignore no-unsafe-finally -- a leak must fail a demo whose checks passed
      throw new UnavailableError(`teardown failed: ${failures.join("; ")}`);
    }
    if (passed) log(`demo passed${skipped.length ? ` (${skipped.length} parts skipped)` : ""}`);
  }
}
