/**
 * Everything commands load only when they run: the cores that need the ASN.1 stack (the
 * @peculiar schemas, which build their tables as they load). They come through this one
 * module, by dynamic import: in the bundle, a module imported that way is initialized on first
 * use, so `tsp11 list-slots` never runs the schemas' set-up.
 */
export { parseCertificate } from "./asn1/cert.js";
export { ecdsaDerToRaw, ecdsaRawToDer } from "./asn1/ecdsa.js";
export { prepareCert, runCert } from "./core/cert.js";
export { prepareImport, runImport } from "./core/import-key.js";
export { runKeygen } from "./core/keygen.js";
export { keyIdOf } from "./core/public-key.js";
export { runReadObject } from "./core/read-object.js";
export { prepareReq, runReq } from "./core/req.js";
export { prepareObject, runWriteChain, runWriteObject } from "./core/write-object.js";
export { parsePeerKey, runDerive } from "./core/derive.js";
