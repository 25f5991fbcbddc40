/**
 * A token key's public half as plain bytes, and the NSS/Mastercard CKA_ID made of it (SHA-1 of
 * the modulus, of the EC point 04‖X‖Y, of the Ed25519 key). Its SPKI is asn1/spki.ts's spkiOf:
 * this file stays clear of the ASN.1 stack, which keygen loads only for a PEM.
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { bitLength, stripLeadingZeros } from "../asn1/bytes.js";
import { curveFromEcParams } from "../asn1/curves.js";
import { unwrapEcPoint } from "../asn1/ec-point.js";
import type { PublicValues } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import type { Handle } from "../pkcs11/lib.js";
import { CLASS_VALUES, keyTypeName } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { KeyWithId } from "./find-key.js";

/** A key's public attributes (spki.ts's PublicValues), and the object they were read from. */
export interface PublicKeyMaterial extends PublicValues {
  /** The public key object, when publicMaterialOf found one. */
  object?: Handle;
}

/** The attributes that hold each key type's public value. */
const PUBLIC_ATTRIBUTES = {
  rsa: ["modulus", "publicExponent"],
  ec: ["ecParams", "ecPoint"],
  "ec-edwards": ["ecParams", "ecPoint"],
  "ec-montgomery": ["ecParams", "ecPoint"],
} as const;

/**
 * Reads the public material of a key object (public key, or RSA private key): its key type,
 * then that type's two attributes in one read (an EC private key lacks the point: no
 * material). One read of all five would be refused for the three every key lacks, and cost a
 * read per attribute after.
 */
export function readPublicMaterial(
  session: TokenSession,
  handle: Handle,
): PublicKeyMaterial | undefined {
  const { keyType: value } = session.read(handle, ["keyType"]);
  const keyType = value === undefined ? undefined : keyTypeName(value);
  if (keyType === "rsa") {
    const { modulus, publicExponent } = session.tryRead(handle, PUBLIC_ATTRIBUTES.rsa) ?? {};
    return modulus && publicExponent ? { keyType, modulus, publicExponent } : undefined;
  }
  if (keyType === "ec" || keyType === "ec-edwards" || keyType === "ec-montgomery") {
    const { ecParams, ecPoint } = session.tryRead(handle, PUBLIC_ATTRIBUTES[keyType]) ?? {};
    return ecParams && ecPoint ? { keyType, ecParams, ecPoint } : undefined;
  }
  return undefined;
}

function sameId(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(b);
}

/**
 * The public material of a private key: from the key itself where it carries it (RSA), else
 * from the public key with the same CKA_ID (SoftHSM's EC private keys have no CKA_EC_POINT).
 */
export function publicMaterialOf(
  session: TokenSession,
  privateKey: Handle,
  id: Uint8Array | undefined,
  candidates?: readonly KeyWithId[],
): PublicKeyMaterial {
  if (id && id.length > 0) {
    // A public key found with the private one, if one has its id; else a search by the id.
    const publicKey =
      candidates?.find((candidate) => sameId(candidate.id, id))?.handle ??
      session.findObjects({ class: CLASS_VALUES["public-key"], id })[0];
    const material = publicKey ? readPublicMaterial(session, publicKey) : undefined;
    if (material) return { ...material, object: publicKey };
  }
  const own = readPublicMaterial(session, privateKey);
  if (own) return own;
  const shownId = id && id.length > 0 ? Buffer.from(id).toString("hex") : "(none)";
  throw new TspError(
    "not-found",
    `read public key: no public key with id ${shownId} on the token for this private key`,
  );
}

/** The bytes the SHA-1 id is computed over. */
export function idSource(material: PublicKeyMaterial): Uint8Array {
  if (material.keyType === "rsa" && material.modulus) return stripLeadingZeros(material.modulus);
  if (material.ecPoint) return unwrapEcPoint(material.ecPoint);
  throw new TspError("failure", "derive key id: the key's public value is missing");
}

/**
 * SHA-1 by @noble/hashes, not node:crypto: loading node:crypto costs a start about 5 ms, and
 * keygen and write-object need no more of it than this.
 */
export function keyIdOf(material: PublicKeyMaterial): Uint8Array {
  return sha1(idSource(material));
}

export function describeMaterial(material: PublicKeyMaterial): { bits?: number; curve?: string } {
  if (material.keyType === "rsa" && material.modulus) {
    return { bits: bitLength(material.modulus) };
  }
  const curve = material.ecParams ? curveFromEcParams(material.ecParams) : undefined;
  return curve ? { curve: curve.name } : {};
}
