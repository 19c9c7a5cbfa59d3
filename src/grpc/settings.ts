/**
 * Reading the peer's SETTINGS (RFC 9113 §6.5): validation of each value and
 * the parts the server acts on.
 *
 * @module
 */

import {
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  H2Error,
  MAX_WINDOW_SIZE,
  Setting,
} from "./frame.ts";

/** The settings a client sent that change how we send. */
export interface PeerSettings {
  headerTableSize?: number;
  initialWindowSize?: number;
  maxFrameSize?: number;
}

/**
 * Decodes and validates a SETTINGS payload (not an ACK).
 *
 * @throws {ConnectionError} FRAME_SIZE_ERROR, PROTOCOL_ERROR or FLOW_CONTROL_ERROR as §6.5.2 says
 */
export function decodeSettings(payload: Uint8Array): PeerSettings {
  if (payload.length % 6 !== 0) {
    throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS length");
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const out: PeerSettings = {};
  for (let i = 0; i < payload.length; i += 6) {
    const id = view.getUint16(i);
    const value = view.getUint32(i + 2);
    switch (id) {
      case Setting.HEADER_TABLE_SIZE:
        out.headerTableSize = value;
        break;
      case Setting.ENABLE_PUSH:
        if (value > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `ENABLE_PUSH ${value}`);
        break;
      case Setting.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW_SIZE) {
          throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value}`);
        }
        out.initialWindowSize = value;
        break;
      case Setting.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 2 ** 24 - 1) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value}`);
        }
        out.maxFrameSize = value;
        break;
        // MAX_CONCURRENT_STREAMS limits pushes, which we never send; MAX_HEADER_LIST_SIZE
        // is advisory and our response headers are small. Unknown ids are ignored.
    }
  }
  return out;
}
