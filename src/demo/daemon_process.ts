import { FailedPreconditionError } from "../errors.ts";

/** A long-running child (registry, containerd, snapshotter) of the demo. */
export interface DaemonProcess {
  readonly pid: number;
  /** Whether it has exited. */
  exited(): boolean;
  /** Its stderr so far, from the log file. */
  log(): Promise<string>;
  /** SIGTERM, SIGKILL after `graceMs` (default 10 s); resolves once it is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** The absolute path of `name` on `$PATH`, or undefined when it is not installed. */
export function findProgram(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && (info.mode ?? 0) & 0o111) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

class Daemon implements DaemonProcess {
  #child: Deno.ChildProcess;
  #logPath: string;
  #drained: Promise<void>;
  #exited = false;
  #stopped?: Promise<void>;

  constructor(child: Deno.ChildProcess, logPath: string, log: Deno.FsFile) {
    this.#child = child;
    this.#logPath = logPath;
    child.status.then(() => this.#exited = true);
    // Chunk by chunk: the log is wanted while the process still runs.
    this.#drained = (async () => {
      try {
        for await (const chunk of child.stderr) {
          for (let off = 0; off < chunk.length;) off += await log.write(chunk.subarray(off));
        }
      } finally {
        log.close();
      }
    })().catch(() => {});
  }

  get pid(): number {
    return this.#child.pid;
  }

  exited(): boolean {
    return this.#exited;
  }

  log(): Promise<string> {
    return Deno.readTextFile(this.#logPath).catch(() => "");
  }

  stop(graceMs = 10_000): Promise<void> {
    this.#stopped ??= (async () => {
      const signal = (s: Deno.Signal) => {
        try {
          this.#child.kill(s);
        } catch { /* exited already */ }
      };
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await this.#child.status;
      clearTimeout(timer);
      await this.#drained;
    })();
    return this.#stopped;
  }
}

/**
 * Starts `program ARGS…` in a session of its own (`setsid`), so that the
 * terminal's Ctrl-C reaches only the demo, which then stops its children in
 * order; stdout is dropped, stderr appended to `logPath`.
 *
 * @throws {FailedPreconditionError} when `program` is not installed
 */
export async function spawnDaemon(
  program: string,
  args: string[],
  logPath: string,
): Promise<DaemonProcess> {
  const path = program.includes("/") ? program : findProgram(program);
  if (!path) {
    throw new FailedPreconditionError(`${program} is not installed: run scripts/setup.sh`);
  }
  const log = await Deno.open(logPath, { append: true, create: true, write: true });
  try {
    const child = new Deno.Command("setsid", {
      args: [path, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    return new Daemon(child, logPath, log);
  } catch (err) {
    log.close();
    throw err;
  }
}
