/**
 * A native pointer that is handed out once: to `close()` it, or to a native
 * function that takes ownership. Any use afterwards throws instead of
 * touching freed memory.
 *
 * @module
 */

/** Owner of one native pointer. */
export class Handle {
  #ptr: Deno.PointerObject | null;
  readonly #what: string;

  /** @param what how errors name the object ("zfile writer x.zfile") */
  constructor(ptr: Deno.PointerObject, what: string) {
    this.#ptr = ptr;
    this.#what = what;
  }

  /** The pointer, for a call that borrows it. @throws {TypeError} once released */
  get ptr(): Deno.PointerObject {
    if (this.#ptr === null) throw new TypeError(`${this.#what} is closed`);
    return this.#ptr;
  }

  /** The pointer for a call that takes ownership; the handle is then released. */
  take(): Deno.PointerObject {
    const p = this.ptr;
    this.#ptr = null;
    return p;
  }

  /** Gives up the pointer for closing; null when already released. */
  release(): Deno.PointerObject | null {
    const p = this.#ptr;
    this.#ptr = null;
    return p;
  }
}
