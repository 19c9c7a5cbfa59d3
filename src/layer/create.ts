import { createWritableLayer } from "../../ffi/lsmt.ts";

/** Options of {@linkcode createLayer}. */
export interface CreateLayerOptions {
  /** Virtual size in bytes; 0 inherits the size of the layers below once stacked. */
  virtualSize: number;
  /** A single sparse data file (spec §2.7) instead of data + index log. */
  sparse?: boolean;
  parentUuid?: string;
  uuid?: string;
}

/**
 * Creates an empty writable layer (spec §2.6, §2.7) as `overlaybd-create` does.
 *
 * @throws {AlreadyExistsError} when either file exists
 * @returns the header's uuid
 */
export function createLayer(data: string, index: string, options: CreateLayerOptions): string {
  const layer = createWritableLayer(data, index, options);
  try {
    return layer.header().uuid;
  } finally {
    layer.close();
  }
}
