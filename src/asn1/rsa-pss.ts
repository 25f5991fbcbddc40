/**
 * RSASSA-PSS parameters (RFC 4055 3.1), apart from algorithms.ts: asn1-rsa's RsaSaPssParams
 * module serializes its SHA-1 defaults when it loads (about 130 KB of young heap, which tips
 * an EC key's `req` into a second scavenge), so only PSS signatures and the requests that
 * carry one load it.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { RsaSaPssParams } from "@peculiar/asn1-rsa";
import { parseBer } from "./der.js";

const OID_MGF1 = "1.2.840.113549.1.1.8";

/** Hash AlgorithmIdentifier with NULL parameters, as OpenSSL writes it in PSS params. */
function hashAlgorithm(hashOid: string): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: hashOid, parameters: null });
}

/** DER of the parameters tsp11 writes: MGF1 over the same hash, trailerField the default (1). */
export function pssParameters(hashOid: string, saltLength: number): ArrayBuffer {
  const params = new RsaSaPssParams({
    hashAlgorithm: hashAlgorithm(hashOid),
    maskGenAlgorithm: new AlgorithmIdentifier({
      algorithm: OID_MGF1,
      parameters: AsnConvert.serialize(hashAlgorithm(hashOid)),
    }),
    saltLength,
    trailerField: 1,
  });
  return AsnConvert.serialize(params);
}

/** The hash OID and salt length of DER RSASSA-PSS-params. */
export function readPssParameters(parameters: ArrayBuffer): {
  hashOid: string;
  saltLength: number;
} {
  const params = parseBer(parameters, RsaSaPssParams, "not valid RSA-PSS parameters");
  return { hashOid: params.hashAlgorithm.algorithm, saltLength: params.saltLength };
}
