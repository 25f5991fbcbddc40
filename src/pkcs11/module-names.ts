/**
 * `--module` by name, as pkcs11-tool and p11-kit resolve it: a bare file name is looked up in
 * the system's PKCS#11 directories, and a name p11-kit registers (a `NAME.module` file in
 * its config directories) stands for the module that file names.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { TspError } from "../errors.js";

/** Debian's multiarch triplet for this machine (the directory names under /usr/lib). */
function multiarch(): string {
  const cpu = { x64: "x86_64", arm64: "aarch64", arm: "arm", ia32: "i386" }[process.arch as string];
  return `${cpu ?? process.arch}-linux-${process.arch === "arm" ? "gnueabihf" : "gnu"}`;
}

/** Where a bare file name is looked for, in order: p11-kit's module directory first. */
export function moduleDirectories(): string[] {
  const triplet = multiarch();
  return [
    `/usr/lib/${triplet}/pkcs11`,
    "/usr/lib64/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/lib/softhsm",
    `/usr/lib/${triplet}/softhsm`,
    `/usr/lib/${triplet}`,
    "/usr/lib64",
    "/usr/local/lib",
  ];
}

/** p11-kit's registration directories: user, then system config, then the packaged ones. */
function registryDirectories(): string[] {
  const configHome =
    process.env.XDG_CONFIG_HOME || join(process.getBuiltinModule("node:os").homedir(), ".config");
  return [join(configHome, "pkcs11/modules"), "/etc/pkcs11/modules", "/usr/share/p11-kit/modules"];
}

/** The `module:` line of a p11-kit registration file, or undefined. */
export function registeredModuleOf(text: string): string | undefined {
  const line = /^\s*module\s*:\s*(.+?)\s*$/m.exec(text);
  return line?.[1];
}

function inDirectories(file: string, looked: string[]): string | undefined {
  for (const directory of moduleDirectories()) {
    const candidate = join(directory, file);
    looked.push(directory);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function registered(name: string, looked: string[]): string | undefined {
  for (const directory of registryDirectories()) {
    const file = join(directory, `${name.replace(/\.module$/, "")}.module`);
    looked.push(directory);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const module = registeredModuleOf(text);
    if (module === undefined) continue;
    if (isAbsolute(module)) {
      if (existsSync(module)) return module;
      // Packagers sometimes name a path another distribution uses: try its file name.
      return inDirectories(module.slice(module.lastIndexOf("/") + 1), []);
    }
    return inDirectories(module, []);
  }
  return undefined;
}

/**
 * A `--module` value as a path: anything with a slash is a path already; a bare name is a
 * file in the PKCS#11 directories, else a p11-kit registered name. Nothing found: exit 3.
 */
export function resolveModuleName(value: string): string {
  if (value.includes("/")) return value;
  const looked: string[] = [];
  const found = inDirectories(value, looked) ?? registered(value, looked);
  if (found) return found;
  const places = [...new Set(looked)].join(", ");
  throw new TspError(
    "not-found",
    `load module: no PKCS#11 module named ${value} (looked in ${places}, and for a p11-kit registered name)`,
  );
}
