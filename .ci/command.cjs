#!/usr/bin/env node
// What `npm run status`, `logs` and `history` run: `node .ci/command.cjs <name> <args…>` runs
// commands/<name>.ts as JavaScript compiled from the current sources by .ci/compiled.cjs
// (.build/<name>-<hash>.js, never stale, run from V8's code cache): node's startup, not a
// TypeScript loader's, so a read of the cluster starts about as fast as the nomad CLI.
'use strict';
const { runCompiled } = require('./compiled.cjs');

/** The commands that start fast: each reads the cluster only, without the schema or cdktf. */
const FAST = ['status', 'logs', 'history'];

const name = process.argv[2];
if (!FAST.includes(name)) {
  process.stderr.write(`.ci/command.cjs: no fast command '${name ?? ''}' (known: ${FAST.join(', ')})\n`);
  process.exit(1);
}
// The command reads its arguments as node would give them to commands/<name>.ts.
process.argv.splice(1, 2, `commands/${name}.ts`);
runCompiled({ name, sources: ['commands', 'config', 'constructs'], entry: `commands/${name}` });
