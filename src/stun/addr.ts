/**
 * IP address text ⇄ bytes, just what STUN and DERP need (4- and 16-byte forms).
 *
 * @module
 */

/**
 * Parses an IPv4 or IPv6 address (optionally in brackets, with an optional zone) to
 * 4 or 16 bytes. IPv4-mapped IPv6 stays 16 bytes.
 *
 * @example
 * ```ts
 * parseIp("127.0.0.1"); // Uint8Array [127, 0, 0, 1]
 * ```
 * @throws {SyntaxError} if text is not an IP address
 */
export function parseIp(text: string): Uint8Array {
  let t = text;
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  const pct = t.indexOf("%");
  if (pct >= 0) t = t.slice(0, pct);
  if (!t.includes(":")) {
    const v4 = parseV4(t);
    if (!v4) throw new SyntaxError(`Cannot parse IP address "${text}"`);
    return v4;
  }
  const out = new Uint8Array(16);
  const dbl = t.indexOf("::");
  if (dbl !== t.lastIndexOf("::")) throw new SyntaxError(`Cannot parse IP address "${text}"`);
  const parseGroups = (s: string): number[] | null => {
    if (s === "") return [];
    const parts = s.split(":");
    const words: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return null;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        words.push(parseInt(p, 16));
      }
    }
    return words;
  };
  let words: number[] | null;
  if (dbl >= 0) {
    const head = parseGroups(t.slice(0, dbl));
    const tail = parseGroups(t.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) {
      throw new SyntaxError(`Cannot parse IP address "${text}"`);
    }
    words = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    words = parseGroups(t);
  }
  if (!words || words.length !== 8) throw new SyntaxError(`Cannot parse IP address "${text}"`);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 255;
  }
  return out;
}

function parseV4(t: string): Uint8Array | null {
  const parts = t.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Formats 4 or 16 address bytes; IPv6 uses the RFC 5952 compressed form. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return b.join(".");
  if (b.length !== 16) throw new RangeError(`IP address must be 4 or 16 bytes, got ${b.length}`);
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

/** Returns the 16-byte form (IPv4 becomes v4-mapped `::ffff:a.b.c.d`). */
export function to16(b: Uint8Array): Uint8Array {
  if (b.length === 16) return b;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(b, 12);
  return out;
}

/** Returns the 4-byte form for IPv4 and v4-mapped IPv6, else the bytes unchanged. */
export function unmap(b: Uint8Array): Uint8Array {
  if (b.length !== 16) return b;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return b;
  if (b[10] !== 0xff || b[11] !== 0xff) return b;
  return b.slice(12);
}
