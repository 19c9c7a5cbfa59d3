import type { Command } from "commander";

/**
 * The flags of commands that pull an image into containerd (`rpull`,
 * `record-trace`): how to reach the registry, and containerd's socket and
 * namespace the way `ctr` takes them.
 */
export function addPullOptions(command: Command): Command {
  return command
    .option("--plain", "talk plain HTTP to the registry")
    .option("--insecure", "accept any TLS certificate from the registry")
    .option("-u, --user <user:password>", "registry credentials")
    .option("--platform <os/arch>", "platform of a multi-arch image (default linux/amd64)")
    .option("--snapshotter <name>", "proxy snapshotter name in containerd's config", "overlaybd")
    .option("--address <socket>", "containerd socket (env CONTAINERD_ADDRESS)")
    .option("-n, --namespace <ns>", "containerd namespace (env CONTAINERD_NAMESPACE)");
}
