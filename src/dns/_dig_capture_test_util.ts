/**
 * The captured dig ↔ dnsmasq exchanges (`testdata/dig_dnsmasq.json`) that the
 * DNS codec, Quad100 and DNS fuzz tests all check against.
 *
 * @module
 */

/** One captured exchange: the query and the response, as hex. */
export interface DigExchange {
  /** The query dig sent, as hex. */
  query: string;
  /** What dnsmasq answered, as hex. */
  response: string;
}

/** The captured exchanges by name (`a_node_a`, `cname_www`, …). */
export const DIG_EXCHANGES: Record<string, DigExchange> = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/dig_dnsmasq.json", import.meta.url)),
).exchanges;
