/** `descent serve [RUNS_DIR]`: the live dashboard of a runs folder on 127.0.0.1 until Ctrl-C. */
import type { Command } from "commander";
import { startDashboard } from "../serve/dashboard.js";
import { numberFlag, runAction } from "./errors.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("live dashboard of a runs folder: runs side by side, and pause, resume, change the lr, checkpoint or stop a live run")
    .argument("[RUNS_DIR]", "the folder of run folders", "runs")
    .option("--port <n>", "the port (default 8766; 0 for any free port)")
    .option("--host <address>", "listen on this address instead of 127.0.0.1 (with a warning)")
    .addHelpText("after", `
The controls need the token in the printed URL, and refuse requests from pages of other sites.
A run started by descent train takes the commands at its next step and logs each in metrics.jsonl.`)
    .action((runsDir: string, flags: { port?: string; host?: string }) =>
      runAction(async () => {
        const port = numberFlag("--port", flags.port, { integer: true });
        const { url } = await startDashboard({ runsDir, host: flags.host, port });
        console.log(`descent serve: ${url}  (Ctrl-C to stop)`);
        await new Promise<never>(() => {});
      }),
    );
}
