/** `descent playground`: the playground page on 127.0.0.1 until Ctrl-C. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors/errors.js";
import { DIST_DIR, startPlayground } from "../serve/playground.js";
import { numberFlag, runAction } from "./errors.js";

export function registerPlayground(program: Command): void {
  program
    .command("playground")
    .description("optimizers on loss surfaces, moving averages, schedules and a network trained in the page, on 127.0.0.1")
    .option("--port <n>", "the port (default 8765; 0 for any free port)")
    .option("--host <address>", "listen on this address instead of 127.0.0.1 (with a warning)")
    .action((flags: { port?: string; host?: string }) =>
      runAction(async () => {
        if (!existsSync(join(DIST_DIR, "playground", "index.html"))) {
          throw new ConfigError(`the playground is not built (${join(DIST_DIR, "playground")} is missing): run npm run build`);
        }
        const port = numberFlag("--port", flags.port, { integer: true });
        const { url } = await startPlayground({ host: flags.host, port });
        console.log(`descent playground: ${url}  (Ctrl-C to stop)`);
        await new Promise<never>(() => {});
      }),
    );
}
