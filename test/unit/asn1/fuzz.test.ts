/**
 * Property-based fuzzing of the parsers that read user input: mutated certificates, CSRs,
 * SPKIs and PEM texts, and random DN strings. Seeded and bounded, so every run checks the same
 * inputs in a few seconds. Two properties: nothing but a usage TspError ever escapes a parser,
 * and whatever parses is DER (re-encodes to exactly the input).
 */
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { CertificationRequest } from "@peculiar/asn1-csr";
import { parseCertificate, parsePublicKeyInput } from "../../../src/asn1/cert.js";
import { parseCsr } from "../../../src/asn1/csr.js";
import { formatDn, nameToDer, parseDn } from "../../../src/asn1/dn.js";
import { decodeAllPemOrDer, toPem } from "../../../src/asn1/pem.js";
import { TspError } from "../../../src/errors.js";
import { prepareObject } from "../../../src/core/write-object.js";
import { certFor, csrFor, SPKIS } from "./strict-fixtures.js";

const SEED = 20261205;

/** Runs `parse`; a usage TspError is a refusal, anything else thrown fails the property. */
function outcome<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof TspError && error.kind === "usage") return undefined;
    throw error;
  }
}

const reencodes = (bytes: Uint8Array, type: new () => unknown): boolean =>
  Buffer.from(AsnConvert.serialize(AsnConvert.parse(bytes, type))).equals(Buffer.from(bytes));

type Mutation = (input: Uint8Array) => Uint8Array;

/** Bit flips, byte edits (lengths are bytes too: ±1 near the front hits them), cuts, insertions. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]): Mutation => (input) => {
    const out = input.slice();
    const k = at % out.length;
    out[k] = (out[k] ?? 0) ^ (1 << bit);
    return out;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -2, max: 2 })).map(([at, delta]): Mutation => (input) => {
    // Bias towards the first bytes, where the outer tags and lengths are.
    const out = input.slice();
    const k = at % Math.min(out.length, at % 3 === 0 ? out.length : 12);
    out[k] = ((out[k] ?? 0) + delta) & 0xff;
    return out;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, value]): Mutation => (input) => {
    const out = input.slice();
    out[at % out.length] = value;
    return out;
  }),
  fc.nat().map(
    (at): Mutation =>
      (input) =>
        input.slice(0, at % input.length),
  ),
  fc
    .tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }))
    .map(([at, bytes]): Mutation => (input) => {
      const k = at % (input.length + 1);
      return new Uint8Array(Buffer.concat([input.subarray(0, k), bytes, input.subarray(k)]));
    }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([at, n]): Mutation => (input) => {
    const k = at % input.length;
    return new Uint8Array(Buffer.concat([input.subarray(0, k), input.subarray(k + n)]));
  }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });
const apply = (input: Uint8Array, list: Mutation[]): Uint8Array =>
  list.reduce((bytes, m) => (bytes.length === 0 ? bytes : m(bytes)), input);

let certs: Uint8Array[];
let csrs: Uint8Array[];
const spkis = Object.values(SPKIS);
beforeAll(async () => {
  certs = [
    await certFor("CN=fuzz,O=tsp11", SPKIS.p256),
    await certFor("OU=unit,O=org,C=US", SPKIS.rsa),
    await certFor("/CN=e\u00e9/serialNumber=42", SPKIS.ed25519),
  ];
  csrs = [await csrFor("CN=req,O=tsp11")];
});

// Parsing a certificate takes milliseconds: a generous timeout for a loaded CI machine.
describe("fuzz: the parsers refuse or return DER, nothing else", { timeout: 120_000 }, () => {
  it("mutated certificates (DER and PEM)", () => {
    fc.assert(
      fc.property(fc.nat(), mutations, fc.boolean(), (which, list, pem) => {
        const der = apply(certs[which % certs.length] ?? new Uint8Array(), list);
        const input = pem ? Buffer.from(toPem(der, "CERTIFICATE")) : der;
        const cert = outcome(() => parseCertificate(input));
        if (cert) {
          expect(Buffer.from(cert.der).equals(Buffer.from(der))).toBe(true);
          expect(reencodes(der, Certificate)).toBe(true);
        }
        // write-object's own entry point refuses the same way.
        outcome(() => prepareObject("cert", input));
      }),
      { seed: SEED, numRuns: 250 },
    );
  });

  it("mutated public keys", () => {
    fc.assert(
      fc.property(fc.nat(), mutations, (which, list) => {
        const der = apply(spkis[which % spkis.length] ?? new Uint8Array(), list);
        const key = outcome(() => parsePublicKeyInput(der));
        if (key) expect(reencodes(der, SubjectPublicKeyInfo)).toBe(true);
        outcome(() => prepareObject("pubkey", der));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it("mutated certificate requests", () => {
    fc.assert(
      fc.property(mutations, (list) => {
        const der = apply(csrs[0] ?? new Uint8Array(), list);
        if (outcome(() => parseCsr(der))) expect(reencodes(der, CertificationRequest)).toBe(true);
      }),
      { seed: SEED, numRuns: 250 },
    );
  });

  it("mutated PEM text", () => {
    const pem = toPem(certs[0] ?? new Uint8Array(), "CERTIFICATE");
    const text = new TextEncoder().encode(pem + pem);
    fc.assert(
      fc.property(mutations, (list) => {
        const input = apply(text, list);
        const blocks = outcome(() => decodeAllPemOrDer(input, ["CERTIFICATE"]));
        // What decodes is canonical base64 of the body: encoding it again gives the same bytes.
        for (const block of blocks ?? []) {
          if (block.label) expect(toPem(block.der, "CERTIFICATE")).toContain("-----END");
        }
        outcome(() => parseCertificate(input));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it("random DN strings: parsed names print and parse back to the same DER", () => {
    const dnChars = fc.constantFrom(...'CNOUL=,+/\\#"; <>a1é\u0000\u0007 '.split(""));
    const dnText = fc.oneof(
      fc.string({ unit: dnChars, maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 20 }),
    );
    fc.assert(
      fc.property(dnText, (text) => {
        const name = outcome(() => parseDn(text));
        if (!name) return;
        const printed = formatDn(name);
        if (printed === "") return;
        const again = outcome(() => parseDn(printed));
        expect(again && Buffer.from(nameToDer(again))).toEqual(Buffer.from(nameToDer(name)));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("mutated DER names", () => {
    const der = nameToDer(parseDn("CN=a,OU=b+O=c,C=US"));
    fc.assert(
      fc.property(mutations, (list) => {
        outcome(() => formatDn(apply(der, list)));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
