#!/usr/bin/env node
// Runs the program as JavaScript that node runs directly, compiled from the current sources:
//   node .ci/launch.cjs                    what `cdktf synth` runs (cdktf.json "app"): main.ts's main()
//   node .ci/launch.cjs <command> [args]   a command of commands/ (npm run deploy, plan, …)
// The compiled program is .build/app-<hash of the sources>.js, so it is never stale: a changed
// source is a different hash, compiled once (with the project's own TypeScript, transpile only:
// `npm test` type-checks). Every later run costs a stat of each source (the hash only when one
// changed) and node's own startup, not a TypeScript loader's, and runs from V8's code cache of
// the program (one per entry: synth and each command compile different functions).
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { basename, join, relative, sep } = require('node:path');
const { Script } = require('node:vm');

const ROOT = join(__dirname, '..');
const BUILD = join(ROOT, '.build');
/** What main.ts and the commands reach: the program's own sources, never the tests. */
const SOURCES = ['main.ts', 'config', 'constructs', 'stacks', 'commands'];
/** The compiler: its version is part of what the program is a function of. */
const TYPESCRIPT_PACKAGE = join(ROOT, 'node_modules', 'typescript', 'package.json');
/** Which program the sources compiled to, and the stat line of the sources it was compiled from. */
const STAMP = join(BUILD, 'app.stamp');

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
  hash.update(JSON.parse(readFileSync(TYPESCRIPT_PACKAGE, 'utf8')).version);
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
module.exports = load;
`;

function compile(files, target) {
  const ts = require('typescript');
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
  const modules = files.map((file) => {
    const id = relative(ROOT, file).split(sep).join('/').replace(/\.ts$/, '');
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    return `${JSON.stringify(id)}: function (require, module, exports, __filename, __dirname) {\n${outputText}\n},`;
  });
  const program = `'use strict';\n// Compiled by .ci/launch.cjs from ${files.length} sources. Do not edit: it is rebuilt when they change.\nconst sources = {\n${modules.join('\n')}\n};\n${LOADER}`;
  writeWhole(target, program);
  for (const entry of readdirSync(BUILD)) {
    const program = join(BUILD, entry);
    if (!/^app-[0-9a-f]{16}\.js$/.test(entry) || program === target) continue;
    rmSync(program, { force: true });
    for (const cache of readdirSync(BUILD)) if (cache.startsWith(`${entry}.`) && cache.endsWith('.v8')) rmSync(join(BUILD, cache), { force: true });
  }
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

/** A change time this recent may share its tick with an edit still to come (a coarse clock): not proof of anything yet. */
const RACY_NS = 2_000_000_000n;

/** The compiled program for the sources as they are: the last one if they have not changed, else compiled once. */
function program(files) {
  const inputs = [__filename, TYPESCRIPT_PACKAGE, ...files];
  const stat = statLine(inputs);
  const recorded = existsSync(STAMP) ? readFileSync(STAMP, 'utf8') : '';
  const newline = recorded.indexOf('\n');
  const last = join(BUILD, recorded.slice(0, newline));
  if (newline > 0 && recorded.slice(newline + 1) === stat && existsSync(last)) return last;

  const target = join(BUILD, `app-${fingerprint(files)}.js`);
  if (!existsSync(target)) {
    mkdirSync(BUILD, { recursive: true });
    compile(files, target);
  }
  const now = BigInt(Date.now()) * 1_000_000n;
  const racy = inputs.some((path) => now - statSync(path, { bigint: true }).ctimeNs < RACY_NS);
  if (!racy) writeWhole(STAMP, `${basename(target)}\n${stat}`);
  return target;
}

/** Where V8's code cache of a compiled program is kept, for one entry: beside it. */
function codeCacheOf(program, entry) {
  return `${program}.${entry}.v8`;
}

/**
 * Loads the program from V8's code cache (.build/app-<hash>.js.<entry>.v8), which the first run
 * of that entry writes once it is done, so that it holds every function it compiled, not only
 * the top level. A cache V8 refuses (another node) is written again. Returns the program's
 * module loader and what to call when the entry is done.
 */
function load(target, entry) {
  const cacheFile = codeCacheOf(target, entry);
  const script = new Script(wrap(readFileSync(target, 'utf8')), {
    filename: target,
    ...(existsSync(cacheFile) ? { cachedData: readFileSync(cacheFile) } : {}),
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(target), module, target, BUILD);
  const done = () => {
    if (script.cachedDataRejected !== false) writeWhole(cacheFile, script.createCachedData());
  };
  return { load: module.exports, done };
}

/** The command a module of commands/ exports (the one `runMain` starts when run directly). */
function commandOf(exports, name) {
  const command = Object.values(exports).find((v) => v && typeof v.run === 'function' && typeof v.usage === 'string' && typeof v.name === 'string');
  if (!command) throw new Error(`commands/${name}.ts exports no command`);
  return command;
}

const [name, ...args] = process.argv.slice(2);
const target = program(sourceFiles());
if (name === undefined) {
  const { load: loadModule, done } = load(target, 'synth');
  loadModule('main').main();
  done();
  exitOnceFlushed();
} else {
  if (!/^[a-z][a-z-]*$/.test(name) || !existsSync(join(ROOT, 'commands', `${name}.ts`))) {
    process.stderr.write(`.ci/launch.cjs: no command '${name}' in commands/\n`);
    process.exit(1);
  }
  const { load: loadModule, done } = load(target, name);
  const command = commandOf(loadModule(`commands/${name}`), name);
  loadModule('commands/cli').runProcess(command, args).then((code) => {
    done();
    process.exitCode = code;
    exitOnceFlushed();
  });
}

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
