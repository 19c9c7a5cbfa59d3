import assert from "node:assert/strict";
import { UnauthenticatedError, UnavailableError } from "../../src/errors.ts";
import {
  openRepository,
  pushBlob,
  readBlobRange,
  type RepositoryOptions,
  staticCredentials,
} from "../../src/registry/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { blobPath, HELLO_LAYOUT, OBD_LAYER } from "./_layout.ts";
import { makeCert, startRegistry, type StartRegistryOptions } from "./_registry.ts";
import { startFaultProxy } from "./_fault_proxy.ts";
import { startTokenServer, type TokenServerOptions } from "./_token_server.ts";

const LAYER = await Deno.readFile(blobPath(HELLO_LAYOUT, OBD_LAYER));
const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50, idleTimeoutMs: 2_000 };
const USER = "obd";
const PASS = "s3cret:with-colon";

/** Runs `fn` against a fresh registry that holds the overlaybd layer blob. */
async function withRegistry(
  options: StartRegistryOptions & { tokens?: TokenServerOptions },
  client: RepositoryOptions,
  fn: (host: string, dir: string) => Promise<void>,
) {
  await withTempDir(async (dir) => {
    const tokens = options.tokens ? await startTokenServer(dir, options.tokens) : undefined;
    const reg = await startRegistry(dir, { ...options, ...(tokens ? { token: tokens } : {}) });
    try {
      const seed = openRepository(`${reg.host}/hello`, { retry: FAST_RETRY, ...client });
      try {
        await pushBlob(seed, LAYER, { digest: OBD_LAYER });
      } finally {
        seed.close();
      }
      await fn(reg.host, dir);
    } finally {
      await reg.stop();
      await tokens?.close();
    }
  });
}

async function readSome(host: string, options: RepositoryOptions) {
  const repo = openRepository(`${host}/hello`, { retry: FAST_RETRY, ...options });
  try {
    return await readBlobRange(repo, OBD_LAYER, 512, 1024);
  } finally {
    repo.close();
  }
}

Deno.test("openRepository() authenticates with htpasswd Basic auth", async () => {
  const creds = staticCredentials(`${USER}:${PASS}`);
  await withRegistry(
    { basic: { username: USER, password: PASS } },
    { plain: true, credentials: creds },
    async (host) => {
      assert.deepEqual(
        await readSome(host, { plain: true, credentials: creds }),
        LAYER.subarray(512, 1536),
      );
      await assert.rejects(
        readSome(host, { plain: true, credentials: staticCredentials(`${USER}:wrong`) }),
        (err) =>
          err instanceof UnauthenticatedError && err.message.includes(host) &&
          err.message.includes(`user ${USER}`),
      );
      await assert.rejects(
        readSome(host, { plain: true }),
        (err) => err instanceof UnauthenticatedError && /requires credentials/.test(err.message),
      );
    },
  );
});

Deno.test("openRepository() gets bearer tokens from the registry's token server", async () => {
  const creds = staticCredentials(`${USER}:${PASS}`);
  await withRegistry(
    { tokens: { users: { [USER]: PASS }, accessTokenField: true } },
    { plain: true, credentials: creds },
    async (host) => {
      assert.deepEqual(
        await readSome(host, { plain: true, credentials: creds }),
        LAYER.subarray(512, 1536),
      );
      await assert.rejects(
        readSome(host, { plain: true, credentials: staticCredentials(`${USER}:nope`) }),
        (err) =>
          err instanceof UnauthenticatedError && /token server .* rejected/.test(err.message) &&
          err.message.includes(host),
      );
      await assert.rejects(readSome(host, { plain: true }), UnauthenticatedError);
    },
  );
});

