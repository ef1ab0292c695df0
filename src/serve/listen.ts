/**
 * Starting a local HTTP server: 127.0.0.1 unless a host is given (then a warning, since anyone who
 * can reach that address can use the page), port 0 for any free port, and a one-line error naming
 * the address when it is taken.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError } from "../errors/errors.js";

export const DEFAULT_HOST = "127.0.0.1";

export interface ListenOptions {
  host?: string | undefined;
  port?: number | undefined;
  /** messages for the user (default console.error) */
  warn?: (line: string) => void;
}

export interface Listening {
  server: Server;
  /** http://host:port */
  origin: string;
  close(): Promise<void>;
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, options: ListenOptions, defaultPort: number): Promise<Listening> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? defaultPort;
  if (host !== DEFAULT_HOST && host !== "localhost" && host !== "::1") {
    (options.warn ?? console.error)(`warning: listening on ${host}, not only this machine: anyone who can reach ${host}:${port} can open this page`);
  }
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new ConfigError(`--port ${port}: ${host}:${port} is already in use (choose another --port, or 0 for any free one)`) : e));
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    origin: `http://${shown}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
