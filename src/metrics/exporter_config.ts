/**
 * The `exporterConfig` section of upstream's configs (spec §6, §10.1).
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";

/** Upstream's Prometheus exporter settings, with upstream's key names. */
export interface ExporterConfig {
  /** Serve metrics at all. */
  enable: boolean;
  /** Path of the metrics page. */
  uriPrefix: string;
  /** TCP port. */
  port: number;
}

/** Upstream's defaults: off, `/metrics`, port 9863. */
export const DEFAULT_EXPORTER_CONFIG: Readonly<ExporterConfig> = Object.freeze({
  enable: false,
  uriPrefix: "/metrics",
  port: 9863,
});

/**
 * Fills missing keys with {@linkcode DEFAULT_EXPORTER_CONFIG} and checks the rest.
 *
 * @param config keys as read from a config file
 * @returns a complete config
 * @throws {InvalidArgumentError} when `uriPrefix` is not an absolute path or
 *   `port` is not an integer in 0–65535 (0 picks a free port)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveExporterConfig } from "./exporter_config.ts";
 * assert.deepEqual(resolveExporterConfig({ enable: true }), {
 *   enable: true,
 *   uriPrefix: "/metrics",
 *   port: 9863,
 * });
 * ```
 */
export function resolveExporterConfig(config: Partial<ExporterConfig> = {}): ExporterConfig {
  const d = DEFAULT_EXPORTER_CONFIG;
  const resolved = {
    enable: config.enable ?? d.enable,
    uriPrefix: config.uriPrefix ?? d.uriPrefix,
    port: config.port ?? d.port,
  };
  const { uriPrefix, port } = resolved;
  if (!uriPrefix.startsWith("/") || uriPrefix === "/healthz") {
    throw new InvalidArgumentError(
      `exporterConfig.uriPrefix must be an absolute path other than /healthz, got ${
        JSON.stringify(uriPrefix)
      }`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(
      `exporterConfig.port must be an integer in 0-65535, got ${port}`,
    );
  }
  return resolved;
}
