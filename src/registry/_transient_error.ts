import { UnavailableError } from "../errors.ts";

/**
 * A failure of one attempt that another attempt may not have: a refused or
 * reset connection, a stall, a truncated body. The retry loop catches it;
 * if it escapes, it is still an {@linkcode UnavailableError}.
 */
export class TransientError extends UnavailableError {}
