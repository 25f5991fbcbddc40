/**
 * One function per operation from the API's JSON form (serve's request bodies, batch's
 * `args`) to a core call: serve's routes and `tsp11 batch` both go through these, so the
 * same arguments give the same result either way (see ./operation.ts). keygen, req,
 * write-object, list-objects, list-slots and sign are here; the others in ./operations/.
 */
import { ecdsaRawToDer } from "../asn1/ecdsa.js";
import type {
  ImportedObject,
  ImportOptions,
  ImportType,
  PreparedImport,
} from "../core/import-key.js";
import { prepareImport, runImport } from "../core/import-key.js";
import type { TokenKey } from "../core/find-key.js";
import { findSigningKey, keySelectorOf } from "../core/find-key.js";
import { runKeygen } from "../core/keygen.js";
import { runListObjects } from "../core/list-objects.js";
import { runListSlots } from "../core/list-slots.js";
import { prepareReq, runReq } from "../core/req.js";
import { parseMechanismName } from "../core/sign-mechanisms.js";
import type { SignRequest } from "../core/signing.js";
import { planSignature, signBytes } from "../core/signing.js";
import { prepareObject, runWriteObject } from "../core/write-object.js";
import { TspError } from "../errors.js";
import { parseMechanismList } from "../mechanism-list.js";
import { parseKeySpec } from "../options.js";
import { Pin } from "../pin.js";
import type { TokenSession } from "../pkcs11/session.js";
import type {
  CsrBody,
  KeygenBody,
  ObjectsQuery,
  SignBody,
  WriteObjectBody,
} from "../serve/schemas.js";
import {
  CSR_BODY,
  KEYGEN_BODY,
  OBJECTS_QUERY,
  SIGN_BODY,
  SLOTS_QUERY,
  WRITE_OBJECT_BODY,
} from "../serve/schemas.js";
import type { Operation } from "./operation.js";
import { defineOperation, hexIdOf, usageOf } from "./operation.js";
import {
  encryptOperation,
  decryptOperation,
  deriveOperation,
  unwrapOperation,
  wrapOperation,
} from "./operations/crypto.js";
import { certOperation, verifyOperation } from "./operations/keys.js";
import {
  deleteObjectOperation,
  editObjectOperation,
  readObjectOperation,
} from "./operations/objects.js";

export type { Login, Operation, OperationWork, PreparedOperation } from "./operation.js";
export { loginOf, writesOf } from "./operation.js";

/** The CLI's comma-separated list, or an array of names. */
function allowedMechanismsOf(list: string | string[] | undefined): number[] | undefined {
  if (list === undefined) return undefined;
  return parseMechanismList(Array.isArray(list) ? list.join(",") : list);
}

export const keygenOperation = defineOperation<KeygenBody>({
  schema: KEYGEN_BODY,
  login: "required",
  writes: true,
  // RSA generation takes seconds of a thread-pool thread.
  generates: (body) => parseKeySpec(body.keyType).keyType === "rsa",
  prepare(body) {
    const options = {
      spec: parseKeySpec(body.keyType),
      label: body.label,
      id: hexIdOf(body.id),
      usage: usageOf(body.usage),
      extractable: body.extractable === true,
      force: body.force === true,
      flags: {
        sensitive: body.sensitive !== false,
        alwaysAuthenticate: body.alwaysAuthenticate === true,
        allowedMechanisms: allowedMechanismsOf(body.allowedMechanisms),
        destroyable: body.destroyable !== false,
        modifiable: body.modifiable !== false,
      },
    };
    return ({ scope, warn }) => runKeygen(scope, options, { warn });
  },
});

export const reqOperation = defineOperation<CsrBody>({
  schema: CSR_BODY,
  login: "required",
  writes: false,
  prepare(body) {
    const selector = keySelectorOf(body.key, hexIdOf(body.id), undefined);
    const prepared = prepareReq({
      subject: body.subject,
      san: body.san,
      hash: body.hash,
      pss: body.pss === true,
    });
    return async ({ scope, warn }) => (await runReq(scope, selector, prepared, { warn })).result;
  },
});

export const listObjectsOperation = defineOperation<ObjectsQuery>({
  schema: OBJECTS_QUERY,
  login: "if-pin",
  writes: false,
  prepare(query) {
    const options = { type: query.type, id: hexIdOf(query.id), label: query.label };
    return async ({ scope, authenticated }) => {
      const objects = await runListObjects(scope, options);
      // Another request's login shows private objects to every session: not without the PIN.
      return authenticated ? objects : objects.filter((object) => !object.private);
    };
  },
});

export const listSlotsOperation = defineOperation<{ all?: boolean }>({
  schema: SLOTS_QUERY,
  login: "if-pin",
  writes: false,
  prepare(query) {
    return ({ scope }) => Promise.resolve(runListSlots(scope.module, query.all === true));
  },
});

