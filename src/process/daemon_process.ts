import { FailedPreconditionError } from "../errors.ts";
import { findProgram } from "./find_program.ts";

/** A long-running child: a registry, containerd, the snapshotter. */
export interface DaemonProcess {
  readonly pid: number;
  /** Whether it has exited. */
  exited(): boolean;
  /** Its stderr so far, from the log file. */
  log(): Promise<string>;
  /** SIGKILLs it, with no chance to clean up; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after `graceMs` (default 10 s); resolves once it is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

class Daemon implements DaemonProcess {
  #child: Deno.ChildProcess;
  #logPath: string;
  #gone: Promise<void>;
  #exited = false;
  #stopped?: Promise<void>;

  constructor(child: Deno.ChildProcess, logPath: string, log: Deno.FsFile) {
    this.#child = child;
    this.#logPath = logPath;
    // Chunk by chunk: the log is wanted while the process still runs, and
    // FsFile.writable would hold the bytes back until it closes.
    const drained = (async () => {
      try {
        for await (const chunk of child.stderr) {
          for (let off = 0; off < chunk.length;) off += await log.write(chunk.subarray(off));
        }
      } finally {
        log.close();
      }
    })().catch(() => {});
    this.#gone = child.status.then(() => {
      this.#exited = true;
      return drained;
    });
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

  kill(): Promise<void> {
    this.#signal("SIGKILL");
    return this.#gone;
  }

  stop(graceMs = 10_000): Promise<void> {
    this.#stopped ??= (async () => {
      this.#signal("SIGTERM");
      const timer = setTimeout(() => this.#signal("SIGKILL"), graceMs);
      await this.#gone;
      clearTimeout(timer);
    })();
    return this.#stopped;
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch { /* exited already */ }
  }
}

/**
 * Starts `program ARGS…` in a session of its own (`setsid`), so that a
 * terminal's Ctrl-C reaches only this process, which then stops its
 * children in order; stdout is dropped, stderr appended to `logPath`.
 *
 * @param program a name looked up on `$PATH`, or a path
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
