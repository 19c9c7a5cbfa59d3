import type { Command } from "commander";
import { containerdAddress, containerdNamespace, openContainerdClient } from "../containerd/mod.ts";
import { credentialsFor } from "../mount/mod.ts";
import { openRepository, parsePlatform, parseReference } from "../registry/mod.ts";
import { rpull } from "../rpull/mod.ts";

/** `overlaybd rpull`: pull an overlaybd image into containerd, layers lazily. */
export function registerRpull(program: Command): void {
  program.command("rpull")
    .summary("pull an overlaybd image into containerd without downloading its layers")
    .description(
      "Store the manifest and config of IMAGE in containerd and make each layer a remote\n" +
        "snapshot of the overlaybd snapshotter, whose blocks are fetched when a container reads\n" +
        "them. Then: ctr run --snapshotter overlaybd IMAGE ID CMD. The snapshotter reaches the\n" +
        "registry itself: for a plain-HTTP registry list it in mirrorRegistry with insecure true.",
    )
    .argument("<image>", "overlaybd image: REGISTRY/REPO[:TAG|@DIGEST]")
    .option("--plain", "talk plain HTTP to the registry")
    .option("--insecure", "accept any TLS certificate from the registry")
    .option("-u, --user <user:password>", "registry credentials")
    .option("--platform <os/arch>", "platform of a multi-arch image (default linux/amd64)")
    .option("--snapshotter <name>", "proxy snapshotter name in containerd's config", "overlaybd")
    .option("--address <socket>", "containerd socket (env CONTAINERD_ADDRESS)")
    .option("-n, --namespace <ns>", "containerd namespace (env CONTAINERD_NAMESPACE)")
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
