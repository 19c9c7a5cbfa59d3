/**
 * Test helpers: Debian's real `docker-registry` (distribution 2.8) on
 * 127.0.0.1, with optional htpasswd, token auth and TLS.
 *
 * @module
 */

import { registryConfigLines } from "../../src/demo/registry_server.ts";
import { freePort } from "../../src/process/mod.ts";

/** A running registry; `stop()` is idempotent. */
export interface RegistryServer {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Options of {@linkcode startRegistry}. */
export interface StartRegistryOptions {
  /** Listen on this port (to restart on the same address); default a free one. */
  port?: number;
  /** htpasswd basic auth with one user. */
  basic?: { username: string; password: string };
  /** Token auth against a token server of the test. */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** TLS with these PEM files. */
  tls?: { cert: string; key: string };
}

export { freePort };

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`nothing listens on port ${port}`, { cause: err });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Starts `docker-registry serve` with a config written into `dir` (storage
 * under `dir/storage`, so a restart on the same dir keeps the data) and waits
 * (≤ 10 s) until it listens.
 */
export async function startRegistry(
  dir: string,
  options: StartRegistryOptions = {},
): Promise<RegistryServer> {
  const port = options.port ?? freePort();
  const lines = registryConfigLines(`${dir}/storage`, `127.0.0.1:${port}`);
  if (options.tls) {
    lines.push("  tls:", `    certificate: ${options.tls.cert}`, `    key: ${options.tls.key}`);
  }
  if (options.basic) {
    const out = await new Deno.Command("htpasswd", {
      args: ["-Bbn", options.basic.username, options.basic.password],
      stdout: "piped",
    }).output();
    if (!out.success) throw new Error("htpasswd failed");
    await Deno.writeFile(`${dir}/htpasswd`, out.stdout);
    lines.push("auth:", "  htpasswd:", "    realm: test", `    path: ${dir}/htpasswd`);
  }
  if (options.token) {
    const t = options.token;
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${t.realm}`,
      `    service: ${t.service}`,
      `    issuer: ${t.issuer}`,
      `    rootcertbundle: ${t.rootCertBundle}`,
    );
  }
  const config = `${dir}/registry-${port}.yml`;
  await Deno.writeTextFile(config, lines.join("\n") + "\n");
  const child = new Deno.Command("/usr/bin/docker-registry", {
    args: ["serve", config],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const drained = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void log.push(s) }),
  ).catch(() => {});
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* exited already */ }
    await child.status;
    await drained;
  };
  try {
    await Promise.race([
      waitForPort(port, 10_000),
      child.status.then((s) => {
        throw new Error(`docker-registry exited with ${s.code}: ${log.join("")}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, port, stop };
}

/**
 * Makes a self-signed EC P-256 certificate for 127.0.0.1 with openssl
 * (CA:FALSE, as rustls refuses a CA certificate as a server's own).
 */
export async function makeCert(
  dir: string,
  name: string,
): Promise<{ cert: string; key: string; pem: string }> {
  const cert = `${dir}/${name}.crt`;
  const key = `${dir}/${name}.key`;
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`openssl: ${new TextDecoder().decode(out.stderr)}`);
  return { cert, key, pem: await Deno.readTextFile(cert) };
}
