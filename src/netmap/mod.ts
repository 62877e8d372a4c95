/**
 * The netmap: tailcfg wire types, the typed NetworkMap and delta application.
 *
 * @module
 */
export * from "./tailcfg.ts";
export * from "./network_map.ts";
export * from "./node.ts";
export * from "./apply_map_response.ts";
