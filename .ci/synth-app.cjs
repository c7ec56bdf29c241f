#!/usr/bin/env node
// What `cdktf synth` runs (cdktf.json "app"): main.ts as JavaScript that node runs directly,
// compiled from the current sources by .ci/compiled.cjs (.build/app-<hash of the sources>.js,
// never stale, run from V8's code cache).
'use strict';
const { runCompiled } = require('./compiled.cjs');

/** What main.ts reaches: the program's own sources, never the tests. */
runCompiled({ name: 'app', sources: ['main.ts', 'config', 'constructs', 'stacks'], entry: 'main' });
exitOnceFlushed();

/**
 * Synth's work is done when main() returns, but node would then wait for V8's background
 * work (concurrent marking, optimizing compiles) before it exits: 10-20 ms of nothing, about
 * a tenth of a synth. Exit as soon as what was written to stdout and stderr has left the
 * process (at once where those writes are synchronous, as on Linux; on a macOS pipe, once
 * drained), with the exit code main() set.
 */
function exitOnceFlushed() {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit();
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
