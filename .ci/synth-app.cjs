#!/usr/bin/env node
// What `cdktf synth` runs (cdktf.json "app"): main.ts as JavaScript that node runs directly,
// compiled from the current sources. The compiled program is .build/app-<hash of the
// sources>.js, so it is never stale: a changed source is a different hash, compiled once
// (with the project's own TypeScript, transpile only: `npm test` type-checks), and every later
// run costs a hash of the sources and node's own startup, not a TypeScript loader's.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join, relative, sep } = require('node:path');

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

/** The sources, this launcher and the compiler's version: what the compiled program is a function of. */
function fingerprint(files) {
  const hash = createHash('sha256');
  hash.update(readFileSync(__filename));
  hash.update(require('typescript/package.json').version);
  for (const file of files) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

// The compiled program's own module loader: one file to read and compile, not one per source.
// Relative requests resolve among the sources; anything else is node's require (node_modules).
const LOADER = `
const { posix } = require('node:path');
const loaded = {};
function load(id) {
  if (loaded[id]) return loaded[id].exports;
  const module = { exports: {} };
  loaded[id] = module;
  // __dirname and __filename are the source's own (config/tools.ts reads a file beside it);
  // the compiled program lives in <root>/.build.
  const filename = posix.join(__dirname, '..', id + '.ts');
  sources[id].call(module.exports, requireFrom(id), module, module.exports, filename, posix.dirname(filename));
  return module.exports;
}
function requireFrom(from) {
  return (request) => {
    if (!request.startsWith('.')) return require(request);
    const id = posix.join(posix.dirname(from), request);
    if (!(id in sources)) throw new Error(\`compiled app: '\${from}' requires '\${request}', which is not among the sources\`);
    return load(id);
  };
}
module.exports = load('main');
`;

function compile(files, target) {
  const ts = require('typescript');
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
  const modules = files.map((file) => {
    const id = relative(ROOT, file).split(sep).join('/').replace(/\.ts$/, '');
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    return `${JSON.stringify(id)}: function (require, module, exports, __filename, __dirname) {\n${outputText}\n},`;
  });
  const program = `'use strict';\n// Compiled by .ci/synth-app.cjs from ${files.length} sources. Do not edit: it is rebuilt when they change.\nconst sources = {\n${modules.join('\n')}\n};\n${LOADER}`;
  // Written aside and renamed into place: a concurrent synth sees the whole program or none.
  const scratch = `${target}.${process.pid}.tmp`;
  writeFileSync(scratch, program);
  renameSync(scratch, target);
  for (const entry of readdirSync(BUILD)) {
    if (/^app-[0-9a-f]{16}\.js$/.test(entry) && join(BUILD, entry) !== target) rmSync(join(BUILD, entry), { force: true });
  }
}

const files = sourceFiles();
const target = join(BUILD, `app-${fingerprint(files)}.js`);
if (!existsSync(target)) {
  mkdirSync(BUILD, { recursive: true });
  compile(files, target);
}
require(target).main();
