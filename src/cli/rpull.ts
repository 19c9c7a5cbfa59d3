import type { Command } from "commander";
import { containerdAddress, containerdNamespace, openContainerdClient } from "../containerd/mod.ts";
import { credentialsFor } from "../mount/mod.ts";
import { openRepository, parsePlatform, parseReference } from "../registry/mod.ts";
import { rpull } from "../rpull/mod.ts";
import { addPullOptions } from "./pull_options.ts";

/** `overlaybd rpull`: pull an overlaybd image into containerd, layers lazily. */
export function registerRpull(program: Command): void {
  addPullOptions(
    program.command("rpull")
      .summary("pull an overlaybd image into containerd without downloading its layers")
      .description(
        "Store the manifest and config of IMAGE in containerd and make each layer a remote\n" +
          "snapshot of the overlaybd snapshotter, whose blocks are fetched when a container reads\n" +
          "them. Then: ctr run --snapshotter overlaybd IMAGE ID CMD. The snapshotter reaches the\n" +
          "registry itself: for a plain-HTTP registry list it in mirrorRegistry with insecure true.",
      )
      .argument("<image>", "overlaybd image: REGISTRY/REPO[:TAG|@DIGEST]"),
  )
    .action(async (image: string, opts) => {
      const reference = parseReference(image);
      const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
      const repo = openRepository(reference, {
        plain: opts.plain,
        insecure: opts.insecure,
        credentials: credentialsFor({ user: opts.user }),
      });
      const ctd = openContainerdClient({
        address: containerdAddress(opts.address),
        namespace: containerdNamespace(opts.namespace),
      });
      const start = performance.now();
      try {
        const { plan, bytesFetched } = await rpull(ctd, repo, reference, {
          snapshotter: opts.snapshotter,
          platform,
          log: (line) => console.error(line),
        });
        const ms = (performance.now() - start).toFixed(0);
        console.error(
          `pulled ${plan.name} in ${ms} ms: ${plan.layers.length} layers as remote snapshots, ` +
            `${bytesFetched} bytes of manifest and config`,
        );
      } finally {
        ctd.close();
        repo.close();
      }
    });
}
