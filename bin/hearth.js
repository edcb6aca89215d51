#!/usr/bin/env -S node --no-node-snapshot
// isolated-vm needs --no-node-snapshot on Node's command line (see README): this shebang gives it.
import '../dist/core/cli.js';
