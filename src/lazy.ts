/**
 * Everything commands load only when they run: the cores that need the ASN.1 stack (the
 * @peculiar schemas). They come through this one module, by one dynamic import, because
 * esbuild gives each distinct set of importers a chunk of its own and every chunk file costs
 * start-up time: with one lazy entry, `tsp11 list-slots` loads a handful of files, not a dozen.
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
