/**
 * The two configuration files overlaybd shares with upstream, with upstream's
 * key names so existing files work unchanged: a device's `config.v1.json`
 * (spec §5) and the global `/etc/overlaybd/overlaybd.json` (spec §6).
 *
 * @module
 */

export {
  type DeviceConfig,
  type LowerConfig,
  parseDeviceConfig,
  readDeviceConfig,
  serializeDeviceConfig,
  type UpperConfig,
} from "./device_config.ts";
export { DEFAULT_DOWNLOAD, type DownloadConfig } from "./download_config.ts";
export {
  DEFAULT_GLOBAL_CONFIG_PATH,
  defaultGlobalConfig,
  type GlobalConfig,
  parseGlobalConfig,
  readGlobalConfig,
} from "./global_config.ts";
