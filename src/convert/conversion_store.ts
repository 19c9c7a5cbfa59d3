/** Where a converted blob or manifest lives: a registry host and a repository in it. */
export interface StoreDestination {
  /** Registry host as in the reference (`127.0.0.1:5000`). */
  host: string;
  repo: string;
}

/** A row of the layer table: the converted blob of a source chainID in one repository. */
export interface StoredLayer {
  repo: string;
  digest: string;
  size: number;
}

/** A row of the manifest table: the converted manifest of a source manifest. */
export interface StoredManifest {
  repo: string;
  digest: string;
  size: number;
}

/**
 * The dedup tables of the convertor (spec §7.6): chainID of the source layers
 * → converted layer blob, and source manifest digest → converted manifest,
 * both per destination registry host and repository. SQLite by default
 * (`SqliteConversionStore`), or a shared MySQL/MariaDB server
 * (`MysqlConversionStore`, the tables of upstream's convertor). Rows are
 * hints: callers check the registry before trusting one and delete the rows
 * that turn out stale. The `chainId` and `mediaType` keys carry the output
 * settings too (`layerKey`, `manifestKey`).
 */
export interface ConversionStore {
  /** Layers converted from `chainId` on `host`, rows of `dst.repo` first. */
  layers(dst: StoreDestination, chainId: string): Promise<StoredLayer[]>;
  putLayer(
    dst: StoreDestination,
    chainId: string,
    blob: { digest: string; size: number },
  ): Promise<void>;
  deleteLayer(dst: StoreDestination, chainId: string): Promise<void>;
  /** Manifests converted from `srcDigest` as `mediaType` on `host`, rows of `dst.repo` first. */
  manifests(dst: StoreDestination, srcDigest: string, mediaType: string): Promise<StoredManifest[]>;
  putManifest(
    dst: StoreDestination,
    srcDigest: string,
    mediaType: string,
    out: { digest: string; size: number },
  ): Promise<void>;
  deleteManifest(dst: StoreDestination, srcDigest: string, mediaType: string): Promise<void>;
  /** Closes the file or connection; calling it twice is fine. */
  close(): Promise<void>;
}
