/**
 * Two things `JSON.parse` does not do for a config file: accept the comments and trailing
 * commas of HuJSON (tailscaled reads its config file as HuJSON, so a file moved from it may
 * have them), and notice a key given twice (where `JSON.parse` silently keeps the last — a
 * network named twice would vanish without a word).
 *
 * @module
 */

/**
 * HuJSON to standard JSON, as tailscale's hujson.Standardize does: each comment and trailing
 * comma becomes spaces (newlines kept), so `JSON.parse`'s positions still point into the file.
 *
 * @example
 * ```ts
 * import { standardizeHujson } from "./json_text.ts";
 * JSON.parse(standardizeHujson(`{"a": 1, // one\n}`)); // { a: 1 }
 * ```
 */
export function standardizeHujson(text: string): string {
  const out = text.split("");
  const blank = (from: number, to: number) => {
    for (let j = from; j < to; j++) if (out[j] !== "\n" && out[j] !== "\r") out[j] = " ";
  };
  const commas = new Set<number>();
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = stringEnd(text, i);
    } else if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) return text; // unterminated: let JSON.parse report the file as it is
      blank(i, end + 2);
      i = end + 2;
    } else if (c === ",") {
      commas.add(i++);
    } else if (c === "}" || c === "]") {
      // A comma with only blanks (or blanked comments) before this closer is trailing.
      let j = i - 1;
      while (j >= 0 && /\s/.test(out[j])) j--;
      if (j >= 0 && out[j] === "," && commas.has(j)) out[j] = " ";
      i++;
    } else {
      i++;
    }
  }
  return out.join("");
}

/** The index just after the string literal starting at `start` (its opening quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i + 1;
}

/**
 * The dotted paths of keys given more than once in one object, in file order. Takes text that
 * `JSON.parse` has accepted.
 *
 * @example
 * ```ts
 * import { duplicateKeys } from "./json_text.ts";
 * duplicateKeys(`{"networks": {"a": {}, "a": {}}}`); // ["networks.a"]
 * ```
 */
export function duplicateKeys(json: string): string[] {
  const found: string[] = [];
  let i = 0;
  const skipWs = () => {
    while (i < json.length && /\s/.test(json[i])) i++;
  };
  const value = (path: string): void => {
    skipWs();
    const c = json[i];
    if (c === "{") {
      i++;
      const seen = new Set<string>();
      skipWs();
      if (json[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        skipWs();
        const end = stringEnd(json, i);
        const key = JSON.parse(json.slice(i, end)) as string;
        i = end;
        const at = path === "" ? key : `${path}.${key}`;
        if (seen.has(key)) found.push(at);
        seen.add(key);
        skipWs();
        i++; // ':'
        value(at);
        skipWs();
        if (json[i++] === "}") return;
      }
    } else if (c === "[") {
      i++;
      skipWs();
      if (json[i] === "]") {
        i++;
        return;
      }
      for (let n = 0;; n++) {
        value(`${path}[${n}]`);
        skipWs();
        if (json[i++] === "]") return;
      }
    } else if (c === '"') {
      i = stringEnd(json, i);
    } else {
      while (i < json.length && !/[\s,\]}]/.test(json[i])) i++;
    }
  };
  value("");
  return found;
}
