import type { Command } from "commander";
import { containerdAddress, containerdNamespace, openContainerdClient } from "../containerd/mod.ts";
import { AlreadyExistsError, InvalidArgumentError } from "../errors.ts";
import { credentialsFor } from "../mount/mod.ts";
import { overlaybdLayers } from "../oci/mod.ts";
import {
  formatReference,
  openRepository,
  parsePlatform,
  parseReference,
  readBlob,
  type Reference,
  type Repository,
  resolveImage,
} from "../registry/mod.ts";
import { rpull } from "../rpull/mod.ts";
import {
  decodeTrace,
  hasAccelerationLayer,
  parsePrefetchList,
  pushAccelerated,
  recordContainer,
  type SourceImage,
} from "../trace/mod.ts";
import { parseCount } from "./parse.ts";
import { addPullOptions } from "./pull_options.ts";

/** Where upstream's `ctr record-trace` works by default, ours beside it. */
const DEFAULT_WORKING_DIR = "/tmp/overlaybd-record-trace";

interface Flags {
  time: string;
  priorityList?: string;
  workingDir: string;
  netHost?: boolean;
  plain?: boolean;
  insecure?: boolean;
  user?: string;
  platform?: string;
  snapshotter: string;
  address?: string;
  namespace?: string;
}

async function readSource(repo: Repository, ref: Reference, flags: Flags): Promise<SourceImage> {
  const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
  const { manifest } = await resolveImage(repo, ref.digest ?? ref.tag ?? "latest", { platform });
  overlaybdLayers(manifest, formatReference(ref)); // throws for a plain OCI image
  if (hasAccelerationLayer(manifest)) {
    throw new AlreadyExistsError(
      `${formatReference(ref)} has an acceleration layer already; record from the image below it`,
    );
  }
  const config = JSON.parse(new TextDecoder().decode(await readBlob(repo, manifest.config.digest)));
  return { repo, manifest, config };
}

/** Runs SRC in containerd and returns the trace its device recorded. */
async function record(src: SourceImage, ref: Reference, cmd: string[], flags: Flags) {
  const timeSec = parseCount(flags.time, "--time (seconds)");
  if (timeSec < 1) throw new InvalidArgumentError("--time must be at least 1 second");
  const address = containerdAddress(flags.address);
  const namespace = containerdNamespace(flags.namespace);
  const ctd = openContainerdClient({ address, namespace });
  let image: string;
  try {
    const { plan } = await rpull(ctd, src.repo, ref, { snapshotter: flags.snapshotter });
    image = plan.name;
  } finally {
    ctd.close();
  }
  await Deno.mkdir(flags.workingDir, { recursive: true });
  const workDir = await Deno.makeTempDir({ dir: flags.workingDir, prefix: "trace-" });
  try {
    const got = await recordContainer({
      address,
      namespace,
      snapshotter: flags.snapshotter,
      image,
      cmd,
      timeSec,
      workDir,
      netHost: flags.netHost,
      log: (line) => console.error(line),
    });
    const records = decodeTrace(got.trace).length;
    console.error(
      `recorded ${records} reads (${
        got.stopped ? `stopped after ${timeSec} s` : "command exited"
      }` +
        `, exit code ${got.exitCode})`,
    );
    return got.trace;
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

/** `overlaybd record-trace`: record what a container reads and ship it with the image. */
export function registerRecordTrace(program: Command): void {
  addPullOptions(
    program.command("record-trace")
      .summary("record a container's reads and push the image with them as its acceleration layer")
      .description(
        "Pull SRC lazily into containerd (as rpull does), run it through the overlaybd snapshotter\n" +
          "until CMD (default: the image's own) exits or --time seconds pass, recording the image\n" +
          "blocks it reads (spec §8.2). Then push DST: SRC plus a top acceleration layer holding\n" +
          "the trace, which the snapshotter replays on every later start to fetch those blocks\n" +
          "ahead of the container. With --priority-list the file list is packed instead and\n" +
          "nothing runs. The snapshotter must run on this host (the trace is written under\n" +
          "--working-dir) and reach the registry itself (mirrorRegistry, as for rpull).",
      )
      .argument("<src>", "overlaybd image to record: REGISTRY/REPO[:TAG|@DIGEST]")
      .argument("<dst>", "where to push the image with the trace: REGISTRY/REPO[:TAG]")
      .argument("[cmd...]", "command of the container (after --)")
      .option("--time <seconds>", "stop the container after this long", "60")
      .option("--priority-list <file>", "pack this list of paths (spec §8.5) instead of recording")
      .option("--working-dir <dir>", "where the trace is recorded", DEFAULT_WORKING_DIR)
      .option("--net-host", "give the container the host's network (default: none)"),
  )
    .action(async (srcArg: string, dstArg: string, cmd: string[], flags: Flags) => {
      const srcRef = parseReference(srcArg);
      const dstRef = parseReference(dstArg);
      if (dstRef.digest) {
        throw new InvalidArgumentError(`DST ${dstArg} must be a tag, not a digest`);
      }
      if (formatReference(srcRef) === formatReference(dstRef)) {
        throw new InvalidArgumentError(`DST must differ from SRC (${dstArg})`);
      }
      if (flags.priorityList && cmd.length > 0) {
        throw new InvalidArgumentError("--priority-list runs nothing: drop the command");
      }
      const list = flags.priorityList ? await Deno.readFile(flags.priorityList) : undefined;
      if (list && parsePrefetchList(list).length === 0) {
        throw new InvalidArgumentError(`--priority-list ${flags.priorityList} names no paths`);
      }
      const endpoint = {
        plain: flags.plain,
        insecure: flags.insecure,
        credentials: credentialsFor({ user: flags.user }),
      };
      const srcRepo = openRepository(srcRef, endpoint);
      const dstRepo = openRepository(dstRef, endpoint);
      try {
        const source = await readSource(srcRepo, srcRef, flags);
        const trace = list ?? await record(source, srcRef, cmd, flags);
        const tag = dstRef.tag ?? "latest";
        const pushed = await pushAccelerated(source, trace, dstRepo, tag, new Date().toISOString());
        console.error(
          `pushed ${formatReference(dstRef)} (${pushed.manifest.digest}): acceleration layer ` +
            `${pushed.layer.digest}, ${pushed.layer.size} bytes` +
            (pushed.copied ? `; ${pushed.copied} layers copied from SRC` : ""),
        );
      } finally {
        srcRepo.close();
        dstRepo.close();
      }
    });
}
