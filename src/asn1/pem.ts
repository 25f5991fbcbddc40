/**
 * PEM (RFC 7468) in and out. Input files may be PEM or DER; PEM is recognised by its
 * "-----BEGIN" line, anything else is handed on as DER for the schema parser to judge.
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
 * is not PEM. Empty input, PEM with only other labels, or a body that is not base64 is a usage
 * error naming what was expected.
 */
export function decodePemOrDer(input: Uint8Array, labels: readonly string[]): DecodedInput {
  const what = `not a PEM ${labels[0] ?? "object"} or DER input`;
  if (input.byteLength === 0) throw new TspError("usage", `${what}: the input is empty`);
  // latin1 maps every byte to one char, so binary DER never fails to "decode" here.
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("latin1");
  if (!text.includes("-----BEGIN")) return { der: input };

  const found: string[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1] ?? "";
    if (!labels.includes(label)) {
      found.push(label);
      continue;
    }
    return { der: decodeBody(match[2] ?? "", what), label };
  }
  const why = found.length > 0 ? `found PEM ${found.join(", ")}` : "malformed PEM";
  throw new TspError("usage", `${what}: ${why}`);
}

function decodeBody(body: string, what: string): Uint8Array {
  const compact = body.replace(/\s+/g, "");
  // Buffer.from(..., "base64") silently skips junk, so the alphabet is checked first.
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64_BODY.test(compact)) {
    throw new TspError("usage", `${what}: bad base64 in the PEM body`);
  }
  return new Uint8Array(Buffer.from(compact, "base64"));
}

/** PEM text with 64-character lines and a trailing newline, as OpenSSL writes it. */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
