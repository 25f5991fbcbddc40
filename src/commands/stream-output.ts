/**
 * An output written a part at a time (encrypt, decrypt): a regular file is written beside
 * its place and renamed there only when the run succeeds, so a failed decryption leaves
 * nothing (and never unauthenticated plaintext); a device, FIFO or symlink is written
 * through, as the contract says. Standard output either streams (encrypt) or holds the
 * bytes until `commit` (decrypt: nothing is written before the token accepted the data).
 */
import {
  closeSync,
  fchmodSync,
  lstatSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { TspError } from "../errors.js";
import { errnoWhy } from "../files.js";

export interface StreamOutputOptions {
  /** A new file is created 0600 (plaintexts, derived secrets). */
  secret: boolean;
  /** Standard output: hold every byte until commit. */
  holdStdout: boolean;
  what: string;
}

let temporaries = 0;

export class StreamOutput {
  readonly #path: string | undefined;
  readonly #options: StreamOutputOptions;
  #fd: number | undefined;
  #temporary: string | undefined;
  #held: Buffer[] = [];
  #done = false;

  /** `path` undefined or `-`: standard output. */
  constructor(path: string | undefined, options: StreamOutputOptions) {
    this.#path = path === "-" ? undefined : path;
    this.#options = options;
    if (this.#path !== undefined) this.#open(this.#path);
  }

  #fail(error: unknown): TspError {
    const where = this.#path ?? "to stdout";
    return new TspError("failure", `write ${this.#options.what} ${where}: ${errnoWhy(error)}`, {
      cause: error,
    });
  }

  #open(path: string): void {
    try {
      let existing: ReturnType<typeof statSync> | undefined;
      try {
        existing = lstatSync(path);
      } catch {
        existing = undefined;
      }
      if (existing && !existing.isFile()) {
        // A device, FIFO or symlink: written through, never replaced.
        this.#fd = openSync(path, "w");
        return;
      }
      const mode = existing ? existing.mode & 0o7777 : this.#options.secret ? 0o600 : 0o666;
      for (let attempt = 0; ; attempt++) {
        const temporary = join(
          dirname(path),
          `.${basename(path)}.${process.pid}.s${temporaries++}${attempt > 0 ? `.${Math.random().toString(36).slice(2, 8)}` : ""}.tmp`,
        );
        try {
          const fd = openSync(temporary, "wx", mode);
          this.#fd = fd;
          this.#temporary = temporary;
          // The replaced file keeps its mode exactly (the umask at creation may narrow it).
          if (existing) fchmodSync(fd, mode);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw error;
        }
      }
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Writes (or holds) `bytes`; the caller may reuse its buffer as soon as this returns. */
  write(bytes: Buffer): void {
    if (this.#fd === undefined) {
      if (this.#options.holdStdout) this.#held.push(Buffer.from(bytes));
      else this.#writeStdout(bytes);
      return;
    }
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset);
    } catch (error) {
      this.discard();
      throw this.#fail(error);
    }
  }

  #writeStdout(bytes: Buffer): void {
    // Synchronous for files, pipes and terminals on Linux: no queue grows behind a slow reader.
    process.stdout.write(Buffer.from(bytes));
  }

  /** The run succeeded: the file takes its place, held bytes go to standard output. */
  commit(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#fd === undefined) {
      for (const part of this.#held) this.#writeStdout(part);
      this.#held = [];
      return;
    }
    try {
      closeSync(this.#fd);
      if (this.#temporary !== undefined && this.#path !== undefined) {
        renameSync(this.#temporary, this.#path);
      }
    } catch (error) {
      if (this.#temporary !== undefined) rmSync(this.#temporary, { force: true });
      throw this.#fail(error);
    }
  }

  /** The run failed: the temporary file goes, held bytes are dropped. */
  discard(): void {
    if (this.#done) return;
    this.#done = true;
    this.#held = [];
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // Closing a descriptor we are abandoning.
    }
    if (this.#temporary !== undefined) rmSync(this.#temporary, { force: true });
  }
}
