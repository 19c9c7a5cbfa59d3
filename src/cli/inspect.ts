import type { Command } from "commander";
import { inspectFile, type Inspection } from "../layer/mod.ts";
import type { LsmtHeader } from "../../ffi/lsmt.ts";
import type { ZfileRecord } from "../../ffi/zfile.ts";

const hex = (n: number, width = 2) => "0x" + n.toString(16).padStart(width, "0");

function zfileLines(name: string, r: ZfileRecord): string[] {
  return [
    `  ${name}: flags ${hex(r.flags)}, ${r.algorithm}, block ${r.blockSize} B, crc ${
      r.verify ? "on" : "off"
    }`,
    `    index at ${r.indexOffset}, ${r.indexSize} blocks, original size ${r.originalFileSize}`,
  ];
}

function lsmtLines(name: string, h: LsmtHeader): string[] {
  return [
    `  ${name}: flags ${
      hex(h.flags)
    }, version ${h.version}.${h.subVersion}, virtual size ${h.virtualSize}`,
    `    uuid ${h.uuid || "(none)"}, parent ${h.parentUuid || "(none)"}`,
    ...(h.indexSize || h.indexOffset
      ? [`    index at ${h.indexOffset}, ${h.indexSize} records`]
      : []),
    ...(h.userTag ? [`    tag ${JSON.stringify(h.userTag)}`] : []),
  ];
}

/** Human-readable report, outermost level first. */
export function formatInspection(info: Inspection): string {
  const lines = [`${info.path}: ${info.chain.join(" → ")} (${info.size} bytes)`];
  if (info.tar) {
    lines.push(
      `tar: entry ${info.tar.name}, payload at ${info.tar.offset}, ${info.tar.size} bytes` +
        (info.tar.pax ? " (PAX)" : ""),
    );
  }
  if (info.zfile) {
    const z = info.zfile;
    lines.push(`zfile: ${z.blocks} blocks from offset ${z.dataOffset}`);
    lines.push(...zfileLines("header", z.header));
    if (z.trailer) lines.push(...zfileLines("trailer", z.trailer));
  }
  if (info.lsmt) {
    const l = info.lsmt;
    lines.push(
      `lsmt: ${l.role}, virtual size ${l.virtualSize}` +
        (l.records !== undefined ? `, ${l.records} records` : ""),
    );
    lines.push(...lsmtLines("header", l.header));
    if (l.trailer) lines.push(...lsmtLines("trailer", l.trailer));
  }
  return lines.join("\n");
}

/** `overlaybd inspect`: what a file is and what its headers say. */
export function registerInspect(program: Command): void {
  program.command("inspect")
    .summary("show what a layer file is and decode its headers")
    .description(
      "Identify FILE — tar wrapper, ZFile, LSMT committed/sealed/writable layer — and print the\n" +
        "fields of each level: tar payload, ZFile header/trailer, LSMT header/trailer, record\n" +
        "count and virtual size.",
    )
    .argument("<file>", "file to inspect")
    .option("--json", "print JSON instead of text")
    .action((file: string, opts) => {
      const info = inspectFile(file);
      console.log(opts.json ? JSON.stringify(info, null, 2) : formatInspection(info));
    });
}
