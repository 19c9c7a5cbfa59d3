import assert from "node:assert/strict";
import { openInterrupt } from "../../src/demo/interrupt.ts";
import { amount, stepLine, stepper } from "../../src/demo/steps.ts";

Deno.test("stepLine() shows the time since the start and the step's own, aligned", () => {
  assert.equal(stepLine(0, 1000, 3500, "built"), "[  3.50s +2.50s] built");
  assert.equal(stepLine(0, 0, 123_450, "ran"), "[123.45s +123.45s] ran");
});

Deno.test("amount() writes kB below a megabyte and MB above", () => {
  assert.equal(amount(1400), "1.4 kB");
  assert.equal(amount(35_400_000), "35.4 MB");
});

Deno.test("stepper() prints one line per step that succeeded and passes failures on", async () => {
  const lines: string[] = [];
  const interrupt = openInterrupt((l) => lines.push(l));
  try {
    const step = stepper((l) => lines.push(l), interrupt);
    assert.equal(await step(() => Promise.resolve(42), (n) => `got ${n}`), 42);
    await assert.rejects(
      step(() => Promise.reject(new RangeError("no")), () => "never"),
      RangeError,
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^\[ *\d+\.\d\ds \+\d+\.\d\ds\] got 42$/);
  } finally {
    interrupt.close();
  }
});
