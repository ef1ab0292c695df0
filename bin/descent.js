#!/usr/bin/env node
// The `descent` command: a thin shim over the compiled CLI (built by `npm ci` through `prepare`).
// Relaxed SIMD is switched on first (Node 20 keeps it behind a flag), so the kernels compiled when
// the library loads can fuse their multiply-adds.
import { enableRelaxedSimd } from "../dist/src/backend/node-flags.js";

enableRelaxedSimd();
await import("../dist/src/cli/main.js");
