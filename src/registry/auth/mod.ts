/**
 * Registry authentication: `WWW-Authenticate` challenges, Basic and bearer
 * token schemes, and the sources of credentials (caller-given `user:pass`,
 * `~/.docker/config.json`, upstream's credential file of spec §6.1).
 *
 * @module
 */

export { Authorizer, type AuthorizerOptions, type TokenGet } from "./authorizer.ts";
export { basicAuthorization } from "./basic.ts";
export {
  type BearerToken,
  DEFAULT_TOKEN_LIFETIME_S,
  parseTokenResponse,
  tokenUrl,
} from "./bearer.ts";
export { type Challenge, parseChallenges } from "./challenge.ts";
export {
  credentialFileCredentials,
  credentialKeys,
  DEFAULT_CREDENTIAL_FILE,
} from "./credential_file.ts";
export {
  chainCredentials,
  type CredentialRequest,
  type Credentials,
  type CredentialSource,
  decodeAuthEntry,
  splitUserPass,
  staticCredentials,
} from "./credentials.ts";
export { defaultDockerConfigPath, dockerConfigCredentials } from "./docker_config.ts";
