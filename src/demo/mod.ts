/**
 * The demo that `overlaybd demo` and the README's first command run: the
 * project's main job end to end on built-in defaults — build a sample OCI
 * image, serve it from a local docker-registry, convert it with `obdconv`,
 * mount it lazily and read it, then run it in a container through
 * `overlaybd snapshotter`, a private containerd and `rpull` — with
 * everything it starts torn down at the end, on failure and on Ctrl-C too.
 *
 * ```ts ignore
 * const result = await runDemo({ log: console.log });
 * console.log(result.mount?.fetched, "of", result.imageBytes, "bytes fetched");
 * ```
 *
 * Its parts serve tests and benchmarks too: {@linkcode registryConfigLines}
 * and {@linkcode runTool}.
 *
 * @module
 */

export { type DemoOptions, type DemoResult, runDemo } from "./demo.ts";
export type { ContainerRun } from "./container_run.ts";
export { buildSampleImage, type SampleImage } from "./sample_image.ts";
export { DATA_PATH, OS_RELEASE_LINE, REMOVED_PATH } from "./sample_layers.ts";
export { type LocalRegistry, registryConfigLines, startLocalRegistry } from "./registry_server.ts";
export { runTool } from "./run_tool.ts";
