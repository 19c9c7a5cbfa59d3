import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.ts";
import {
  type FieldLookup,
  parseFilter,
  parseFilters,
  snapshotFields,
} from "../../src/snapshotter/filter.ts";

const chain = "sha256:" + "ab".repeat(32);
const remote = snapshotFields({
  name: "sha256:" + "cd".repeat(32),
  parent: "default/3/sha256:" + "ef".repeat(32),
  kind: "committed",
  labels: {
    "containerd.io/snapshot.ref": chain,
    "containerd.io/snapshot/remote": "remote snapshot",
    "a.b": "dotted",
    plain: "v",
    empty: "",
  },
});
const active = snapshotFields({ name: "c1", parent: "", kind: "active", labels: {} });

function matches(filter: string, lookup: FieldLookup): boolean {
  return parseFilter(filter).match(lookup);
}

Deno.test("parseFilter() matches containerd's remote-snapshot lookup filter", () => {
  const f = `labels."containerd.io/snapshot.ref"==${chain},parent=="default/3/sha256:${
    "ef".repeat(32)
  }"`;
  assert.ok(matches(f, remote));
  assert.ok(!matches(f, active));
  const other = f.replace("ab".repeat(32), "00".repeat(32));
  assert.ok(!matches(other, remote));
  // containerd formats the parent with %q: an empty parent is "".
  const noParent = `labels."containerd.io/snapshot.ref"==${chain},parent==""`;
  assert.ok(!matches(noParent, remote));
  assert.ok(
    matches(
      noParent,
      snapshotFields({
        name: "x",
        parent: "",
        kind: "committed",
        labels: { "containerd.io/snapshot.ref": chain },
      }),
    ),
  );
});

Deno.test("parseFilter() compares name, parent and kind with == and !=", () => {
  assert.ok(matches("kind==committed", remote));
  assert.ok(!matches("kind==active", remote));
  assert.ok(matches("kind!=active", remote));
  assert.ok(matches("name==c1", active));
  assert.throws(() => parseFilter("parent=="), InvalidArgumentError, "an operator needs a value");
});

Deno.test("parseFilter() treats a bare field path as presence", () => {
  assert.ok(matches("labels.plain", remote));
  assert.ok(matches("labels.empty", remote), "a label with an empty value is present");
  assert.ok(!matches("labels.missing", remote));
  assert.ok(!matches("labels.plain", active));
  assert.ok(matches("name", active), "name is always present");
  assert.ok(matches("parent", active), "parent is always present, even empty");
  assert.ok(!matches("nosuchfield", active));
});

Deno.test("parseFilter() joins a dotted label path and accepts a quoted key alike", () => {
  assert.ok(matches("labels.a.b==dotted", remote));
  assert.ok(matches('labels."a.b"==dotted', remote));
  assert.ok(matches("labels./a.b/==dotted", remote), "slashes quote too");
});

Deno.test("parseFilter() combines selectors with , as AND", () => {
  assert.ok(matches("kind==committed,labels.plain==v", remote));
  assert.ok(!matches("kind==committed,labels.plain==w", remote));
  assert.ok(matches(" kind == committed , labels.plain ", remote), "white space between tokens");
});

Deno.test("parseFilters() combines strings with OR and matches everything when empty", () => {
  assert.ok(parseFilters([]).match(active));
  assert.ok(parseFilters([""]).match(active));
  assert.ok(parseFilters(["kind==view", "name==c1"]).match(active));
  assert.ok(!parseFilters(["kind==view", "name==c2"]).match(active));
});

Deno.test("parseFilter() != matches an absent field, == does not", () => {
  assert.ok(matches("labels.missing!=x", remote));
  assert.ok(matches('labels.missing==""', remote) === false);
  assert.ok(matches('labels.empty==""', remote));
});

Deno.test("parseFilter() ~= is an unanchored regular expression, @= a substring", () => {
  assert.ok(matches("name~=^sha256:", remote));
  assert.ok(matches("name~=cdcd", remote));
  assert.ok(!matches("name~=^cd", remote));
  assert.ok(matches("labels.missing~=^$", remote), "an absent field matches as empty");
  assert.ok(matches('name~="^c[0-9]$"', active));
  assert.ok(
    matches(
      "name~=/^c\\/?1$/",
      snapshotFields({ name: "c1", parent: "", kind: "view", labels: {} }),
    ),
  );
  assert.ok(matches("labels.containerd~=x", active) === false);
  assert.ok(matches("parent@=default/3", remote));
});

Deno.test("parseFilter() unquotes Go escapes in quoted values", () => {
  const odd = snapshotFields({
    name: 'a,b "c"\té\\',
    parent: "",
    kind: "view",
    labels: {},
  });
  assert.ok(matches('name=="a,b \\"c\\"\\t\\u00e9\\\\"', odd));
  assert.ok(matches('name=="a,b \\"c\\"\\x09\\U000000e9\\134"', odd));
  assert.ok(matches('name==|a,b "c"\\té\\\\|', odd), 'pipes quote, and " needs no escape there');
});

Deno.test("parseFilter() takes an unquoted value up to the next comma", () => {
  const f = snapshotFields({
    name: "x",
    parent: "default/3/sha256:aa",
    kind: "view",
    labels: { k: "a=b!c.d" },
  });
  assert.ok(matches("parent==default/3/sha256:aa,kind==view", f));
  assert.ok(matches("labels.k==a=b!c.d", f));
});

Deno.test("parseFilter() rejects malformed filters with InvalidArgumentError", () => {
  for (
    const bad of [
      "==x",
      "name=x",
      "name===x",
      "name==",
      'name=="x',
      "name==x,",
      ",name",
      "name..x",
      'name=="\\q"',
      'name=="\\400"',
      "name~=(",
      "name==x y",
      'labels."a\nb"',
    ]
  ) {
    assert.throws(() => parseFilter(bad), InvalidArgumentError, bad);
  }
  assert.throws(() => parseFilters(["kind==view", "name="]), InvalidArgumentError);
});

Deno.test("parseFilter() names the filter and the offset in its error", () => {
  assert.throws(
    () => parseFilter("name=x"),
    /filter "name=x": unsupported operator "=" at offset 4/,
  );
});
