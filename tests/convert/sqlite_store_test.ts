import assert from "node:assert/strict";
import { openConversionStore, SqliteConversionStore } from "../../src/convert/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";
import { checkStore } from "./_store_suite.ts";

Deno.test("SqliteConversionStore lists the destination repository first and keeps rows across opens", async () => {
  await withTempDir(async (tmp) => {
    const path = `${tmp}/x/y/obdconv.db`;
    await checkStore(() => Promise.resolve(new SqliteConversionStore(path)));
  });
});

Deno.test("openConversionStore() throws InvalidArgumentError for mysql without a DSN and for other types", async () => {
  await assert.rejects(openConversionStore({ type: "mysql" }), InvalidArgumentError);
  await assert.rejects(openConversionStore({ type: "mysql", dsn: "x" }), InvalidArgumentError);
  await assert.rejects(openConversionStore({ type: "redis" }), InvalidArgumentError);
});
