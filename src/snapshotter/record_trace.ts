import { FailedPreconditionError, InvalidArgumentError } from "../errors.ts";
import { RECORD_TRACE, RECORD_TRACE_PATH } from "./labels.ts";
import { readDeviceConfigIfAny, writeDeviceConfigSync } from "./local_layer.ts";

/**
 * The trace file a rootfs Prepare asks to record into (spec §7.2:
 * `record-trace` = `yes` and `record-trace-path`), or undefined.
 *
 * @throws {InvalidArgumentError} when `record-trace` is `yes` without an absolute path
 */
export function recordTracePathOf(labels: Record<string, string>): string | undefined {
  if (labels[RECORD_TRACE] !== "yes") return undefined;
  const path = labels[RECORD_TRACE_PATH] ?? "";
  if (!path.startsWith("/")) {
    throw new InvalidArgumentError(
      `label ${RECORD_TRACE}=yes needs ${RECORD_TRACE_PATH} set to an absolute path, got '${path}'`,
    );
  }
  return path;
}

/**
 * Runs `attach` (which opens the device described by `configPath`) with
 * `recordTracePath` set in that config, so the device records its reads
 * (spec §8.1), then puts the config back as it was: the next attach of the
 * image must not record, nor replay the trace recorded now.
 *
 * @param attached whether the device is attached already
 * @throws {FailedPreconditionError} when it is attached already (other containers use the image):
 *   only a device opened for the recording records
 */
export async function attachRecording(
  configPath: string,
  tracePath: string,
  attached: boolean,
  attach: () => Promise<void>,
): Promise<void> {
  if (attached) {
    throw new FailedPreconditionError(
      `cannot record a trace into ${tracePath}: the image's device is in use by other containers`,
    );
  }
  const config = await readDeviceConfigIfAny(configPath);
  if (!config) throw new FailedPreconditionError(`cannot record a trace: no ${configPath}`);
  if (config.accelerationLayer) {
    throw new FailedPreconditionError(
      `cannot record a trace into ${tracePath}: the image has an acceleration layer already`,
    );
  }
  writeDeviceConfigSync(configPath, { ...config, recordTracePath: tracePath });
  try {
    await attach();
  } finally {
    writeDeviceConfigSync(configPath, config);
  }
}
