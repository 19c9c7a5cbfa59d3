import assert from "node:assert/strict";
import { copy, createSink, openFile } from "../../ffi/file.ts";
import { NotFoundError } from "../../src/errors.ts";
import { randomBytes, withTempDir } from "../_helpers.ts";

Deno.test("openFile() throws NotFoundError naming a missing path", () => {
  assert.throws(() => openFile("/nonexistent/x"), (e: Error) => {
    assert.ok(e instanceof NotFoundError);
    assert.match(e.message, /\/nonexistent\/x/);
    return true;
  });
});

Deno.test("copy() moves every byte from a file into a sink", async () => {
  await withTempDir(async (dir) => {
    const data = randomBytes(3 << 20 | 123, 4);
    await Deno.writeFile(`${dir}/in`, data);
    const input = openFile(`${dir}/in`);
    const out = createSink(`${dir}/out`);
    copy(input, out);
    out.close();
    input.close();
    input.close(); // closing twice is fine
    assert.deepEqual(await Deno.readFile(`${dir}/out`), data);
  });
});

Deno.test("NativeFile.pread() returns a short count at the end", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, randomBytes(1000, 2));
    const f = openFile(`${dir}/f`);
    try {
      assert.equal(f.size, 1000);
      assert.equal(f.pread(new Uint8Array(512), 900), 100);
      assert.equal(f.pread(new Uint8Array(512), 2000), 0);
    } finally {
      f.close();
    }
  });
});

Deno.test("a closed handle cannot be used", () => {
  const f = openFile(new URL(import.meta.url).pathname);
  f.close();
  assert.throws(() => f.pread(new Uint8Array(1), 0), TypeError);
});
