/**
 * Mutual exclusion per key: `run(k, fn)` starts `fn` once every earlier
 * `run` with the same key has settled. Different keys do not wait for each
 * other. Never nest `run` calls on one key: that waits forever.
 */
export class KeyedLock<K> {
  readonly #tails = new Map<K, Promise<unknown>>();

  async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(fn);
    const tail = mine.catch(() => {});
    this.#tails.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
