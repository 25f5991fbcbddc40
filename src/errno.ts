/** How a failed system call reads in tsp11's one-line errors. */
import { TspError } from "./errors.js";

/** The words for a failed file operation: "no such file", "permission denied", ... */
export function errnoWhy(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOSPC":
      return "no space left on device";
    case "EDQUOT":
      return "disk quota exceeded";
    case "EFBIG":
      return "file too large";
    case "EPIPE":
      return "broken pipe (the reader closed it)";
    case "EIO":
      return "input/output error";
    case "EROFS":
      return "read-only file system";
    case "ENXIO":
      return "no such device";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** `write <what>: <why>`, exit 1: how every failed output (stdout or a file) reads. */
export function writeError(what: string, error: unknown): TspError {
  if (error instanceof TspError) return error;
  return new TspError("failure", `write ${what}: ${errnoWhy(error)}`, { cause: error });
}
