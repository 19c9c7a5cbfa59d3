import assert from "node:assert/strict";
import { openConversionStore, parseMysqlDsn } from "../../src/convert/mod.ts";
import { InvalidArgumentError, UnavailableError } from "../../src/errors.ts";
import { runCli, withTempDir } from "../_helpers.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import { freePort, startRegistry } from "../registry/_registry.ts";
import { openRepository } from "../../src/registry/mod.ts";
import { hasMariadb, startMariadb } from "./_mariadb.ts";
import { checkStore } from "./_store_suite.ts";

const mariadb = await hasMariadb();

Deno.test("parseMysqlDsn() reads Go's DSN form and URLs, and rejects the rest", () => {
  assert.deepEqual(parseMysqlDsn("u:p@tcp(db.example:3307)/conv?parseTime=true"), {
    user: "u",
    password: "p",
    host: "db.example",
    port: 3307,
    database: "conv",
  });
  assert.deepEqual(parseMysqlDsn("u@tcp(10.0.0.1)/conv").port, 3306);
  assert.deepEqual(parseMysqlDsn("mysql://u:p%40ss@h:1/d").password, "p@ss");
  for (const bad of ["", "u:p@h:1/d", "u:p@tcp(h:1)", "mysql://h"]) {
    assert.throws(() => parseMysqlDsn(bad), InvalidArgumentError, bad);
  }
});

Deno.test("openConversionStore() of an unreachable MySQL fails with UnavailableError", async () => {
  await assert.rejects(
    openConversionStore({ type: "mysql", dsn: `u:p@tcp(127.0.0.1:${freePort()})/conv` }),
    UnavailableError,
  );
});

Deno.test({
  name: "the MySQL store behaves as the SQLite one against a real MariaDB",
  ignore: !mariadb,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const server = await startMariadb(tmp);
      try {
        await checkStore(() => openConversionStore({ type: "mysql", dsn: server.dsn }));
      } finally {
        await server.stop();
      }
    });
  },
});

Deno.test({
  name: "overlaybd obdconv --db-type mysql reuses every layer the second time",
  ignore: !mariadb,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const server = await startMariadb(tmp);
      const registry = await startRegistry(tmp);
      try {
        const repo = openRepository(`${registry.host}/hello-world`, { plain: true });
        try {
          await pushLayout(repo, HELLO_LAYOUT);
        } finally {
          repo.close();
        }
        const conv = (tag: string) =>
          runCli([
            "obdconv",
            "--plain",
            "--db-type",
            "mysql",
            "--db-str",
            server.dsn,
            `${registry.host}/hello-world:amd64`,
            `${registry.host}/hello-world:${tag}`,
          ]);
        const one = await conv("obd");
        assert.equal(one.code, 0, one.stderr);
        assert.doesNotMatch(one.stderr, /reused/);
        const two = await conv("obd2");
        assert.equal(two.code, 0, two.stderr);
        assert.match(two.stderr, /^layer 1\/1 sha256:[0-9a-f]{64}: reused sha256:[0-9a-f]{64}/m);
        assert.equal(new TextDecoder().decode(two.stdout), new TextDecoder().decode(one.stdout));
      } finally {
        await registry.stop();
        await server.stop();
      }
    });
  },
});
