import assert from "node:assert/strict";
import {
  containerdAddress,
  containerdNamespace,
  DEFAULT_CONTAINERD_ADDRESS,
  DEFAULT_CONTAINERD_NAMESPACE,
} from "../../src/containerd/mod.ts";

/** Runs `fn` with environment variables set (undefined: unset), restored afterwards. */
function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      x === undefined ? Deno.env.delete(k) : Deno.env.set(k, x);
    }
  };
  apply(vars);
  try {
    fn();
  } finally {
    apply(saved);
  }
}

Deno.test("containerdAddress() takes the flag, else CONTAINERD_ADDRESS, else the default", () => {
  withEnv({ CONTAINERD_ADDRESS: undefined }, () => {
    assert.equal(containerdAddress(), DEFAULT_CONTAINERD_ADDRESS);
    assert.equal(DEFAULT_CONTAINERD_ADDRESS, "/run/containerd/containerd.sock");
    assert.equal(containerdAddress("/tmp/a.sock"), "/tmp/a.sock");
  });
  withEnv({ CONTAINERD_ADDRESS: "/tmp/env.sock" }, () => {
    assert.equal(containerdAddress(), "/tmp/env.sock");
    assert.equal(containerdAddress("/tmp/flag.sock"), "/tmp/flag.sock");
    assert.equal(containerdAddress(""), "/tmp/env.sock", "an empty flag counts as none");
  });
});

Deno.test("containerdAddress() drops a unix:// prefix", () => {
  assert.equal(containerdAddress("unix:///run/c.sock"), "/run/c.sock");
});

Deno.test("containerdNamespace() takes the flag, else CONTAINERD_NAMESPACE, else default", () => {
  withEnv({ CONTAINERD_NAMESPACE: undefined }, () => {
    assert.equal(containerdNamespace(), DEFAULT_CONTAINERD_NAMESPACE);
    assert.equal(DEFAULT_CONTAINERD_NAMESPACE, "default");
    assert.equal(containerdNamespace("k8s.io"), "k8s.io");
  });
  withEnv({ CONTAINERD_NAMESPACE: "moby" }, () => {
    assert.equal(containerdNamespace(), "moby");
    assert.equal(containerdNamespace("k8s.io"), "k8s.io");
  });
});
