/**
 * req: a PKCS#10 request whose signature is made on the token. The public key is the token
 * key's own (SPKI from its public half); the CertificationRequestInfo is signed with the
 * mechanism that fits the key; before anything is returned the signature is checked on the
 * host against that public key, so a public object that does not belong to the private key
 * (same CKA_ID, another key) never yields a request a CA would reject.
 */
import { verify as verifySignature, constants as cryptoConstants } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { createPublicKey } from "node:crypto";
import type { GeneralName, Name } from "@peculiar/asn1-x509";
import type { Hash, SignatureScheme } from "../asn1/algorithms.js";
import { HASHES, signatureAlgorithmName } from "../asn1/algorithms.js";
import { buildCsr } from "../asn1/csr.js";
import { formatDn, parseDn } from "../asn1/dn.js";
import { ecdsaRawToDer } from "../asn1/ecdsa.js";
import { toPem } from "../asn1/pem.js";
import { parseSanList } from "../asn1/san.js";
import { TspError } from "../errors.js";
import type { TokenScope } from "../pkcs11/token.js";
import type { KeySelector, TokenKey } from "./find-key.js";
import { findKey } from "./find-key.js";
import { publicMaterialOf, spkiOf } from "./public-key.js";
import type { SignMechanismName } from "./sign-mechanisms.js";
import { planSignature, signBytes } from "./signing.js";

export interface ReqInput {
  subject: string;
  san?: string | readonly string[] | undefined;
  hash?: Hash | undefined;
  pss: boolean;
}

/** What the user asked for, checked before any token is opened. */
export interface PreparedReq {
  subject: Name;
  sans: GeneralName[] | undefined;
  /** undefined: the default (sha256), so an Ed25519 key is not warned about it. */
  hash: Hash | undefined;
  pss: boolean;
}

export interface ReqResult {
  pem: string;
  /** RFC 4514. */
  subject: string;
  /** OpenSSL's name, e.g. sha256WithRSAEncryption. */
  signatureAlgorithm: string;
  keyId: string;
}

export interface ReqOutcome {
  result: ReqResult;
  der: Uint8Array;
}

export interface ReqHooks {
  warn: (message: string) => void;
}

/** Parses DN and SANs: a malformed one is exit 2, with the position in the DN. */
export function prepareReq(input: ReqInput): PreparedReq {
  if (input.subject.trim() === "") throw new TspError("usage", "req: the subject is empty");
  return {
    subject: parseDn(input.subject),
    sans: input.san === undefined ? undefined : parseSanList(input.san),
    hash: input.hash,
    pss: input.pss,
  };
}

interface SigningChoice {
  scheme: SignatureScheme;
  mechanism: SignMechanismName;
  saltLen?: number;
}

/** The signature scheme and token mechanism for the key: the request's algorithm follows the key. */
export function signingChoice(
  key: TokenKey,
  prepared: PreparedReq,
  hooks: ReqHooks,
): SigningChoice {
  const hash = prepared.hash ?? "sha256";
  const tag = hash.toUpperCase() as "SHA256" | "SHA384" | "SHA512";
  if (prepared.pss && key.keyType !== "rsa") {
    throw new TspError("usage", `req: --pss needs an RSA key; this one is ${key.keyType}`);
  }
  switch (key.keyType) {
    case "rsa":
      if (prepared.pss) {
        const saltLength = HASHES[hash].bytes;
        return {
          scheme: { kind: "rsa-pss", hash, saltLength },
          mechanism: `${tag}-RSA-PKCS-PSS`,
          saltLen: saltLength,
        };
      }
      return { scheme: { kind: "rsa-pkcs1", hash }, mechanism: `${tag}-RSA-PKCS` };
    case "ec":
      return { scheme: { kind: "ecdsa", hash }, mechanism: `ECDSA-${tag}` };
    case "ec-edwards":
      if (key.curve !== "ed25519") {
        throw new TspError(
          "usage",
          `req: ${key.curve ?? "this Edwards curve"} keys are not supported for requests (Ed25519 is)`,
        );
      }
      if (prepared.hash !== undefined) {
        hooks.warn(`--hash ${prepared.hash} is ignored: Ed25519 signs the request itself`);
      }
      return { scheme: { kind: "ed25519" }, mechanism: "EDDSA" };
    default:
      throw new TspError(
        "usage",
        `req: a ${key.keyType} key cannot sign a request (RSA, EC and Ed25519 keys can)`,
      );
  }
}

/** Node's verify() arguments for a scheme. */
function checkOnHost(
  scheme: SignatureScheme,
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  switch (scheme.kind) {
    case "rsa-pkcs1":
      return verifySignature(scheme.hash, data, publicKey, signature);
    case "rsa-pss":
      return verifySignature(
        scheme.hash,
        data,
        {
          key: publicKey,
          padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
          saltLength: scheme.saltLength,
        },
        signature,
      );
    case "ecdsa":
      return verifySignature(scheme.hash, data, { key: publicKey, dsaEncoding: "der" }, signature);
    case "ed25519":
      return verifySignature(null, data, publicKey, signature);
  }
}

export async function runReq(
  scope: TokenScope,
  selector: KeySelector,
  prepared: PreparedReq,
  hooks: ReqHooks,
): Promise<ReqOutcome> {
  const { session } = scope;
  const key = findKey(session, "private-key", selector);
  const spki = spkiOf(publicMaterialOf(session, key.handle, key.id));
  const choice = signingChoice(key, prepared, hooks);
  const plan = planSignature(session, key, {
    mechanism: choice.mechanism,
    ...(choice.saltLen !== undefined ? { saltLen: choice.saltLen } : {}),
  });
  const publicKey = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  const der = await buildCsr({
    subject: prepared.subject,
    spki,
    sans: prepared.sans,
    scheme: choice.scheme,
    sign: async (tbs) => {
      const raw = await signBytes(session, key, plan, tbs);
      const signature = choice.scheme.kind === "ecdsa" ? ecdsaRawToDer(raw) : new Uint8Array(raw);
      if (!checkOnHost(choice.scheme, publicKey, tbs, signature)) {
        throw new TspError(
          "failure",
          `req: the token's signature does not verify with the public key of id ${Buffer.from(key.id).toString("hex")} (does the public key object belong to this private key?)`,
        );
      }
      return signature;
    },
  });
  return {
    der,
    result: {
      pem: toPem(der, "CERTIFICATE REQUEST"),
      subject: formatDn(prepared.subject),
      signatureAlgorithm: signatureAlgorithmName(choice.scheme),
      keyId: Buffer.from(key.id).toString("hex"),
    },
  };
}
