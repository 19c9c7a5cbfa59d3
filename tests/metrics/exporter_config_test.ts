import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.ts";
import { DEFAULT_EXPORTER_CONFIG, resolveExporterConfig } from "../../src/metrics/mod.ts";

Deno.test("resolveExporterConfig() takes upstream's defaults for missing keys", () => {
  assert.deepEqual(resolveExporterConfig(), { enable: false, uriPrefix: "/metrics", port: 9863 });
  assert.deepEqual(resolveExporterConfig({ uriPrefix: undefined, port: 9100 }), {
    ...DEFAULT_EXPORTER_CONFIG,
    port: 9100,
  });
});

Deno.test("resolveExporterConfig() rejects a relative uriPrefix and a bad port", () => {
  assert.throws(() => resolveExporterConfig({ uriPrefix: "metrics" }), InvalidArgumentError);
  assert.throws(() => resolveExporterConfig({ uriPrefix: "/healthz" }), InvalidArgumentError);
  assert.throws(() => resolveExporterConfig({ port: 70000 }), InvalidArgumentError);
  assert.throws(() => resolveExporterConfig({ port: 1.5 }), InvalidArgumentError);
});
