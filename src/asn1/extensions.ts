/**
 * Certificate extensions a `tsp11 cert` needs (RFC 5280 4.2.1). Key identifiers are passed in
 * rather than hashed here, to keep this layer free of crypto: RFC 5280 4.2.1.2 method 1 is the
 * SHA-1 of subjectPublicKeyBytes(spki).
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Extension,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  type GeneralName,
  SubjectPublicKeyInfo,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from "@peculiar/asn1-x509";
import { fromArrayBuffer, toArrayBuffer } from "./bytes.js";
import { parseDer } from "./der.js";

export type KeyUsageName = keyof typeof KeyUsageFlags;

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({
    extnID,
    critical,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  });
}

/** basicConstraints, critical as RFC 5280 4.2.1.9 requires for CA certificates. */
export function basicConstraintsExtension(ca: boolean, pathLength?: number): Extension {
  const value = new BasicConstraints({ cA: ca, pathLenConstraint: ca ? pathLength : undefined });
  return extension(id_ce_basicConstraints, true, value);
}

/** keyUsage, critical (RFC 5280 4.2.1.3: SHOULD be). */
export function keyUsageExtension(usages: readonly KeyUsageName[]): Extension {
  const flags = usages.reduce((acc, u) => acc | KeyUsageFlags[u], 0);
  return extension(id_ce_keyUsage, true, new KeyUsage(flags));
}

export function subjectKeyIdentifierExtension(keyId: Uint8Array): Extension {
  return extension(
    id_ce_subjectKeyIdentifier,
    false,
    new SubjectKeyIdentifier(toArrayBuffer(keyId)),
  );
}

export function authorityKeyIdentifierExtension(keyId: Uint8Array): Extension {
  const value = new AuthorityKeyIdentifier({
    keyIdentifier: new KeyIdentifier(toArrayBuffer(keyId)),
  });
  return extension(id_ce_authorityKeyIdentifier, false, value);
}

/** The BIT STRING content of an SPKI: what key identifiers hash (RFC 5280 4.2.1.2, method 1). */
export function subjectPublicKeyBytes(spki: Uint8Array): Uint8Array {
  const info = parseDer(spki, SubjectPublicKeyInfo, "not a DER SubjectPublicKeyInfo");
  return fromArrayBuffer(info.subjectPublicKey);
}

/** A non-critical subjectAltName extension (RFC 5280 4.2.1.6: critical only with an empty subject). */
export function subjectAltNameExtension(sans: GeneralName[], critical = false): Extension {
  return extension(id_ce_subjectAltName, critical, new SubjectAlternativeName(sans));
}
