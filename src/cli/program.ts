import { Command } from "commander";
import { registerApply } from "./apply.ts";
import { registerCat } from "./cat.ts";
import { registerCommit } from "./commit.ts";
import { registerCreate } from "./create.ts";
import { registerDemo } from "./demo.ts";
import { registerInspect } from "./inspect.ts";
import { registerMount } from "./mount.ts";
import { registerObdconv } from "./obdconv.ts";
import { registerRecordTrace } from "./record_trace.ts";
import { registerRpull } from "./rpull.ts";
import { registerSnapshotter } from "./snapshotter.ts";
import { registerZfile } from "./zfile.ts";

/** Version printed by `overlaybd --version`. */
export const VERSION = "0.1.0";

/** The `overlaybd` command tree. */
export function buildProgram(): Command {
  const program = new Command("overlaybd")
    .description(
      "Block-level, lazily loaded container images compatible with containerd's overlaybd.\n" +
        "Each subcommand has its own --help.",
    )
    .version(VERSION)
    .showHelpAfterError("(add --help for usage)")
    // Descriptions are written as lines of at most 100 columns; keep them whole.
    .configureHelp({ helpWidth: 100 })
    .exitOverride();
  registerCreate(program);
  registerCommit(program);
  registerApply(program);
  registerZfile(program);
  registerInspect(program);
  registerCat(program);
  registerMount(program);
  registerObdconv(program);
  registerSnapshotter(program);
  registerRpull(program);
  registerRecordTrace(program);
  registerDemo(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}
