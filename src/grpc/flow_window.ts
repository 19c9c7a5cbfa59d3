/**
 * Receive-side flow control (RFC 9113 §6.9): how much the peer may still
 * send us, and when to return consumed bytes with WINDOW_UPDATE. We consume
 * DATA as it arrives (messages are bounded by the message size limit), so
 * bytes are returned once half the window has been used, to keep frame
 * counts low while never stalling the peer.
 *
 * @module
 */

/** One receive window: the connection's or a stream's. */
export class ReceiveWindow {
  #size: number;
  #available: number;
  #unacked = 0;

  /** @param size the window we advertised */
  constructor(size: number) {
    this.#size = size;
    this.#available = size;
  }

  /**
   * Accounts for `n` received bytes (the whole DATA payload, padding included).
   *
   * @returns false when the peer overran the window (FLOW_CONTROL_ERROR)
   */
  receive(n: number): boolean {
    this.#available -= n;
    this.#unacked += n;
    return this.#available >= 0;
  }

  /** The WINDOW_UPDATE increment due now, or 0; the window is reopened by that much. */
  takeUpdate(): number {
    if (this.#unacked < this.#size / 2) return 0;
    const inc = this.#unacked;
    this.#available += inc;
    this.#unacked = 0;
    return inc;
  }
}
