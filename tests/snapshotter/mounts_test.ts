import assert from "node:assert/strict";
import { overlayMounts } from "../../src/snapshotter/mounts.ts";

const base = { upper: "/s/3/fs", work: "/s/3/work", indexOff: true };

Deno.test("overlayMounts() binds the own directory when there is no parent", () => {
  assert.deepEqual(overlayMounts({ ...base, kind: "active", lowers: [] }), [
    { type: "bind", source: "/s/3/fs", options: ["rw", "rbind"] },
  ]);
  assert.deepEqual(overlayMounts({ ...base, kind: "view", lowers: [] }), [
    { type: "bind", source: "/s/3/fs", options: ["ro", "rbind"] },
  ]);
});

Deno.test("overlayMounts() gives an active snapshot an overlay with its upper and work dirs", () => {
  assert.deepEqual(overlayMounts({ ...base, kind: "active", lowers: ["/s/2/fs", "/s/1/fs"] }), [{
    type: "overlay",
    source: "overlay",
    options: ["index=off", "workdir=/s/3/work", "upperdir=/s/3/fs", "lowerdir=/s/2/fs:/s/1/fs"],
  }]);
  assert.deepEqual(
    overlayMounts({ ...base, indexOff: false, kind: "active", lowers: ["/s/1/fs"] })[0].options,
    ["workdir=/s/3/work", "upperdir=/s/3/fs", "lowerdir=/s/1/fs"],
  );
});

Deno.test("overlayMounts() gives a view a read-only bind of one parent, else a lower-only overlay", () => {
  assert.deepEqual(overlayMounts({ ...base, kind: "view", lowers: ["/s/1/fs"] }), [
    { type: "bind", source: "/s/1/fs", options: ["ro", "rbind"] },
  ]);
  assert.deepEqual(overlayMounts({ ...base, kind: "view", lowers: ["/s/2/fs", "/s/1/fs"] }), [
    { type: "overlay", source: "overlay", options: ["index=off", "lowerdir=/s/2/fs:/s/1/fs"] },
  ]);
});
