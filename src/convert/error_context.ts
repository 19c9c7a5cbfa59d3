import { OverlaybdError } from "../errors.ts";

/** The same kind of error with `context` put in front; other errors unchanged. */
export function inContext(err: unknown, context: string): unknown {
  if (!(err instanceof OverlaybdError)) return err;
  const Kind = err.constructor as new (message: string, options?: ErrorOptions) => OverlaybdError;
  return new Kind(`${context}: ${err.message}`, { cause: err });
}
