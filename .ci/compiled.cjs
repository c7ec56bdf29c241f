// Runs a TypeScript program of this repository as JavaScript that node runs directly, compiled
// from the current sources: .build/<name>-<hash of the sources>.js holds the sources its entry
// reaches, so it is never stale: a changed source is a different hash, compiled once (with the
// project's own TypeScript, transpile only: `npm test` type-checks). Every later run costs a stat
// of each source (the hash only when one changed) and node's own startup, not a TypeScript
// loader's, and runs from V8's code cache of the program. Used by .ci/synth-app.cjs (cdktf's
// app) and .ci/command.cjs (the commands that must start fast).
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { basename, join, posix, relative, sep } = require('node:path');
const { Script } = require('node:vm');

const ROOT = join(__dirname, '..');
const BUILD = join(ROOT, '.build');
/** The compiler: its version is part of what the program is a function of. */
const TYPESCRIPT_PACKAGE = join(ROOT, 'node_modules', 'typescript', 'package.json');
/** Which program the sources compiled to, and the stat line of the sources it was compiled from: `.build/<name>.stamp`. */
const stampOf = (name) => join(BUILD, `${name}.stamp`);

function sourceFiles(sources) {
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
  for (const source of sources) visit(join(ROOT, source));
  return files.sort();
}

