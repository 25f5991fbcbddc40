/**
 * Signatures made (and checked) on the token. `planSignature` decides once per key what is
 * called: the requested mechanism when the module lists it, else, for the hashing ones it
 * lacks (SoftHSM 2.6 has no ECDSA-SHAxxx; p11-kit remoting no SHAxxx-RSA-PKCS-PSS), a digest
 * made on the host and signed with the raw mechanism (CKM_ECDSA; CKM_RSA_PKCS over a
 * DigestInfo; CKM_RSA_PKCS_PSS with params). `signBytes` / `signStream` then run the plan;
 * ECDSA signatures are raw r‖s at this level (ecdsaRawToDer makes the DER form).
 */
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { nextTurn } from "../pause.js";
import type { SignatureScheme } from "../asn1/algorithms.js";
import { findCurve } from "../asn1/curves.js";
import { TspError, usageError } from "../errors.js";
import {
  signMechanism,
  SignOperation,
  signOnce,
  verifyOnce,
  VerifyOperation,
} from "../pkcs11/crypto.js";
import { SIGN_CKM } from "../pkcs11/crypto.js";
import type { Mechanism } from "../pkcs11/lib.js";
import type { MaybePromise, TokenSession } from "../pkcs11/session.js";
import type { KeySelector, TokenKey } from "./find-key.js";
import { describeKeySelector, findKey } from "./find-key.js";
import { CLASS_VALUES } from "../pkcs11/names.js";
import type { Hash, SignMechanismName, SigningKeyType } from "./sign-mechanisms.js";
import {
  defaultMechanism,
  digestInfoOf,
  HASH_BYTES,
  HMAC_KEY_TYPES,
  mechanismsForKeyType,
  SIGN_MECHANISMS,
} from "./sign-mechanisms.js";

export type { Hash, SignMechanismName } from "./sign-mechanisms.js";

/** Inputs up to this size are hashed on the host by @noble/hashes, larger ones by node:crypto. */
export const SMALL_INPUT_BYTES = 64 * 1024;
const SMALL_INPUT_HASHES = { sha256, sha384, sha512 } as const;

/**
 * node:crypto, loaded at first use: loading it costs a start 7 ms, and req and cert (whose
 * host digests are of small inputs) need none of it.
 */
function nodeCrypto(): typeof import("node:crypto") {
  return process.getBuiltinModule("node:crypto");
}

/**
 * A digest made on the host: of a small input (a request's or certificate's to-be-signed
 * bytes) by @noble/hashes, of a larger one by node:crypto, several times faster per byte.
 */
