/**
 * The few kinds of error the whole program distinguishes, modelled on
 * containerd's errdefs. Each layer adds what it was doing to the message;
 * callers branch on `instanceof`, never on message text.
 *
 * @module
 */

/** Base of every error this program raises on purpose. */
export class OverlaybdError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Something named (a file, a snapshot, a blob) does not exist. */
export class NotFoundError extends OverlaybdError {}

/** Something to be created exists already. */
export class AlreadyExistsError extends OverlaybdError {}

/** The caller gave an argument that can never work (a bad flag, a misaligned offset). */
export class InvalidArgumentError extends OverlaybdError {}

/** The input is fine but the system is not in a state that allows the operation. */
export class FailedPreconditionError extends OverlaybdError {}

/** Stored bytes are damaged or are not in the format they claim (bad magic, CRC mismatch, truncation). */
export class CorruptDataError extends OverlaybdError {}

/** A server refused our credentials, or wants some and none are configured. */
export class UnauthenticatedError extends OverlaybdError {}

/** A format feature or option that this build does not implement. */
export class UnsupportedError extends OverlaybdError {}

/** A dependency (file system, registry, daemon) failed or is unreachable; retrying may help. */
export class UnavailableError extends OverlaybdError {}
