import { type DeviceConfig, readDeviceConfig, serializeDeviceConfig } from "../config/mod.ts";

/** File names an overlaybd layer directory may hold its layer under (spec §10.3). */
const LAYER_FILES = ["overlaybd.commit", "overlaybd.sealed"];
/** ZFile (spec §1.2) and LSMT (spec §2.1) magic0. */
const MAGICS = [
  [0x5a, 0x46, 0x69, 0x6c, 0x65, 0x00, 0x01, 0x00],
  [0x4c, 0x53, 0x4d, 0x54, 0x00, 0x01, 0x02, 0x00],
];

async function startsWithMagic(path: string): Promise<boolean> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  try {
    const head = new Uint8Array(8);
    let n = 0;
    while (n < 8) {
      const r = await f.read(head.subarray(n));
      if (r === null) return false;
      n += r;
    }
    return MAGICS.some((m) => m.every((b, i) => head[i] === b));
  } finally {
    f.close();
  }
}

/**
 * Whether `fsDir` holds an overlaybd layer file that containerd unpacked
 * there (spec §10.3 cases 2 and 3: a downloaded overlaybd blob).
 */
export async function hasLocalLayer(fsDir: string): Promise<boolean> {
  for (const name of LAYER_FILES) {
    if (await startsWithMagic(`${fsDir}/${name}`)) return true;
  }
  return false;
}

/**
 * Writes a `config.v1.json` as upstream does: mode 0600, atomically
 * (temporary file, then rename). Synchronous, so it can run inside a
 * metadata transaction.
 */
export function writeDeviceConfigSync(path: string, config: DeviceConfig): void {
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, serializeDeviceConfig(config), { mode: 0o600 });
  Deno.renameSync(tmp, path);
}

/** The config of an overlaybd snapshot, or undefined when `path` does not exist. */
export async function readDeviceConfigIfAny(path: string): Promise<DeviceConfig | undefined> {
  try {
    await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  return await readDeviceConfig(path);
}
