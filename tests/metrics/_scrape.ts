/**
 * Test helpers: fetch a metrics page and read samples out of the Prometheus
 * text exposition.
 *
 * @module
 */

/** Base URL of a server listening on a TCP address. */
export function baseUrl(addr: Deno.Addr): string {
  return `http://127.0.0.1:${(addr as Deno.NetAddr).port}`;
}

/** GETs `url`; the whole body is read so that no connection is left busy. */
export async function get(
  url: string,
): Promise<{ status: number; contentType: string; body: string }> {
  const res = await fetch(url);
  return {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    body: await res.text(),
  };
}

/**
 * The value of one sample, e.g. `sample(text, 'grpc_error_count{function="Stat"}')`;
 * undefined when the series is absent.
 */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
