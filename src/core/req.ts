/**
 * req: a PKCS#10 request whose signature is made on the token. The public key is the token
 * key's own (SPKI from its public half); the CertificationRequestInfo is signed with the
 * mechanism that fits the key; before anything is returned the signature is checked on the
 * host against that public key, so a public object that does not belong to the private key
 * (same CKA_ID, another key) never yields a request a CA would reject.
 */
import type { GeneralName, Name } from "@peculiar/asn1-x509";
import type { Hash } from "../asn1/algorithms.js";
import { signatureAlgorithmName } from "../asn1/algorithms.js";
import { buildCsr } from "../asn1/csr.js";
import { formatDn, parseDn } from "../asn1/dn.js";
import { toPem } from "../asn1/pem.js";
import { parseSanList } from "../asn1/san.js";
import { TspError } from "../errors.js";
import type { TokenScope } from "../pkcs11/token.js";
import type { KeySelector } from "./find-key.js";
import { findKey } from "./find-key.js";
import { tokenSigner } from "./token-signer.js";

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

export async function runReq(
  scope: TokenScope,
  selector: KeySelector,
  prepared: PreparedReq,
  hooks: ReqHooks,
): Promise<ReqOutcome> {
  const key = findKey(scope.session, "private-key", selector);
  const signer = tokenSigner(scope.session, key, prepared, hooks);
  const der = await buildCsr({
    subject: prepared.subject,
    spki: signer.publicKeyInfo,
    sans: prepared.sans,
    scheme: signer.scheme,
    sign: signer.sign,
  });
  return {
    der,
    result: {
      pem: toPem(der, "CERTIFICATE REQUEST"),
      subject: formatDn(prepared.subject),
      signatureAlgorithm: signatureAlgorithmName(signer.scheme),
      keyId: Buffer.from(key.id).toString("hex"),
    },
  };
}
