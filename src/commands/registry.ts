/**
 * Every command's definition, loaded on demand: `tsp11 list-slots` initializes list-slots.ts
 * and what it needs, not the other twenty-six commands (in the bundle, a module imported
 * dynamically is initialized on first use). The order is the order help lists them.
 */
import type { Command } from "commander";
import type { CommandName } from "./names.js";

export { COMMAND_NAMES } from "./names.js";
export type { CommandName } from "./names.js";

type Definition = () => Command;

export const COMMAND_LOADERS = {
  "list-slots": async () => (await import("./list-slots.js")).listSlotsCommand,
  "init-token": async () => (await import("./init-token.js")).initTokenCommand,
  keygen: async () => (await import("./keygen.js")).keygenCommand,
  "list-objects": async () => (await import("./list-objects.js")).listObjectsCommand,
  req: async () => (await import("./req.js")).reqCommand,
  "write-object": async () => (await import("./write-object.js")).writeObjectCommand,
  "read-object": async () => (await import("./read-object.js")).readObjectCommand,
  "delete-object": async () => (await import("./delete-object.js")).deleteObjectCommand,
  "edit-object": async () => (await import("./edit-object.js")).editObjectCommand,
  "change-pin": async () => (await import("./change-pin.js")).changePinCommand,
  cert: async () => (await import("./cert.js")).certCommand,
  sign: async () => (await import("./sign.js")).signCommand,
  verify: async () => (await import("./verify.js")).verifyCommand,
  encrypt: async () => (await import("./encrypt.js")).encryptCommand,
  decrypt: async () => (await import("./decrypt.js")).decryptCommand,
  wrap: async () => (await import("./wrap.js")).wrapCommand,
  unwrap: async () => (await import("./unwrap.js")).unwrapCommand,
  derive: async () => (await import("./derive.js")).deriveCommand,
  random: async () => (await import("./random.js")).randomCommand,
  digest: async () => (await import("./digest.js")).digestCommand,
  "list-mechanisms": async () => (await import("./list-mechanisms.js")).listMechanismsCommand,
  info: async () => (await import("./info.js")).infoCommand,
  serve: async () => (await import("./serve.js")).serveCommand,
  batch: async () => (await import("./batch.js")).batchCommand,
  version: async () => (await import("./version.js")).versionCommand,
  completion: async () => (await import("./completion.js")).completionCommand,
  __complete: async () => (await import("./completion.js")).completeCommand,
} satisfies Record<CommandName, () => Promise<Definition>>;
