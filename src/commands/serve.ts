import { Command } from "commander";
import { overrideSignals } from "../cleanup.js";
import { usageError } from "../errors.js";
import { serveConfig } from "../serve/config.js";
import { withContext } from "./shared.js";

interface ServeCommandFlags {
  listen?: string;
  socket?: string;
  authTokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  bodyLimit?: number;
}

function parseBodyLimit(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < 1024 || value > 1024 * 1024 * 1024) {
    throw usageError(`invalid --body-limit "${text}": expected bytes, 1024 .. 1073741824`);
  }
  return value;
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("Serve the provisioning REST API (the same operations as the CLI)")
    .option(
      "--listen <host:port>",
      "address: host:port, [ipv6]:port (a %zone too) or :port (default 127.0.0.1:8443)",
    )
    .option("--socket <path>", "listen on a unix socket (mode 0600) instead")
    .option(
      "--auth-token-file <file>",
      "require Authorization: Bearer <the file's token> (needed beyond loopback)",
    )
    .option("--tls-cert <file>", "serve HTTPS with this certificate chain (PEM)")
    .option("--tls-key <file>", "the private key of --tls-cert (PEM)")
    .option("--body-limit <bytes>", "largest request body (default 1048576)", parseBodyLimit)
    .addHelpText(
      "after",
      [
        "",
        "The user PIN travels in the X-PKCS11-PIN header and is never logged; the API is",
        "described at GET /openapi.json. Logs are JSON lines on stderr. SIGTERM or SIGINT stop",
        "the server gracefully: requests in flight finish, then the token is logged out.",
        "",
        "Examples:",
        "  $ tsp11 serve --listen 127.0.0.1:8443",
        "  $ curl -s -H 'X-PKCS11-PIN: 1234' localhost:8443/v1/tokens/demo/objects",
        "  $ tsp11 serve --socket /run/tsp11.sock",
        "  $ tsp11 serve --listen 0.0.0.0:8443 --auth-token-file token --tls-cert c.pem --tls-key k.pem",
      ].join("\n"),
    )
    .action(
      withContext<ServeCommandFlags>(async (flags, ctx) => {
        // Address, token file and TLS files are checked before the module is loaded.
        const config = serveConfig(flags);
        const { startServer } = await import("../serve/start.js");
        const module = ctx.moduleOptions();
        const { settings } = ctx.output;
        const server = await startServer({
          ...config,
          module: { path: module.path, params: module.params },
          trace: settings.verbose,
          logLevel: settings.verbose ? "debug" : settings.quiet ? "warn" : "info",
        });
        // The first SIGTERM/SIGINT stops gracefully; a second one gets the default (exit 130).
        await new Promise<void>((resolve, reject) => {
          let stopping = false;
          overrideSignals((signal) => {
            if (stopping) return false;
            stopping = true;
            server.log.info({ signal }, "stopping: finishing the requests in flight");
            server.close().then(resolve, reject);
            return true;
          });
        });
        overrideSignals(undefined);
      }),
    );
}
