/**
 * `native/src/frontend_fuse.h`: one FUSE mount whose files are images, served
 * by native threads that never call into JavaScript.
 *
 * `remove` waits for requests in flight and `stop` joins the session's
 * threads, so both are declared `nonblocking: true` and return promises: the
 * JS thread stays free while the kernel finishes what it asked. Their native
 * detail stays on the worker thread, so their errors carry the context and
 * the code's name instead.
 *
 * @module
 */

import { check } from "./errors.ts";
import { Handle } from "./handle.ts";
import type { Image } from "./image.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";

const lib = lazyLibrary({
  /** Copies the mountpoint; the handle it returns is freed only by obdfuse_stop. */
  obdfuse_start: { parameters: ["buffer", "buffer"], result: "i32" },
  /** Copies the name; borrows the image until obdfuse_remove or obdfuse_stop returns. */
  obdfuse_add: { parameters: ["pointer", "buffer", "pointer", "i32"], result: "i32" },
  /** Waits until no request uses the file's image: nonblocking. */
  obdfuse_remove: { parameters: ["pointer", "buffer"], result: "i32", nonblocking: true },
  /** Unmounts, joins the session's threads and frees the handle: nonblocking. */
  obdfuse_stop: { parameters: ["pointer"], result: "i32", nonblocking: true },
});

/** Options of {@linkcode FuseFrontend.add}. */
export interface AddOptions {
  /** Mode 0644 and writes reach the image's writable layer; else 0444. */
  writable?: boolean;
}

/** A running FUSE session: the directory `mountpoint` with one file per added image. */
export class FuseFrontend {
  readonly #handle: Handle;
  #stopped?: Promise<void>;
  /** The directory the filesystem is mounted on. */
  readonly mountpoint: string;

  private constructor(ptr: Deno.PointerObject, mountpoint: string) {
    this.#handle = new Handle(ptr, `fuse frontend on ${mountpoint}`);
    this.mountpoint = mountpoint;
  }

  /**
   * Mounts an empty filesystem on `mountpoint` (an existing directory) and
   * serves it on native threads. Needs root or a user allowed to mount FUSE.
   *
   * @throws {UnavailableError} when /dev/fuse or the mount fails
   */
  static start(mountpoint: string): FuseFrontend {
    const out = outPointer();
    check(lib().obdfuse_start(cString(mountpoint), out), `mount fuse on ${mountpoint}`);
    return new FuseFrontend(readPointer(out), mountpoint);
  }

  /**
   * Publishes `image` as the file `name` and returns its path. The image is
   * borrowed: close it only after {@linkcode remove} (or {@linkcode stop}) resolved.
   *
   * @throws {AlreadyExistsError} when the name is taken
   * @throws {InvalidArgumentError} for an empty name, one with '/', "." or ".."
   */
  add(name: string, image: Image, options: AddOptions = {}): string {
    const rc = lib().obdfuse_add(
      this.#handle.ptr,
      cString(name),
      image.ptr,
      options.writable ? 1 : 0,
    );
    check(rc, `add ${name} to ${this.mountpoint}`);
    return `${this.mountpoint}/${name}`;
  }

  /**
   * Withdraws the file `name` and resolves once no request uses its image.
   *
   * @throws {NotFoundError} when there is no such file
   */
  async remove(name: string): Promise<void> {
    const nameBuf = cString(name);
    const rc = await lib().obdfuse_remove(this.#handle.ptr, nameBuf);
    // Another thread read nameBuf: this use keeps it reachable until then.
    nameBuf.fill(0);
    check(rc, `remove ${name} from ${this.mountpoint}`, "");
  }

  /**
   * Unmounts and frees the session; calling it again returns the same promise.
   * The added images are not closed.
   *
   * @throws {UnavailableError} when the session had ended with an error (cleaned up anyway)
   */
  stop(): Promise<void> {
    if (!this.#stopped) {
      const p = this.#handle.release();
      this.#stopped = p === null ? Promise.resolve() : lib().obdfuse_stop(p).then((rc) => {
        check(rc, `stop fuse on ${this.mountpoint}`, "");
      });
    }
    return this.#stopped;
  }
}
