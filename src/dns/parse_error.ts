/**
 * The error of the DNS wire decoder, shared by the message and name readers.
 *
 * @module
 */

/** A malformed DNS message: what is wrong and at which byte offset. */
export class DnsParseError extends SyntaxError {
  /** Offset in the message where parsing failed. */
  readonly offset: number;
  /**
   * Prefixes the message with what was being parsed and appends the offset.
   *
   * @param message what failed
   * @param offset where
   */
  constructor(message: string, offset: number) {
    super(`Cannot parse DNS message: ${message} at offset ${offset}`);
    this.name = "DnsParseError";
    this.offset = offset;
  }
}