/** The sources, this launcher and the compiler's version: what the compiled program is a function of. */
function fingerprint(files, entry) {
  const hash = createHash('sha256');
  hash.update(readFileSync(__filename));
  hash.update(`${entry}\0`);
  hash.update(JSON.parse(readFileSync(TYPESCRIPT_PACKAGE, 'utf8')).version);
  for (const file of files) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

// The compiled program's own module loader: one file to read and compile, not one per source.
// Relative requests resolve among the sources; anything else is node's require (node_modules).
// The entry is loaded as node loads the file it is started with: every module's require.main is it.
const loader = (entry) => `
const { posix } = require('node:path');
const loaded = {};
let main;
function load(id) {
  if (loaded[id]) return loaded[id].exports;
  const module = { exports: {} };
  loaded[id] = module;
  // __dirname and __filename are the source's own (config/tools.ts reads a file beside it);
  // the compiled program lives in <root>/.build.
  const filename = posix.join(__dirname, '..', id + '.ts');
  if (id === ${JSON.stringify(entry)}) main = module;
  sources[id].call(module.exports, requireFrom(id), module, module.exports, filename, posix.dirname(filename));
  return module.exports;
}
function requireFrom(from) {
  const scoped = (request) => {
    if (!request.startsWith('.')) return require(request);
    const id = posix.join(posix.dirname(from), request);
    if (!(id in sources)) throw new Error(\`compiled program: '\${from}' requires '\${request}', which is not among the sources\`);
    return load(id);
  };
  Object.defineProperty(scoped, 'main', { get: () => main });
  return scoped;
}
module.exports = load(${JSON.stringify(entry)});
`;

/** The sources the entry reaches (relative requires, followed), transpiled, into one program. */
function compile(files, target, name, entry) {
  const ts = require('typescript');
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
  const byId = new Map(files.map((file) => [relative(ROOT, file).split(sep).join('/').replace(/\.ts$/, ''), file]));
  const modules = [];
  const reached = new Set();
  const visit = (id) => {
    if (reached.has(id) || !byId.has(id)) return;
    reached.add(id);
    const file = byId.get(id);
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    modules.push(`${JSON.stringify(id)}: function (require, module, exports, __filename, __dirname) {\n${outputText}\n},`);
    for (const [, request] of outputText.matchAll(/require\("(\.[^"]*)"\)/g)) visit(posix.join(posix.dirname(id), request));
  };
  visit(entry);
  writeWhole(sourcesOf(target), JSON.stringify([...reached].map((id) => relative(ROOT, byId.get(id)))));
  const program = `'use strict';\n// Compiled by .ci/compiled.cjs from ${modules.length} sources. Do not edit: it is rebuilt when they change.\nconst sources = {\n${modules.join('\n')}\n};\n${loader(entry)}`;
  writeWhole(target, program);
  const mine = new RegExp(`^${name}-[0-9a-f]{16}\\.js$`);
  for (const entry of readdirSync(BUILD)) {
    const program = join(BUILD, entry);
    if (!mine.test(entry) || program === target) continue;
    rmSync(program, { force: true });
    rmSync(codeCacheOf(program), { force: true });
    rmSync(sourcesOf(program), { force: true });
  }
}

/** Which sources a compiled program holds (relative paths, JSON): beside it. */
function sourcesOf(program) {
  return `${program}.sources`;
}

/** Written aside and renamed into place: a concurrent synth sees the whole file or none. */
function writeWhole(path, data) {
  const scratch = `${path}.${process.pid}.tmp`;
  writeFileSync(scratch, data);
  renameSync(scratch, path);
}

/**
 * What each input is on disk, as git's index keeps it: inode, size, and modification and change
 * times in nanoseconds. An edit changes the change time (which no tool sets back), so an
 * unchanged line means unchanged sources, without reading them.
 */
function statLine(paths) {
  return paths
    .map((path) => {
      const s = statSync(path, { bigint: true });
      return `${relative(ROOT, path)} ${s.ino} ${s.size} ${s.mtimeNs} ${s.ctimeNs}`;
    })
    .join('\n');
}

function sameStat(paths, line) {
  try {
    return statLine(paths) === line;
  } catch {
    return false; // a source is gone
  }
}

/** A change time this recent may share its tick with an edit still to come (a coarse clock): not proof of anything yet. */
const RACY_NS = 2_000_000_000n;

/**
 * The compiled program for the sources as they are: the last one if the inputs its stamp names
 * (this launcher, the compiler, the sources the program holds) have not changed, known without
 * walking the source tree (a file no held source requires cannot change the program); else
 * compiled once.
 */
function program({ name, sources, entry }) {
  const STAMP = stampOf(name);
  const recorded = existsSync(STAMP) ? readFileSync(STAMP, 'utf8') : '';
  const newline = recorded.indexOf('\n');
  if (newline > 0) {
    const last = join(BUILD, recorded.slice(0, newline));
    const stat = recorded.slice(newline + 1);
    const named = stat.split('\n').map((line) => join(ROOT, line.slice(0, line.indexOf(' '))));
    if (existsSync(last) && sameStat(named, stat)) return last;
  }

  const files = sourceFiles(sources);
  const target = join(BUILD, `${name}-${fingerprint(files, entry)}.js`);
  if (!existsSync(target) || !existsSync(sourcesOf(target))) {
    mkdirSync(BUILD, { recursive: true });
    compile(files, target, name, entry);
  }
  const held = JSON.parse(readFileSync(sourcesOf(target), 'utf8')).map((path) => join(ROOT, path));
  const inputs = [__filename, TYPESCRIPT_PACKAGE, ...held];
  const stat = statLine(inputs);
  const now = BigInt(Date.now()) * 1_000_000n;
  const racy = inputs.some((path) => now - statSync(path, { bigint: true }).ctimeNs < RACY_NS);
  if (!racy) writeWhole(STAMP, `${basename(target)}\n${stat}`);
  return target;
}

/** Where V8's code cache of a compiled program is kept: beside it. */
function codeCacheOf(program) {
  return `${program}.v8`;
}

/**
 * Compiles (when its sources changed) and runs a program: its entry is loaded as node loads the
 * file it is started with (its `require.main === module`), from V8's code cache
 * (.build/<name>-<hash>.js.v8). The cache is written as the process exits, so that it holds every
 * function the run compiled, not only the top level; one V8 refuses (another node) is written again.
 */
function runCompiled(spec) {
  const target = program(spec);
  const cacheFile = codeCacheOf(target);
  const script = new Script(wrap(readFileSync(target, 'utf8')), {
    filename: target,
    ...(existsSync(cacheFile) ? { cachedData: readFileSync(cacheFile) } : {}),
  });
  if (script.cachedDataRejected !== false) process.once('exit', () => writeWhole(cacheFile, script.createCachedData()));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(target), module, target, BUILD);
  return module.exports;
}

module.exports = { runCompiled };
