import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { findCurve, type Curve } from "../../../src/asn1/curves.js";

/** CKA_EC_POINT as PKCS#11 specifies it: a DER OCTET STRING around the point. */
export const wrap = (point: Uint8Array): Uint8Array =>
  new Uint8Array(AsnConvert.serialize(new OctetString(point)));

export const curve = (name: string): Curve => {
  const found = findCurve(name);
  if (!found) throw new Error(name);
  return found;
};
