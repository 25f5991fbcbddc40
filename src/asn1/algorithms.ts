/**
 * Signature algorithm identifiers for the schemes tsp11 signs with. OIDs are spelled out here
 * rather than taken from asn1-rsa's ready-made constants: in 2.11.1 its
 * sha224/sha256WithRSAEncryption constants carry the sha512-224/256 OIDs.
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { DigestInfo } from "@peculiar/asn1-rsa";
import { TspError } from "../errors.js";
import { toArrayBuffer } from "./bytes.js";
import { readPssParameters } from "./rsa-pss.js";

export type Hash = "sha256" | "sha384" | "sha512";

export type SignatureScheme =
  | { kind: "rsa-pkcs1"; hash: Hash }
  | { kind: "rsa-pss"; hash: Hash; saltLength: number }
  | { kind: "ecdsa"; hash: Hash }
  | { kind: "ed25519" };

/**
 * Signs `tbs` (the DER CertificationRequestInfo or TBSCertificate) and returns the signature
 * already in the algorithm's encoding: for ECDSA that is DER (convert CKM_ECDSA's r‖s with
 * ecdsaRawToDer first), for RSA and Ed25519 the token's bytes as they are.
 */
export type Signer = (tbs: Uint8Array) => Uint8Array | Promise<Uint8Array>;

interface HashInfo {
  oid: string;
  bytes: number;
  rsaOid: string;
  rsaName: string;
  ecdsaOid: string;
  ecdsaName: string;
}

// RFC 5754 (hash and ECDSA OIDs), RFC 4055 (sha*WithRSAEncryption).
export const HASHES: Readonly<Record<Hash, HashInfo>> = {
  sha256: {
    oid: "2.16.840.1.101.3.4.2.1",
    bytes: 32,
    rsaOid: "1.2.840.113549.1.1.11",
    rsaName: "sha256WithRSAEncryption",
    ecdsaOid: "1.2.840.10045.4.3.2",
    ecdsaName: "ecdsa-with-SHA256",
  },
  sha384: {
    oid: "2.16.840.1.101.3.4.2.2",
    bytes: 48,
    rsaOid: "1.2.840.113549.1.1.12",
    rsaName: "sha384WithRSAEncryption",
    ecdsaOid: "1.2.840.10045.4.3.3",
    ecdsaName: "ecdsa-with-SHA384",
  },
  sha512: {
    oid: "2.16.840.1.101.3.4.2.3",
    bytes: 64,
    rsaOid: "1.2.840.113549.1.1.13",
    rsaName: "sha512WithRSAEncryption",
    ecdsaOid: "1.2.840.10045.4.3.4",
    ecdsaName: "ecdsa-with-SHA512",
  },
};

export const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
export const OID_ED25519 = "1.3.101.112";

/** Hash AlgorithmIdentifier with NULL parameters, as OpenSSL writes it in DigestInfo. */
function hashAlgorithm(hash: Hash): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: HASHES[hash].oid, parameters: null });
}

/**
 * The AlgorithmIdentifier of a signature: PKCS#1 v1.5 with NULL parameters (RFC 4055 2.1),
 * PSS with explicit RSASSA-PSS-params (MGF1 over the same hash; trailerField is the default
 * and so left out, RFC 4055 3.1), ECDSA and Ed25519 with absent parameters (RFC 5758 3.2,
 * RFC 8410 3). Async for PSS, whose parameter schema is loaded only then (rsa-pss.ts).
 */
export async function signatureAlgorithmIdentifier(
  scheme: SignatureScheme,
): Promise<AlgorithmIdentifier> {
  switch (scheme.kind) {
    case "rsa-pkcs1":
      return new AlgorithmIdentifier({ algorithm: HASHES[scheme.hash].rsaOid, parameters: null });
    case "rsa-pss": {
      const { pssParameters } = await import("./rsa-pss.js");
      return new AlgorithmIdentifier({
        algorithm: OID_RSASSA_PSS,
        parameters: pssParameters(HASHES[scheme.hash].oid, scheme.saltLength),
      });
    }
    case "ecdsa":
      return new AlgorithmIdentifier({ algorithm: HASHES[scheme.hash].ecdsaOid });
    case "ed25519":
      return new AlgorithmIdentifier({ algorithm: OID_ED25519 });
  }
}

/** The name OpenSSL prints for the scheme (`openssl req -text`, "Signature Algorithm"). */
export function signatureAlgorithmName(scheme: SignatureScheme): string {
  switch (scheme.kind) {
    case "rsa-pkcs1":
      return HASHES[scheme.hash].rsaName;
    case "rsa-pss":
      return "rsassaPss";
    case "ecdsa":
      return HASHES[scheme.hash].ecdsaName;
    case "ed25519":
      return "ED25519";
  }
}

/** OpenSSL's name for a signature algorithm OID, or the dotted OID when it is not one of ours. */
export function signatureAlgorithmNameFromOid(oid: string): string {
  if (oid === OID_RSASSA_PSS) return "rsassaPss";
  if (oid === OID_ED25519) return "ED25519";
  for (const info of Object.values(HASHES)) {
    if (info.rsaOid === oid) return info.rsaName;
    if (info.ecdsaOid === oid) return info.ecdsaName;
  }
  return oid;
}

/**
 * The scheme of a signature AlgorithmIdentifier, the inverse of signatureAlgorithmIdentifier
 * (for checking a request's self-signature); undefined for algorithms tsp11 does not know.
 */
export function signatureSchemeOf(identifier: AlgorithmIdentifier): SignatureScheme | undefined {
  const oid = identifier.algorithm;
  if (oid === OID_ED25519) return { kind: "ed25519" };
  const hashOf = (hashOid: string) =>
    (Object.keys(HASHES) as Hash[]).find((hash) => HASHES[hash].oid === hashOid);
  if (oid === OID_RSASSA_PSS && identifier.parameters) {
    const { hashOid, saltLength } = readPssParameters(identifier.parameters);
    const hash = hashOf(hashOid);
    return hash ? { kind: "rsa-pss", hash, saltLength } : undefined;
  }
  for (const hash of Object.keys(HASHES) as Hash[]) {
    if (HASHES[hash].rsaOid === oid) return { kind: "rsa-pkcs1", hash };
    if (HASHES[hash].ecdsaOid === oid) return { kind: "ecdsa", hash };
  }
  return undefined;
}

/**
 * DER DigestInfo (RFC 8017 section 9.2): what CKM_RSA_PKCS signs when the hash was computed
 * outside the token.
 */
export function digestInfo(hash: Hash, digest: Uint8Array): Uint8Array {
  if (digest.length !== HASHES[hash].bytes) {
    throw new TspError(
      "usage",
      `a ${hash} digest is ${HASHES[hash].bytes} bytes, the input has ${digest.length}`,
    );
  }
  const info = new DigestInfo({
    digestAlgorithm: hashAlgorithm(hash),
    digest: new OctetString(toArrayBuffer(digest)),
  });
  return new Uint8Array(AsnConvert.serialize(info));
}
