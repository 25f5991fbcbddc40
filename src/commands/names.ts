/**
 * Every command's name, in the order help lists them, and the commands that start from a
 * bundle of their own. Apart from the registry (which loads the commands) so that the
 * launcher can read them without loading any command.
 */
export const COMMAND_NAMES = [
  "list-slots",
  "init-token",
  "keygen",
  "list-objects",
  "req",
  "write-object",
  "read-object",
  "delete-object",
  "edit-object",
  "change-pin",
  "cert",
  "sign",
  "verify",
  "encrypt",
  "decrypt",
  "wrap",
  "unwrap",
  "derive",
  "random",
  "digest",
  "list-mechanisms",
  "info",
  "serve",
  "batch",
  "version",
  "completion",
  "__complete",
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

/**
 * The provisioning flow's commands and the daily ones: each is built into a bundle of its own
 * as well (dist/commands/<name>.cjs), holding that command and what it needs and nothing
 * else, so its start reads and deserializes a fraction of the whole program.
 */
export const OWN_BUNDLE_COMMANDS = [
  "list-slots",
  "list-objects",
  "keygen",
  "req",
  "write-object",
  "read-object",
  "sign",
] as const satisfies readonly CommandName[];
