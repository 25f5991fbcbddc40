/**
 * PEM (RFC 7468) in and out. Input files may be PEM or DER; PEM is recognised by its
 * "-----BEGIN" line, anything else is handed on as DER for the schema parser to judge.
 * PEM is read strictly: every BEGIN line needs its END line, and a body of a wanted label must
 * be canonical base64 (the alphabet only, whole quanta, padding with zero bits), since
 * Buffer.from(..., "base64") would skip junk and decode the rest silently.
 */
import { TspError } from "../errors.js";

export interface DecodedInput {
  der: Uint8Array;
  /** The PEM label found, when the input was PEM. */
  label?: string;
}

// One encapsulated block; the END label must repeat the BEGIN label (RFC 7468 section 2).
const PEM_BLOCK = /-----BEGIN ([^\r\n-]+(?:-[^\r\n-]+)*)-----([\s\S]*?)-----END \1-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * DER bytes of the first PEM block whose label is one of `labels`, or the input itself when it
 * is not PEM. Empty input, PEM with only other labels, a malformed block or a body that is not
 * base64 is a usage error naming what was expected.
 */
export function decodePemOrDer(input: Uint8Array, labels: readonly string[]): DecodedInput {
  const [first] = decodeAllPemOrDer(input, labels);
  if (!first) throw new TspError("usage", `${whatOf(labels)}: no input`);
  return first;
}

/**
 * Every PEM block whose label is one of `labels`, in file order (at least one), or the input
 * itself when it is not PEM. Blocks of other labels are skipped (a key beside a certificate),
 * but each must be well formed.
 */
export function decodeAllPemOrDer(input: Uint8Array, labels: readonly string[]): DecodedInput[] {
  const what = whatOf(labels);
  if (input.byteLength === 0) throw new TspError("usage", `${what}: the input is empty`);
  // latin1 maps every byte to one char, so binary DER never fails to "decode" here.
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("latin1");
  if (!text.includes("-----BEGIN")) return [{ der: input }];

  const found: string[] = [];
  const blocks: DecodedInput[] = [];
  let end = 0;
  for (const match of text.matchAll(PEM_BLOCK)) {
    checkBetween(text.slice(end, match.index), what);
    end = match.index + match[0].length;
    const label = match[1] ?? "";
    if ((match[2] ?? "").includes("-----")) {
      throw new TspError("usage", `${what}: malformed PEM: a block ${label} has no END line`);
    }
    if (labels.includes(label)) blocks.push({ der: decodeBody(match[2] ?? "", what), label });
    else found.push(label);
  }
  checkBetween(text.slice(end), what);
  if (blocks.length > 0) return blocks;
  const why = found.length > 0 ? `found PEM ${found.join(", ")}` : "malformed PEM";
  throw new TspError("usage", `${what}: ${why}`);
}

function whatOf(labels: readonly string[]): string {
  return `not a PEM ${labels[0] ?? "object"} or DER input`;
}

/** Text outside the blocks is allowed (RFC 7468 section 5.2), a stray BEGIN or END is not. */
function checkBetween(text: string, what: string): void {
  const stray = /-----(BEGIN|END) ?([^\r\n]*)/.exec(text);
  if (!stray) return;
  const line = stray[0].slice(0, 60);
  const why =
    stray[1] === "BEGIN" ? `"${line}" has no matching END line` : `"${line}" has no BEGIN line`;
  throw new TspError("usage", `${what}: malformed PEM: ${why}`);
}

function decodeBody(body: string, what: string): Uint8Array {
  const compact = body.replace(/[ \t\r\n]+/g, "");
  if (compact.length === 0) throw new TspError("usage", `${what}: the PEM body is empty`);
  if (/^[A-Za-z-]+:/m.test(body.trimStart())) {
    throw new TspError("usage", `${what}: PEM headers (an encrypted PEM?) are not supported`);
  }
  if (!BASE64_BODY.test(compact)) {
    const bad = /[^A-Za-z0-9+/=]/.exec(compact)?.[0];
    const why = bad
      ? `the character ${JSON.stringify(bad)} is not base64`
      : "'=' padding before the end";
    throw new TspError("usage", `${what}: bad base64 in the PEM body: ${why}`);
  }
  if (compact.length % 4 !== 0) {
    throw new TspError(
      "usage",
      `${what}: bad base64 in the PEM body: truncated (length ${compact.length} is not a multiple of 4)`,
    );
  }
  const der = Buffer.from(compact, "base64");
  // Canonical base64 only: the padding's spare bits must be zero, so there is one text per DER.
  if (der.toString("base64") !== compact) {
    throw new TspError("usage", `${what}: bad base64 in the PEM body: non-zero padding bits`);
  }
  return new Uint8Array(der);
}

/** PEM text with 64-character lines and a trailing newline, as OpenSSL writes it. */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
