#!/usr/bin/env node
// The `descent` command: a thin shim over the compiled CLI (built by `npm ci` through `prepare`).
import "../dist/src/cli/main.js";
