/**
 * Splits a DN string into RDNs of (type, value) pairs, with each piece's 1-based position so
 * errors can point at the fault. Two syntaxes, told apart by a leading "/":
 *  - OpenSSL `-subj`: `/C=US/O=b+OU=c/CN=a`, RDNs in encoding order, a backslash escapes any
 *    character, values are taken verbatim (OpenSSL keeps spaces);
 *  - RFC 4514: `CN=a,O=b+OU=c,C=US`, most specific RDN first, only the RFC's escapes, and
 *    unescaped spaces around values dropped (section 3: they must be escaped to count).
 * Both accept `\XX` hex pairs (UTF-8 bytes). Mapping types to OIDs is dn.ts's job.
 */
import { TspError } from "../errors.js";

export type DnSyntax = "openssl" | "rfc4514";

export interface RawAva {
  type: string;
  typePos: number;
  value: string;
  valuePos: number;
}

export interface ScannedDn {
  syntax: DnSyntax;
  /** As written: for RFC 4514 that is most specific first. */
  rdns: RawAva[][];
}

export function dnError(position: number, why: string): TspError {
  return new TspError("usage", `invalid DN at position ${position}: ${why}`);
}

interface Rules {
  rdnSeparator: string;
  trimValues: boolean;
  /** Characters that may not appear unescaped in a value. */
  mustEscape: string;
  /** Characters a backslash may escape; null: any (OpenSSL). */
  escapable: string | null;
}

const OPENSSL: Rules = { rdnSeparator: "/", trimValues: false, mustEscape: "", escapable: null };
// RFC 4514 section 2.4 and 3: the specials, plus '=' which section 3 lets parsers accept.
const RFC4514: Rules = {
  rdnSeparator: ",",
  trimValues: true,
  mustEscape: '";<>',
  escapable: ' "#+,;<=>\\',
};

const HEX = /^[0-9A-Fa-f]$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function scanDn(text: string): ScannedDn {
  const first = text.search(/\S/);
  if (first < 0) throw dnError(1, "empty DN");
  if (text[first] === "/") {
    if (text.slice(first + 1).trim() === "") throw dnError(first + 1, "empty DN");
    return { syntax: "openssl", rdns: new Scanner(text, first + 1, OPENSSL).rdns() };
  }
  return { syntax: "rfc4514", rdns: new Scanner(text, first, RFC4514).rdns() };
}

class Scanner {
  private i: number;

  constructor(
    private readonly text: string,
    start: number,
    private readonly rules: Rules,
  ) {
    this.i = start;
  }

  rdns(): RawAva[][] {
    const rdns: RawAva[][] = [];
    for (;;) {
      const rdn = [this.ava()];
      while (this.text[this.i] === "+") {
        this.i++;
        rdn.push(this.ava());
      }
      rdns.push(rdn);
      if (this.i >= this.text.length) return rdns;
      this.i++; // the RDN separator
      // OpenSSL ignores a trailing "/"; scripts that build -subj strings often leave one.
      if (this.rules === OPENSSL && this.i >= this.text.length) return rdns;
    }
  }

  private isBoundary(ch: string | undefined): boolean {
    return ch === undefined || ch === "+" || ch === this.rules.rdnSeparator;
  }

  private ava(): RawAva {
    const start = this.i;
    let eq = start;
    while (!this.isBoundary(this.text[eq]) && this.text[eq] !== "=") eq++;
    const rawType = this.text.slice(start, eq);
    const type = rawType.trim();
    const typePos = start + rawType.search(/\S|$/) + 1;
    if (this.text[eq] !== "=") {
      if (type === "") throw dnError(start + 1, "expected an attribute type=value");
      throw dnError(typePos, `missing '=' after '${type}'`);
    }
    if (type === "") throw dnError(eq + 1, "empty attribute type");
    this.i = eq + 1;
    const valuePos = this.i + 1;
    return { type, typePos, value: this.value(valuePos), valuePos };
  }

  private value(valuePos: number): string {
    const bytes: number[] = [];
    let keep = 0; // bytes up to the last character that survives trimming
    let leading = true;
    while (!this.isBoundary(this.text[this.i])) {
      const ch = this.text[this.i] ?? "";
      if (ch === "\\") {
        this.escape(bytes);
      } else if (this.rules.trimValues && ch === " ") {
        if (!leading) pushChar(bytes, ch);
        this.i++;
        continue;
      } else {
        this.checkPlain(ch, leading);
        this.i += pushChar(bytes, this.codePointAt(this.i));
      }
      leading = false;
      keep = bytes.length;
    }
    if (this.rules.trimValues) bytes.length = keep;
    try {
      return utf8.decode(new Uint8Array(bytes));
    } catch {
      throw dnError(valuePos, "hex escapes are not valid UTF-8");
    }
  }

  private checkPlain(ch: string, leading: boolean): void {
    if (this.rules === RFC4514 && leading && ch === "#") {
      throw dnError(this.i + 1, "#hex (BER) values are not supported; write the value as text");
    }
    if (this.rules.mustEscape.includes(ch)) {
      throw dnError(this.i + 1, `'${ch}' must be escaped as '\\${ch}'`);
    }
  }

  /** One backslash escape at this.i: `\XX` is a byte, `\c` the character c. */
  private escape(bytes: number[]): void {
    const pos = this.i + 1;
    const next = this.text[this.i + 1];
    if (next === undefined) throw dnError(pos, "trailing backslash");
    if (HEX.test(next)) {
      const second = this.text[this.i + 2] ?? "";
      if (!HEX.test(second)) throw dnError(pos, `bad hex escape '\\${next}${second}'`);
      bytes.push(parseInt(next + second, 16));
      this.i += 3;
      return;
    }
    if (this.rules.escapable !== null && !this.rules.escapable.includes(next)) {
      throw dnError(pos, `invalid escape '\\${next}'`);
    }
    this.i += 1 + pushChar(bytes, this.codePointAt(this.i + 1));
  }

  private codePointAt(index: number): string {
    return String.fromCodePoint(this.text.codePointAt(index) ?? 0);
  }
}

/** Appends the UTF-8 of one character; returns its length in UTF-16 units. */
function pushChar(bytes: number[], ch: string): number {
  bytes.push(...Buffer.from(ch, "utf8"));
  return ch.length;
}
