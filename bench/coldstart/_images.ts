/**
 * Cold-start benchmark: the images it builds. Each is two layers: a base of
 * Debian's Essential packages (what a `debian` base image holds), then the
 * application's packages and a small workload that prints `READY` once the
 * application has done its start-up work, then exits.
 *
 * @module
 */

/** What the benchmark builds for one image. */
export interface ImageSpec {
  name: string;
  /** Root packages of the application layer; their closure minus the base's. */
  packages: string[];
  /** Keep the `__pycache__` of Python modules (Debian compiles them at install time). */
  pycache: boolean;
  /** Files of the workload, under `/app`. */
  files: Record<string, string>;
  /** The image's `Cmd`. */
  cmd: string[];
  /** What the workload does, for the report. */
  workload: string;
}

/** The line each workload prints when it is ready. */
export const READY = "READY";

const PYTHON_APP = `import argparse, asyncio, csv, dataclasses, datetime, decimal, email.parser
import hashlib, http.server, json, logging, multiprocessing, sqlite3, ssl, subprocess
import tarfile, unittest, urllib.request, uuid, xml.etree.ElementTree, zipfile
db = sqlite3.connect(":memory:")
db.execute("create table t (k text, v text)")
db.execute("insert into t values (?, ?)", ("k", json.dumps({"at": str(datetime.datetime.now())})))
assert hashlib.sha256(db.execute("select v from t").fetchone()[0].encode()).hexdigest()
print("${READY}", flush=True)
`;

const NODE_APP = `const http = require("node:http");
const server = http.createServer((req, res) => res.end(JSON.stringify({ path: req.url })));
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  http.get({ host: "127.0.0.1", port, path: "/health" }, (res) => {
    let body = "";
    res.on("data", (c) => body += c);
    res.on("end", () => {
      if (JSON.parse(body).path !== "/health") process.exit(1);
      console.log("${READY}");
      server.close();
    });
  });
});
`;

const HELLO_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  char *s = strdup("${READY}");
  puts(s);
  free(s);
  return 0;
}
`;

/** Every image the benchmark knows, by name. */
export const IMAGES: Record<string, ImageSpec> = {
  python: {
    name: "python",
    // python3 with what a Python image for building packages carries: pip,
    // venv, headers and the C toolchain (as the official python images do).
    packages: ["python3", "python3-pip", "python3-venv", "python3-dev", "gcc-12", "make"],
    pycache: true,
    files: { "ready.py": PYTHON_APP },
    cmd: ["/usr/bin/python3", "/app/ready.py"],
    workload: "python3 start, imports of 22 stdlib modules, an sqlite query",
  },
  node: {
    name: "node",
    packages: ["nodejs"],
    pycache: true,
    files: { "server.js": NODE_APP },
    cmd: ["/usr/bin/node", "/app/server.js"],
    workload: "node start, an http server answering one request to itself",
  },
  gcc: {
    name: "gcc",
    packages: ["gcc-12", "g++-12", "libc6-dev", "binutils", "make"],
    pycache: false,
    files: { "hello.c": HELLO_C },
    cmd: ["/bin/sh", "-c", "gcc-12 -O2 -o /tmp/hello /app/hello.c && /tmp/hello"],
    workload: "gcc-12 -O2 of hello.c, then running it",
  },
};

/** Environment of every image. */
export const IMAGE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
