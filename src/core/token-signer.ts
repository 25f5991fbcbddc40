/**
 * Signing certificate requests and certificates with a token key: the scheme follows the key
 * (RSA PKCS#1 v1.5 or PSS, ECDSA, Ed25519), the token signs with the fitting mechanism (or
 * the raw one after host hashing, where the module lacks the combined one), and every
 * signature is checked against the key's public half before it is used, so a public object
 * that does not belong to the private key (same CKA_ID, another key) never yields a request
 * or certificate that would not verify.
 */
import type { SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import type { Hash, SignatureScheme, Signer } from "../asn1/algorithms.js";
import { HASHES } from "../asn1/algorithms.js";
import { ecdsaRawToDer } from "../asn1/ecdsa.js";
import { publicKeyInfoOf, spkiDer } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import { signOnce, verifyOnce } from "../pkcs11/crypto.js";
import type { Handle, Mechanism } from "../pkcs11/lib.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { TokenKey } from "./find-key.js";
import { publicMaterialOf } from "./public-key.js";
import type { SignMechanismName } from "./sign-mechanisms.js";
import { planSignature, tokenInput } from "./signing.js";

export interface SignerHooks {
  warn: (message: string) => void;
}

/** What the user asked of the signature; the key decides the rest. */
export interface SignatureWish {
  /** undefined: the default (sha256), so an Ed25519 key is not warned about it. */
  hash: Hash | undefined;
  pss: boolean;
}

export interface TokenSigner {
  scheme: SignatureScheme;
  /** DER SubjectPublicKeyInfo of the signing key. */
  spki: Uint8Array;
  /** The same, as the structure (what a request embeds). */
  publicKeyInfo: SubjectPublicKeyInfo;
  /** Signs DER to-be-signed bytes; the result is in the scheme's encoding (ECDSA as DER). */
  sign: Signer;
}

interface SigningChoice {
  scheme: SignatureScheme;
  mechanism: SignMechanismName;
  saltLen?: number;
}

/** The signature scheme and token mechanism for the key: the algorithm follows the key. */
export function signingChoice(
  key: TokenKey,
  wish: SignatureWish,
  hooks: SignerHooks,
): SigningChoice {
  const hash = wish.hash ?? "sha256";
  const tag = hash.toUpperCase() as "SHA256" | "SHA384" | "SHA512";
  if (wish.pss && key.keyType !== "rsa") {
    throw new TspError(
      "usage",
      `choose the signature: --pss needs an RSA key; this one is ${key.keyType}`,
    );
  }
  switch (key.keyType) {
    case "rsa":
      if (wish.pss) {
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
          `choose the signature: ${key.curve ?? "this Edwards curve"} keys cannot sign requests or certificates (Ed25519 keys can)`,
        );
      }
      if (wish.hash !== undefined) {
        hooks.warn(`--hash ${wish.hash} is ignored: Ed25519 signs the request itself`);
      }
      return { scheme: { kind: "ed25519" }, mechanism: "EDDSA" };
    default:
      throw new TspError(
        "usage",
        `choose the signature: a ${key.keyType} key cannot sign requests or certificates (RSA, EC and Ed25519 keys can)`,
      );
  }
}

/**
 * Checks the signature on the host against the SPKI, with node:crypto, loaded only here: it
 * costs a start 7 ms.
 */
function checkOnHost(
  scheme: SignatureScheme,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const { constants, createPublicKey, verify } = process.getBuiltinModule("node:crypto");
  const key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  switch (scheme.kind) {
    case "rsa-pkcs1":
      return verify(scheme.hash, data, key, signature);
    case "rsa-pss":
      return verify(
        scheme.hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength },
        signature,
      );
    case "ecdsa":
      return verify(scheme.hash, data, { key, dsaEncoding: "der" }, signature);
    case "ed25519":
      return verify(null, data, key, signature);
  }
}

/**
 * What a signature is checked against: the SPKI, and the public key object it came from, with
 * the mechanism it was made with.
 */
interface SignatureCheck {
  scheme: SignatureScheme;
  mechanism: Mechanism;
  spki: Uint8Array;
  publicKey: Handle | undefined;
}

/** A signature over `tbs`: the token's bytes for `input` (what it signed), and the encoded form. */
interface MadeSignature {
  tbs: Uint8Array;
  input: Uint8Array;
  raw: Uint8Array;
  encoded: Uint8Array;
}

/**
 * Whether the signature verifies with the key the SPKI holds: on the token, with the public key
 * object the SPKI was made of, called as the signature was made (same mechanism, same input);
 * on the host where the SPKI came from the private key itself, or the token cannot verify
 * with the object (no CKA_VERIFY, no such mechanism).
 */
function signatureVerifies(
  session: TokenSession,
  check: SignatureCheck,
  made: MadeSignature,
): boolean {
  if (check.publicKey !== undefined) {
    try {
      return verifyOnce(session, check.mechanism, check.publicKey, made.input, made.raw);
    } catch (error) {
      if (!(error instanceof TspError)) throw error;
    }
  }
  return checkOnHost(check.scheme, check.spki, made.tbs, made.encoded);
}

/** The token key as a signer of DER structures (requests, certificates). */
export function tokenSigner(
  session: TokenSession,
  key: TokenKey,
  wish: SignatureWish,
  hooks: SignerHooks,
): TokenSigner {
  const material = publicMaterialOf(session, key.handle, key.id, key.publicKeys);
  const publicKeyInfo = publicKeyInfoOf(material);
  const spki = spkiDer(publicKeyInfo);
  const choice = signingChoice(key, wish, hooks);
  const plan = planSignature(session, key, {
    mechanism: choice.mechanism,
    ...(choice.saltLen !== undefined ? { saltLen: choice.saltLen } : {}),
  });
  const { mechanism, signatureBytes } = plan;
  const check = { scheme: choice.scheme, mechanism, spki, publicKey: material.object };
  return {
    scheme: choice.scheme,
    spki,
    publicKeyInfo,
    sign: async (tbs) => {
      // The token's input (a host digest, where it hashes on the host) made once, for both calls.
      const input = tokenInput(plan, tbs);
      const raw = await signOnce(session, mechanism, key.handle, input, signatureBytes);
      const signature = choice.scheme.kind === "ecdsa" ? ecdsaRawToDer(raw) : new Uint8Array(raw);
      if (!signatureVerifies(session, check, { tbs, input, raw, encoded: signature })) {
        throw new TspError(
          "failure",
          `check the signature: the token's signature does not verify with the public key of id ${Buffer.from(key.id).toString("hex")} (does the public key object belong to this private key?)`,
        );
      }
      return signature;
    },
  };
}