export const writeObjectOperation = defineOperation<WriteObjectBody>({
  schema: WRITE_OBJECT_BODY,
  login: "required",
  writes: true,
  async prepare(body) {
    if (body.type === "privkey" || body.type === "pkcs12" || body.type === "secret") {
      const prepared = await prepareImportBody({ ...body, type: body.type });
      const options = importOptionsOf(body);
      return async ({ scope, warn }) =>
        writtenOf(body.type, await runImport(scope, prepared, options, { warn }));
    }
    const input =
      body.pem !== undefined
        ? Buffer.from(body.pem, "utf8")
        : Buffer.from(body.derBase64 ?? "", "base64");
    // Parsed before the token is touched: input that does not parse changes nothing.
    const prepared = prepareObject(body.type, input);
    const options = {
      id: hexIdOf(body.id),
      label: body.label,
      force: body.force === true,
      private: body.private === true,
    };
    return ({ scope, warn }) => Promise.resolve(runWriteObject(scope, prepared, options, { warn }));
  },
});

/** The body's key bytes: PEM text, base64 DER (a bundle, a raw secret) or a secret's hex. */
function importInput(body: WriteObjectBody): Uint8Array {
  if (body.hex !== undefined) {
    if (body.type !== "secret" || body.hex.length % 2 !== 0) {
      throw new TspError(
        "usage",
        "write-object: hex is an even number of hex digits, for type secret",
      );
    }
    return new Uint8Array(Buffer.from(body.hex, "hex"));
  }
  return body.pem !== undefined
    ? new Uint8Array(Buffer.from(body.pem, "utf8"))
    : new Uint8Array(Buffer.from(body.derBase64 ?? "", "base64"));
}

/** Parsed and decrypted before the token is touched; there is no terminal to ask on. */
function prepareImportBody(body: WriteObjectBody & { type: ImportType }): Promise<PreparedImport> {
  return prepareImport(body.type, importInput(body), {
    passphrase: body.keyPass === undefined ? undefined : new Pin(body.keyPass),
    askPassphrase: () =>
      Promise.reject(
        new TspError("auth", "write-object: the key is encrypted and no keyPass was given"),
      ),
    secretKeyType: body.keyType,
  });
}

function importOptionsOf(body: WriteObjectBody): ImportOptions {
  return {
    id: hexIdOf(body.id),
    label: body.label,
    usage: usageOf(body.usage),
    extractable: body.extractable === true,
    publicKey: body.publicKey !== false,
    force: body.force === true,
  };
}

/** A bundle answers with every object written; a key with itself, as the CLI's --json. */
function writtenOf(type: string, written: ImportedObject[]): ImportedObject | ImportedObject[] {
  const [first] = written;
  if (type === "pkcs12" || !first) return written;
  return first;
}

export interface SignResult {
  mechanism: string;
  keyId: string;
  keyLabel: string;
  /** ECDSA only: the encoding of the signature bytes. */
  format?: "der" | "raw";
  signatureBase64: string;
}

/** sign's arguments, parsed: who signs, how, and what. */
export interface PreparedSign {
  selector: ReturnType<typeof keySelectorOf>;
  request: SignRequest;
  data: Buffer;
  format: "der" | "raw";
}

export function prepareSign(body: SignBody): PreparedSign {
  return {
    selector: keySelectorOf(body.key, hexIdOf(body.id), undefined),
    request: {
      mechanism: body.mechanism === undefined ? undefined : parseMechanismName(body.mechanism),
      hash: body.hash,
      saltLen: body.saltLen,
    },
    data: Buffer.from(body.dataBase64, "base64"),
    format: body.format ?? "der",
  };
}

/** The core's plan and one C_Sign; ECDSA as DER unless raw is asked for, as the CLI does. */
export async function signWith(
  session: TokenSession,
  key: TokenKey,
  sign: PreparedSign,
): Promise<SignResult> {
  const plan = planSignature(session, key, sign.request);
  const raw = await signBytes(session, key, plan, sign.data);
  const ec = plan.keyType === "ec";
  const signature = ec && sign.format === "der" ? ecdsaRawToDer(raw) : raw;
  return {
    mechanism: plan.name,
    keyId: Buffer.from(key.id).toString("hex"),
    keyLabel: key.label,
    ...(ec ? { format: sign.format } : {}),
    signatureBase64: Buffer.from(signature).toString("base64"),
  };
}

export const signOperation = defineOperation<SignBody>({
  schema: SIGN_BODY,
  login: "required",
  writes: false,
  prepare(body) {
    const sign = prepareSign(body);
    return ({ scope }) =>
      signWith(scope.session, findSigningKey(scope.session, sign.selector), sign);
  },
});

/** Every operation by the subcommand it stands for (batch's `op`). */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  keygen: keygenOperation,
  req: reqOperation,
  "write-object": writeObjectOperation,
  "list-objects": listObjectsOperation,
  "list-slots": listSlotsOperation,
  sign: signOperation,
  "read-object": readObjectOperation,
  "delete-object": deleteObjectOperation,
  "edit-object": editObjectOperation,
  verify: verifyOperation,
  cert: certOperation,
  encrypt: encryptOperation,
  decrypt: decryptOperation,
  wrap: wrapOperation,
  unwrap: unwrapOperation,
  derive: deriveOperation,
};
