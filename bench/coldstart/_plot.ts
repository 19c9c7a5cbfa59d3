/**
 * Cold-start benchmark: PNG charts of the results, drawn offline — a
 * Vega-Lite spec compiled and rendered to SVG by `vega` (no browser), the
 * SVG rasterised by `@resvg/resvg-js` with the system's DejaVu fonts.
 *
 * @module
 */

import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** One bar: a value of a series (mode) in a group (image, link). */
export interface Bar {
  group: string;
  series: string;
  value: number;
}

/**
 * Writes a grouped bar chart of `bars` to `path` as PNG (twice the SVG's
 * size, white background).
 */
export async function writeBarChart(
  path: string,
  title: string,
  yTitle: string,
  bars: Bar[],
): Promise<void> {
  const series = [...new Set(bars.map((b) => b.series))];
  const groups = [...new Set(bars.map((b) => b.group))];
  const spec: TopLevelSpec = {
    title,
    data: { values: bars },
    mark: { type: "bar", tooltip: false },
    width: { step: 22 },
    height: 260,
    encoding: {
      column: {
        field: "group",
        type: "nominal",
        sort: groups,
        title: null,
        header: { labelAngle: 0 },
      },
      x: { field: "series", type: "nominal", sort: series, axis: null },
      y: { field: "value", type: "quantitative", title: yTitle },
      color: { field: "series", type: "nominal", sort: series, title: null },
    },
    config: { font: "DejaVu Sans", legend: { orient: "bottom", columns: 2, labelLimit: 0 } },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  }).render().asPng();
  await Deno.writeFile(path, png);
}
