/**
 * The whole program: the global options and every command, for help, `tsp11 help`, typos
 * (suggestions need every name) and the completion scripts. A run of one named command
 * takes the shorter way in src/main.ts.
 */
import type { Command } from "commander";
import { batchCommand } from "./commands/batch.js";
import { certCommand } from "./commands/cert.js";
import { changePinCommand } from "./commands/change-pin.js";
import { completeCommand, completionCommand } from "./commands/completion.js";
import { deleteObjectCommand } from "./commands/delete-object.js";
import { decryptCommand } from "./commands/decrypt.js";
import { deriveCommand } from "./commands/derive.js";
import { digestCommand } from "./commands/digest.js";
import { editObjectCommand } from "./commands/edit-object.js";
import { encryptCommand } from "./commands/encrypt.js";
import { infoCommand } from "./commands/info.js";
import { initTokenCommand } from "./commands/init-token.js";
import { keygenCommand } from "./commands/keygen.js";
import { listMechanismsCommand } from "./commands/list-mechanisms.js";
import { listObjectsCommand } from "./commands/list-objects.js";
import { listSlotsCommand } from "./commands/list-slots.js";
import { randomCommand } from "./commands/random.js";
import { readObjectCommand } from "./commands/read-object.js";
import type { CommandName } from "./commands/registry.js";
import { reqCommand } from "./commands/req.js";
import { serveCommand } from "./commands/serve.js";
import { signCommand } from "./commands/sign.js";
import { unwrapCommand } from "./commands/unwrap.js";
import { verifyCommand } from "./commands/verify.js";
import { versionCommand } from "./commands/version.js";
import { wrapCommand } from "./commands/wrap.js";
import { writeObjectCommand } from "./commands/write-object.js";
import { addCommand, rootProgram } from "./program.js";

/** Each command's definition, in the order help lists them (the registry's order). */
const COMMANDS: Readonly<Record<CommandName, () => Command>> = {
  "list-slots": listSlotsCommand,
  "init-token": initTokenCommand,
  keygen: keygenCommand,
  "list-objects": listObjectsCommand,
  req: reqCommand,
  "write-object": writeObjectCommand,
  "read-object": readObjectCommand,
  "delete-object": deleteObjectCommand,
  "edit-object": editObjectCommand,
  "change-pin": changePinCommand,
  cert: certCommand,
  sign: signCommand,
  verify: verifyCommand,
  encrypt: encryptCommand,
  decrypt: decryptCommand,
  wrap: wrapCommand,
  unwrap: unwrapCommand,
  derive: deriveCommand,
  random: randomCommand,
  digest: digestCommand,
  "list-mechanisms": listMechanismsCommand,
  info: infoCommand,
  serve: serveCommand,
  batch: batchCommand,
  version: versionCommand,
  completion: completionCommand,
  __complete: completeCommand,
};

/** The program with every command. */
export function buildProgram(): Command {
  const program = rootProgram();
  for (const define of Object.values(COMMANDS)) addCommand(program, define());
  return program;
}
