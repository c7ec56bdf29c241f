#!/usr/bin/env node
// What `cdktf synth` runs (cdktf.json "app"): main.ts as JavaScript that node runs directly,
// compiled from the current sources. The compiled tree lives in .build/app-<hash of the
// sources>/, so it is never stale: a changed source is a different hash, compiled once (with
// the project's own TypeScript, transpile only: `npm test` type-checks), and every later run
// costs a hash of the sources and node's own startup, not a TypeScript loader's.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const BUILD = join(ROOT, '.build');
/** What main.ts reaches: the program's own sources, never the tests. */
const SOURCES = ['main.ts', 'config', 'constructs', 'stacks'];

function sourceFiles() {
  const files = [];
  const visit = (path) => {
    if (path.endsWith('.ts')) {
      if (!path.endsWith('.d.ts')) files.push(path);
      return;
    }
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory() || entry.name.endsWith('.ts')) visit(child);
    }
  };
  for (const source of SOURCES) visit(join(ROOT, source));
  return files.sort();
}

/** The sources, this launcher and the compiler's version: what the compiled tree is a function of. */
function fingerprint(files) {
  const hash = createHash('sha256');
  hash.update(readFileSync(__filename));
  hash.update(require('typescript/package.json').version);
  for (const file of files) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function compile(files, target) {
  const ts = require('typescript');
  const scratch = join(BUILD, `tmp-${process.pid}-${Date.now()}`);
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false };
  for (const file of files) {
    const out = join(scratch, relative(ROOT, file).replace(/\.ts$/, '.js'));
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file, reportDiagnostics: false });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  try {
    renameSync(scratch, target);
  } catch (e) {
    // Another synth compiled the same sources first: its tree is as good as ours.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(target, 'main.js'))) throw e;
  }
  for (const entry of readdirSync(BUILD)) {
    if (entry.startsWith('app-') && join(BUILD, entry) !== target) rmSync(join(BUILD, entry), { recursive: true, force: true });
  }
}

const files = sourceFiles();
const target = join(BUILD, `app-${fingerprint(files)}`);
if (!existsSync(join(target, 'main.js'))) {
  mkdirSync(BUILD, { recursive: true });
  compile(files, target);
}
require(join(target, 'main.js')).main();