export function hostDigest(hash: Hash, data: Uint8Array): Buffer {
  if (data.length > SMALL_INPUT_BYTES) return nodeCrypto().hash(hash, data, "buffer");
  const digest = SMALL_INPUT_HASHES[hash](data);
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** A message in pieces: an async stream (stdin) or a synchronous reader (a file). */
export type Chunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Chunks between two turns of the event loop, so Ctrl-C is seen during a long input. */
const CHUNKS_PER_TURN = 256;

/**
 * Feeds each chunk to `use`. A synchronous reader is iterated without `for await`, whose
 * promise per chunk is garbage that grows the young generation (RSS) on a 1 GiB input; it
 * still lets the event loop run (signals) every CHUNKS_PER_TURN chunks.
 */
export async function forEachChunk(
  chunks: Chunks,
  use: (chunk: Uint8Array) => void,
): Promise<void> {
  if (Symbol.iterator in chunks) {
    let count = 0;
    for (const chunk of chunks) {
      use(chunk);
      if (++count % CHUNKS_PER_TURN === 0) await nextTurn();
    }
    return;
  }
  for await (const chunk of chunks) use(chunk);
}

export interface SignRequest {
  /** Default: SHA256-RSA-PKCS for RSA, ECDSA-SHA256 for EC, EDDSA for Edwards keys. */
  mechanism?: SignMechanismName | undefined;
  /**
   * The digest: picks the default mechanism's variant (sha384 → SHA384-RSA-PKCS); the
   * digest the input of RSA-PKCS-PSS (and ECDSA, when given) is. Must agree with a
   * hashing mechanism's own.
   */
  hash?: Hash | undefined;
  /** PSS only: MGF1's hash (default: the signature's hash). */
  mgf?: Hash | undefined;
  /** PSS only: salt bytes (default the hash length; -1 the hash length, -2 the maximum). */
  saltLen?: number | undefined;
}

export interface SignaturePlan {
  /** The mechanism asked for (or the key's default): what the signature is. */
  name: SignMechanismName;
  keyType: SigningKeyType;
  /** What the token runs: `name`, or on the host-hash path its raw mechanism. */
  tokenName: SignMechanismName;
  /** The CK_MECHANISM passed to C_SignInit / C_VerifyInit. */
  mechanism: Mechanism;
  /** "token": the module hashes (or the mechanism does not hash); "host": node hashes first. */
  path: "token" | "host";
  /** The digest computed on the host (path "host"). */
  hostHash: Hash | undefined;
  /** Host path with CKM_RSA_PKCS: the digest is wrapped in a DigestInfo. */
  digestInfo: boolean;
  /** The scheme's hash: a hashing mechanism's, RSA-PKCS-PSS's --hash, ECDSA's --hash. */
  hash: Hash | undefined;
  /** PSS parameters as sent to the token. */
  pss: { hash: Hash; mgf: Hash; saltLen: number } | undefined;
  /** The input may be read in chunks (the token's C_SignUpdate, or a host digest). */
  streaming: boolean;
  /** One-shot mechanisms: the exact input length they take (a digest), when fixed. */
  inputLength: number | undefined;
  /** One-shot mechanisms: the longest input they take (RSA-PKCS: modulus bytes − 11). */
  maxInput: number | undefined;
  /** The output buffer for C_Sign / C_SignFinal: large enough for this key's signature. */
  signatureBytes: number;
  /** ECDSA: bytes of r and of s (the curve's field size). */
  fieldBytes: number | undefined;
  /** The X.509 signature scheme this signature is, where it is one (what `req` encodes). */
  scheme: SignatureScheme | undefined;
  /** One line for -v: which path was taken and why. */
  note: string;
}

function ckmName(name: SignMechanismName): string {
  return `CKM_${name.replaceAll("-", "_")}`;
}

/** The signing family of a key type: HMAC keys (generic secret, AES) count as "secret". */
function signingKeyType(keyType: string): SigningKeyType | undefined {
  if (keyType === "rsa" || keyType === "ec" || keyType === "ec-edwards") return keyType;
  return HMAC_KEY_TYPES.includes(keyType) ? "secret" : undefined;
}

function keyName(key: TokenKey): string {
  return key.label !== "" ? `"${key.label}"` : `with id ${Buffer.from(key.id).toString("hex")}`;
}

/** How the token would run a mechanism: itself, through its raw form, or not at all. */
function pathFor(
  session: TokenSession,
  name: SignMechanismName,
): { path: "token" | "host"; tokenName: SignMechanismName } | undefined {
  if (session.hasMechanism(SIGN_CKM[name] ?? -1)) return { path: "token", tokenName: name };
  const raw = SIGN_MECHANISMS[name].raw;
  if (raw !== undefined && session.hasMechanism(SIGN_CKM[raw] ?? -1)) {
    return { path: "host", tokenName: raw };
  }
  return undefined;
}

/** The mechanisms of our table this key can sign with on this token (directly or by host hashing). */
export function availableMechanisms(session: TokenSession, keyType: string): SignMechanismName[] {
  return mechanismsForKeyType(keyType).filter((name) => pathFor(session, name) !== undefined);
}

function canList(session: TokenSession, key: TokenKey): string {
  const names = availableMechanisms(session, key.keyType);
  return names.length > 0 ? names.join(", ") : "nothing this token offers";
}

function rsaBytes(key: TokenKey): number | undefined {
  return key.bits === undefined ? undefined : Math.ceil(key.bits / 8);
}

function checkOptions(name: SignMechanismName, request: SignRequest): void {
  const spec = SIGN_MECHANISMS[name];
  if (spec.scheme !== "rsa-pss" && (request.mgf !== undefined || request.saltLen !== undefined)) {
    throw usageError(`--mgf and --salt-len are PSS options; ${name} takes neither`);
  }
  if (request.hash === undefined) return;
  if (spec.hash !== undefined && spec.hash !== request.hash) {
    throw usageError(
      `--hash ${request.hash} conflicts with ${name}, which hashes with ${spec.hash}`,
    );
  }
  if (name === "RSA-PKCS" || name === "EDDSA") {
    throw usageError(
      `--hash does not apply to ${name}: ${name === "EDDSA" ? "EdDSA signs the message itself" : "its input (a DigestInfo or raw data) is signed as given"}`,
    );
  }
}

function pssParams(
  key: TokenKey,
  hash: Hash,
  request: SignRequest,
): { hash: Hash; mgf: Hash; saltLen: number } {
  const hLen = HASH_BYTES[hash];
  const bits = key.bits;
  // RFC 8017 9.1.1: emLen = ceil((modBits − 1) / 8) ≥ hLen + sLen + 2.
  const maxSalt = bits === undefined ? undefined : Math.ceil((bits - 1) / 8) - hLen - 2;
  let saltLen = request.saltLen ?? hLen;
  if (saltLen === -1) saltLen = hLen;
  if (saltLen === -2) {
    if (maxSalt === undefined) throw usageError("--salt-len -2 needs the key's modulus size");
    saltLen = maxSalt;
  }
  if (maxSalt !== undefined && (saltLen < 0 || saltLen > maxSalt)) {
    throw usageError(
      `--salt-len ${saltLen} is too long for a ${bits ?? 0}-bit key with ${hash} (at most ${maxSalt})`,
    );
  }
  return { hash, mgf: request.mgf ?? hash, saltLen };
}

function schemeOf(
  name: SignMechanismName,
  hash: Hash | undefined,
  pss: { saltLen: number } | undefined,
  curve: string | undefined,
): SignatureScheme | undefined {
  const scheme = SIGN_MECHANISMS[name].scheme;
  if (scheme === "eddsa") return curve === "ed25519" ? { kind: "ed25519" } : undefined;
  if (hash === undefined || scheme === "hmac") return undefined;
  if (scheme === "rsa-pkcs1") return name === "RSA-PKCS" ? undefined : { kind: "rsa-pkcs1", hash };
  if (scheme === "rsa-pss")
    return { kind: "rsa-pss", hash, saltLength: pss?.saltLen ?? HASH_BYTES[hash] };
  return { kind: "ecdsa", hash };
}

/**
 * Decides how `key` signs for `request`: the mechanism (checked against the key type and the
 * module's C_GetMechanismList), host-side hashing where the module lacks a combined
 * mechanism, PSS parameters and the signature buffer size. A mechanism the key cannot use
 * is a usage error (exit 2) that lists those it can.
 */
export function planSignature(
  session: TokenSession,
  key: TokenKey,
  request: SignRequest = {},
): SignaturePlan {
  const keyType = signingKeyType(key.keyType);
  if (keyType === undefined) {
    throw usageError(
      `key ${keyName(key)} is a ${key.keyType} key: only RSA, EC, Edwards and (HMAC) generic-secret keys sign`,
    );
  }
  const name =
    request.mechanism ??
    defaultMechanism(keyType === "secret" ? key.keyType : keyType, request.hash);
  const spec = SIGN_MECHANISMS[name];
  if (spec.keyType !== keyType) {
    throw usageError(
      `${name} needs ${spec.keyType === "ec-edwards" ? "an Edwards" : spec.keyType === "secret" ? "a generic-secret" : `an ${spec.keyType.toUpperCase()}`} key; key ${keyName(key)} is ${keyType} and can use: ${canList(session, key)}`,
    );
  }
  checkOptions(name, request);
  const route = pathFor(session, name);
  if (!route) {
    const raw = spec.raw !== undefined ? ` nor ${ckmName(spec.raw)}` : "";
    throw new TspError(
      "usage",
      `the token offers neither ${ckmName(name)}${raw}; key ${keyName(key)} can use: ${canList(session, key)}`,
      { ckr: "CKR_MECHANISM_INVALID" },
    );
  }

  const hash = spec.hash ?? (name === "RSA-PKCS" || name === "EDDSA" ? undefined : request.hash);
  const curve = key.curve !== undefined ? findCurve(key.curve) : undefined;
  const fieldBytes = keyType === "ec" ? curve?.fieldBytes : undefined;
  let pss: SignaturePlan["pss"];
  if (spec.scheme === "rsa-pss") pss = pssParams(key, hash ?? "sha256", request);

  const modulusBytes = rsaBytes(key);
  let signatureBytes = 1024;
  if (keyType === "rsa" && modulusBytes !== undefined) signatureBytes = Math.max(modulusBytes, 16);
  if (keyType === "ec" && fieldBytes !== undefined) signatureBytes = 2 * fieldBytes;
  if (keyType === "ec-edwards" && curve !== undefined) signatureBytes = 2 * curve.fieldBytes;
  if (keyType === "secret") signatureBytes = HASH_BYTES[spec.hash ?? "sha512"];

  const hostHash = route.path === "host" ? spec.hash : undefined;
  const streaming = spec.hash !== undefined;
  let inputLength: number | undefined;
  let maxInput: number | undefined;
  if (!streaming) {
    if (name === "RSA-PKCS") maxInput = modulusBytes !== undefined ? modulusBytes - 11 : 1024;
    if (name === "RSA-PKCS-PSS") inputLength = HASH_BYTES[pss?.hash ?? "sha256"];
    if (name === "ECDSA") {
      if (hash !== undefined) inputLength = HASH_BYTES[hash];
      else maxInput = 1024;
    }
  }

  const tokenMechanism = signMechanism(route.tokenName, pss);
  const pssNote = pss
    ? ` (hash ${pss.hash}, MGF1-${pss.mgf.toUpperCase()}, salt ${pss.saltLen})`
    : "";
  const note =
    route.path === "token"
      ? `${name}: signing with ${ckmName(name)} on the token${pssNote}`
      : `${name}: the token has no ${ckmName(name)}; hashing with ${hostHash ?? ""} on the host and signing with ${ckmName(route.tokenName)}${route.tokenName === "RSA-PKCS" ? " over a DigestInfo" : ""}${pssNote}`;

  return {
    name,
    keyType,
    tokenName: route.tokenName,
    mechanism: tokenMechanism,
    path: route.path,
    hostHash,
    digestInfo: route.path === "host" && route.tokenName === "RSA-PKCS",
    hash,
    pss,
    streaming,
    inputLength,
    maxInput,
    signatureBytes,
    fieldBytes,
    scheme: schemeOf(name, hash, pss, curve?.name),
    note,
  };
}

/** The bytes given to the token for a digest made on the host. */
function hostInput(plan: SignaturePlan, digest: Buffer): Buffer {
  if (plan.digestInfo && plan.hostHash) return digestInfoOf(plan.hostHash, digest);
  return digest;
}

/** Checks a one-shot mechanism's input (a digest of the right length, a short enough message). */
function checkOneShotInput(plan: SignaturePlan, length: number): void {
  if (plan.inputLength !== undefined && length !== plan.inputLength) {
    throw usageError(
      `${plan.name} signs a ${plan.hash ?? "sha256"} digest of ${plan.inputLength} bytes; the input has ${length}`,
    );
  }
  if (plan.maxInput !== undefined && length > plan.maxInput) {
    throw usageError(
      `${plan.name} takes at most ${plan.maxInput} bytes of input with this key; the input has ${length}${plan.name === "RSA-PKCS" ? " (give a DigestInfo, or use SHA256-RSA-PKCS)" : ""}`,
    );
  }
}

/** What the token gets for a whole message, per the plan. */
export function tokenInput(plan: SignaturePlan, data: Uint8Array): Uint8Array {
  if (plan.hostHash !== undefined) return hostInput(plan, hostDigest(plan.hostHash, data));
  if (!plan.streaming) checkOneShotInput(plan, data.length);
  return data;
}

/**
 * Signs a whole message in one call (C_SignInit + C_Sign). ECDSA: raw r‖s. A promise in an
 * async session (serve), a plain value in the CLI's.
 */
export function signBytes(
  session: TokenSession,
  key: TokenKey,
  plan: SignaturePlan,
  data: Uint8Array,
): MaybePromise<Buffer> {
  return signOnce(session, plan.mechanism, key.handle, tokenInput(plan, data), plan.signatureBytes);
}

/**
 * Collects the input of a one-shot mechanism, refusing more than it can take (so a huge
 * input fails fast instead of filling memory). EdDSA takes any length.
 */
async function collect(plan: SignaturePlan, chunks: Chunks): Promise<Buffer> {
  const limit = plan.inputLength ?? plan.maxInput;
  const parts: Buffer[] = [];
  let length = 0;
  await forEachChunk(chunks, (chunk) => {
    length += chunk.length;
    if (limit !== undefined && length > limit) checkOneShotInput(plan, length);
    parts.push(Buffer.from(chunk));
  });
  return Buffer.concat(parts, length);
}

/**
 * Signs a message read in chunks: C_SignUpdate per chunk when the token hashes, a node
 * digest when the host does; one-shot mechanisms collect their (short) input first. Chunks
 * are used before the next is pulled, so a reader may reuse one buffer.
 */
export async function signStream(
  session: TokenSession,
  key: TokenKey,
  plan: SignaturePlan,
  chunks: Chunks,
): Promise<Buffer> {
  if (plan.hostHash !== undefined) {
    const hash = nodeCrypto().createHash(plan.hostHash);
    await forEachChunk(chunks, (chunk) => hash.update(chunk));
    const input = hostInput(plan, hash.digest());
    return signOnce(session, plan.mechanism, key.handle, input, plan.signatureBytes);
  }
  if (!plan.streaming) return signBytes(session, key, plan, await collect(plan, chunks));
  const operation = new SignOperation(session, plan.mechanism, key.handle, plan.signatureBytes);
  try {
    await forEachChunk(chunks, (chunk) => {
      operation.update(chunk);
    });
  } catch (error) {
    operation.abort();
    throw error;
  }
  return operation.final();
}

/**
 * The key that verifies: the public key the selector names; else, when the selector names
 * only a private key, the public key with that key's CKA_ID (C_VerifyInit wants the public
 * half). A public key object alone is enough.
 */
export function findVerifyingKey(session: TokenSession, selector: KeySelector): TokenKey {
  try {
    return findKey(session, "public-key", selector);
  } catch (error) {
    if (!(error instanceof TspError) || error.kind !== "not-found") throw error;
  }
  let privateKey: TokenKey;
  try {
    privateKey = findKey(session, "private-key", selector);
  } catch (error) {
    if (!(error instanceof TspError) || error.kind !== "not-found") throw error;
    // HMAC: the secret key verifies its own MACs.
    if (
      session.findObjects({ class: CLASS_VALUES["secret-key"], ...selectorQuery(selector) })
        .length > 0
    ) {
      return findKey(session, "secret-key", selector);
    }
    throw new TspError(
      "not-found",
      `find key: no public key with ${describeKeySelector(selector)} on the token`,
    );
  }
  const id = privateKey.id;
  if (id.length > 0 && session.findObjects({ class: CLASS_VALUES["public-key"], id }).length > 0) {
    return findKey(session, "public-key", { id });
  }
  throw new TspError(
    "not-found",
    `find key: the private key with ${describeKeySelector(selector)} has no public key on the token to verify with`,
  );
}

function selectorQuery(selector: KeySelector): { label?: string; id?: Uint8Array } {
  return {
    ...(selector.label !== undefined ? { label: selector.label } : {}),
    ...(selector.id !== undefined ? { id: selector.id } : {}),
  };
}

/** Checks a signature over a whole message (C_VerifyInit + C_Verify). ECDSA: raw r‖s. */
export function verifyBytes(
  session: TokenSession,
  key: TokenKey,
  plan: SignaturePlan,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  return verifyOnce(session, plan.mechanism, key.handle, tokenInput(plan, data), signature);
}

/** Checks a signature over a message read in chunks, as signStream signs it. */
export async function verifyStream(
  session: TokenSession,
  key: TokenKey,
  plan: SignaturePlan,
  chunks: Chunks,
  signature: Uint8Array,
): Promise<boolean> {
  if (plan.hostHash !== undefined) {
    const hash = nodeCrypto().createHash(plan.hostHash);
    await forEachChunk(chunks, (chunk) => hash.update(chunk));
    return verifyOnce(
      session,
      plan.mechanism,
      key.handle,
      hostInput(plan, hash.digest()),
      signature,
    );
  }
  if (!plan.streaming) {
    return verifyBytes(session, key, plan, await collect(plan, chunks), signature);
  }
  const operation = new VerifyOperation(session, plan.mechanism, key.handle);
  try {
    await forEachChunk(chunks, (chunk) => {
      operation.update(chunk);
    });
  } catch (error) {
    operation.abort();
    throw error;
  }
  return operation.final(signature);
}
