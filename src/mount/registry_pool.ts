import type { FetchRange } from "../cache/mod.ts";
import { NotFoundError } from "../errors.ts";
import {
  chainCredentials,
  credentialFileCredentials,
  type CredentialSource,
  dockerConfigCredentials,
  openRepository,
  parseRepoBlobUrl,
  readBlobRange,
  type Repository,
  statBlob,
  staticCredentials,
} from "../registry/mod.ts";

/** How the pool reaches registries. */
export interface RegistryPoolOptions {
  /** HTTP instead of HTTPS for every registry (`--plain`). */
  plain?: boolean;
  /** Accept any TLS certificate (`--insecure`). */
  insecure?: boolean;
  /** `user:password` tried first (`--user`). */
  user?: string;
  /** Upstream's credential file (spec §6.1), tried before `~/.docker/config.json`. */
  credentialFile?: string;
}

/** Credentials: `--user`, then the credential file, then Docker's config. */
export function credentialsFor(options: RegistryPoolOptions): CredentialSource {
  const sources: CredentialSource[] = [];
  if (options.user) sources.push(staticCredentials(options.user));
  if (options.credentialFile) sources.push(credentialFileCredentials(options.credentialFile));
  sources.push(dockerConfigCredentials());
  return chainCredentials(...sources);
}

/**
 * One {@linkcode Repository} per `repoBlobUrl`, shared by every device that
 * reads from it, so tokens and connections are reused.
 */
export class RegistryPool {
  readonly #options: RegistryPoolOptions;
  readonly #credentials: CredentialSource;
  readonly #repos = new Map<string, Repository>();

  constructor(options: RegistryPoolOptions = {}) {
    this.#options = options;
    this.#credentials = credentialsFor(options);
  }

  /** The repository behind `repoBlobUrl` (spec §5.1). */
  repositoryFor(repoBlobUrl: string): Repository {
    let repo = this.#repos.get(repoBlobUrl);
    if (!repo) {
      const { reference, plain } = parseRepoBlobUrl(repoBlobUrl);
      repo = openRepository(reference, {
        plain: plain || this.#options.plain,
        insecure: this.#options.insecure,
        credentials: this.#credentials,
      });
      this.#repos.set(repoBlobUrl, repo);
    }
    return repo;
  }

  /** Ranged reads of blobs below `repoBlobUrl`, for the blob cache. */
  fetcherFor(repoBlobUrl: string): FetchRange {
    const repo = this.repositoryFor(repoBlobUrl);
    return async (digest, offset, length, into) => {
      await readBlobRange(repo, digest, offset, length, into);
    };
  }

  /** Size of a blob (HEAD), for lowers whose config omits it. */
  async sizeOf(repoBlobUrl: string, digest: string): Promise<number> {
    const size = await statBlob(this.repositoryFor(repoBlobUrl), digest);
    if (size === undefined) throw new NotFoundError(`blob ${digest} is not in ${repoBlobUrl}`);
    return size;
  }

  /** Bytes received from every registry so far. */
  bytesFetched(): number {
    let n = 0;
    for (const repo of this.#repos.values()) n += repo.bytesFetched;
    return n;
  }

  /** Closes every connection. Idempotent. */
  close(): void {
    for (const repo of this.#repos.values()) repo.close();
    this.#repos.clear();
  }
}