Deno.test("readBlobRange() renews a token that expires in the middle of a series of reads", async () => {
  // The token server says the token lasts 300 s but the registry stops taking it
  // after 2 s: the client only learns from the 401 in the middle of the reads.
  await withTempDir(async (dir) => {
    const tokens = await startTokenServer(dir, { lifetimeS: 2, advertisedS: 300 });
    const reg = await startRegistry(dir, { token: tokens });
    const repo = openRepository(`${reg.host}/hello`, { plain: true, retry: FAST_RETRY });
    try {
      await pushBlob(repo, LAYER, { digest: OBD_LAYER });
      const before = tokens.issued;
      const t0 = performance.now();
      let reads = 0;
      while (performance.now() - t0 < 4_500) {
        // Four reads at once, so several meet the expired token together.
        await Promise.all([0, 1, 2, 3].map(async () => {
          const off = (reads++ * 7919) % (LAYER.length - 4096);
          const got = await readBlobRange(repo, OBD_LAYER, off, 4096);
          assert.deepEqual(got, LAYER.subarray(off, off + 4096));
        }));
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(tokens.issued - before >= 2, `issued ${tokens.issued - before} tokens`);
      console.log(`${reads} reads over 4.5 s, ${tokens.issued - before} tokens (2 s lifetime)`);
    } finally {
      repo.close();
      await reg.stop();
      await tokens.close();
    }
  });
});

Deno.test("readBlobRange() renews a token before its expires_in runs out", async () => {
  await withTempDir(async (dir) => {
    const tokens = await startTokenServer(dir, { lifetimeS: 2 });
    const reg = await startRegistry(dir, { token: tokens });
    const repo = openRepository(`${reg.host}/hello`, { plain: true, retry: FAST_RETRY });
    try {
      await pushBlob(repo, LAYER, { digest: OBD_LAYER });
      const reader = openRepository(`${reg.host}/hello`, { plain: true, retry: FAST_RETRY });
      const before = tokens.issued;
      try {
        await readBlobRange(reader, OBD_LAYER, 0, 10);
        await readBlobRange(reader, OBD_LAYER, 10, 10);
        assert.equal(tokens.issued - before, 1);
        await new Promise((r) => setTimeout(r, 1_200));
        await readBlobRange(reader, OBD_LAYER, 0, 10);
        assert.equal(tokens.issued - before, 2);
      } finally {
        reader.close();
      }
    } finally {
      repo.close();
      await reg.stop();
      await tokens.close();
    }
  });
});

Deno.test("openRepository() speaks TLS to a self-signed registry with its CA or insecure", async () => {
  await withTempDir(async (dir) => {
    const tls = await makeCert(dir, "registry");
    const reg = await startRegistry(dir, { tls });
    try {
      const seed = openRepository(`${reg.host}/hello`, { caCerts: [tls.pem] });
      try {
        await pushBlob(seed, LAYER, { digest: OBD_LAYER });
      } finally {
        seed.close();
      }
      const want = LAYER.subarray(512, 1536);
      assert.deepEqual(await readSome(reg.host, { caCerts: [tls.pem] }), want);
      assert.deepEqual(await readSome(reg.host, { insecure: true }), want);
      // The unverified client also aborts a stalled TLS stream and retries.
      const proxy = startFaultProxy(reg.port);
      try {
        proxy.arm({ kind: "stall", match: "", afterBytes: 8_000 });
        const repo = openRepository(`${proxy.host}/hello`, {
          insecure: true,
          retry: { ...FAST_RETRY, idleTimeoutMs: 300 },
        });
        try {
          assert.deepEqual(
            await readBlobRange(repo, OBD_LAYER, 0, 100_000),
            LAYER.subarray(0, 100_000),
          );
        } finally {
          repo.close();
        }
        assert.equal(proxy.fired, 1);
      } finally {
        await proxy.close();
      }
      await assert.rejects(
        readSome(reg.host, { retry: { ...FAST_RETRY, attempts: 1 } }),
        (err) => err instanceof UnavailableError && /certificate/i.test(err.message),
      );
    } finally {
      await reg.stop();
    }
  });
});
