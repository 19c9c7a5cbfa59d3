/**
 * Where containerd listens and which namespace to use, decided the way `ctr`
 * decides: the flag, else the environment, else containerd's default.
 *
 * @module
 */

/** containerd's socket when nothing else is said. */
export const DEFAULT_CONTAINERD_ADDRESS = "/run/containerd/containerd.sock";

/** The namespace `ctr` uses when nothing else is said. */
export const DEFAULT_CONTAINERD_NAMESPACE = "default";

/**
 * The containerd socket path: `flag`, else `$CONTAINERD_ADDRESS`, else
 * {@linkcode DEFAULT_CONTAINERD_ADDRESS}. A `unix://` prefix is dropped.
 *
 * @param flag the value of `--address`, if given
 * @returns a socket path
 *
 * @example Flag first
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(containerdAddress("unix:///tmp/c.sock"), "/tmp/c.sock");
 * ```
 */
export function containerdAddress(flag?: string): string {
  const value = flag || Deno.env.get("CONTAINERD_ADDRESS") || DEFAULT_CONTAINERD_ADDRESS;
  return value.startsWith("unix://") ? value.slice("unix://".length) : value;
}

/**
 * The containerd namespace: `flag`, else `$CONTAINERD_NAMESPACE`, else
 * {@linkcode DEFAULT_CONTAINERD_NAMESPACE}.
 *
 * @param flag the value of `--namespace`, if given
 * @returns a namespace name
 *
 * @example Flag first
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(containerdNamespace("k8s.io"), "k8s.io");
 * ```
 */
export function containerdNamespace(flag?: string): string {
  return flag || Deno.env.get("CONTAINERD_NAMESPACE") || DEFAULT_CONTAINERD_NAMESPACE;
}
