/**
 * PKCS#8 PrivateKeyInfo (RFC 5208) from a token key's private attributes, for the keys a
 * module lets out in the clear. RSA: RFC 8017 A.1.2 RSAPrivateKey. EC: RFC 5915 ECPrivateKey
 * with the named curve. Ed25519/Ed448 (and X25519/X448): RFC 8410 7, the raw key in an
 * OCTET STRING.
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { PrivateKey, PrivateKeyInfo, Version } from "@peculiar/asn1-pkcs8";
import { RSAPrivateKey } from "@peculiar/asn1-rsa";
import { ECParameters, ECPrivateKey } from "@peculiar/asn1-ecc";
import { TspError } from "../errors.js";
import { fromHex, toArrayBuffer, unsignedToInteger } from "./bytes.js";
import { curveFromEcParams } from "./curves.js";
import { toPem } from "./pem.js";

const OID_RSA = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";

/** CKA_MODULUS ... CKA_COEFFICIENT: unsigned big-endian, as the module gives them. */
export interface RsaPrivateParts {
  modulus: Uint8Array;
  publicExponent: Uint8Array;
  privateExponent: Uint8Array;
  prime1: Uint8Array;
  prime2: Uint8Array;
  exponent1: Uint8Array;
  exponent2: Uint8Array;
  coefficient: Uint8Array;
}

export function rsaPrivateKeyInfo(parts: RsaPrivateParts): Uint8Array {
  const key = new RSAPrivateKey({
    version: 0,
    modulus: unsignedToInteger(parts.modulus),
    publicExponent: unsignedToInteger(parts.publicExponent),
    privateExponent: unsignedToInteger(parts.privateExponent),
    prime1: unsignedToInteger(parts.prime1),
    prime2: unsignedToInteger(parts.prime2),
    exponent1: unsignedToInteger(parts.exponent1),
    exponent2: unsignedToInteger(parts.exponent2),
    coefficient: unsignedToInteger(parts.coefficient),
  });
  return serialize(
    new AlgorithmIdentifier({ algorithm: OID_RSA, parameters: null }),
    AsnConvert.serialize(key),
  );
}

/** From CKA_EC_PARAMS and CKA_VALUE (the private scalar, or the raw Edwards/Montgomery key). */
export function ecPrivateKeyInfo(ecParams: Uint8Array, value: Uint8Array): Uint8Array {
  const curve = curveFromEcParams(ecParams);
  if (!curve)
    throw new TspError("usage", "export private key: the key's curve is not one tsp11 knows");
  if (curve.keyType !== "ec") {
    const inner = AsnConvert.serialize(new OctetString(toArrayBuffer(value)));
    return serialize(new AlgorithmIdentifier({ algorithm: curve.oid }), inner);
  }
  // The scalar as an octet string of the field's size (modules may drop leading zeros).
  const scalar = new Uint8Array(Math.max(curve.fieldBytes, value.length));
  scalar.set(value, scalar.length - value.length);
  const key = new ECPrivateKey({
    version: 1,
    privateKey: new OctetString(toArrayBuffer(scalar)),
    parameters: new ECParameters({ namedCurve: curve.oid }),
  });
  return serialize(
    new AlgorithmIdentifier({
      algorithm: OID_EC_PUBLIC_KEY,
      parameters: toArrayBuffer(fromHex(curve.ecParamsHex)),
    }),
    AsnConvert.serialize(key),
  );
}

function serialize(algorithm: AlgorithmIdentifier, privateKey: ArrayBuffer): Uint8Array {
  const info = new PrivateKeyInfo({
    version: Version.v1,
    privateKeyAlgorithm: algorithm,
    privateKey: new PrivateKey(privateKey),
  });
  return new Uint8Array(AsnConvert.serialize(info));
}

export function privateKeyInfoToPem(der: Uint8Array): string {
  return toPem(der, "PRIVATE KEY");
}
