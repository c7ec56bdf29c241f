#!/usr/bin/env node
// Runs the program as JavaScript that node runs directly, compiled from the current sources:
//   node .ci/launch.cjs                    what `cdktf synth` runs (cdktf.json "app"): main.ts's main()
//   node .ci/launch.cjs <command> [args]   a command of commands/ (npm run deploy, plan, …)
// The compiled program is .build/app-<hash of the sources>.js, so it is never stale: a changed
// source is a different hash, compiled once (with the project's own TypeScript, transpile only:
// `npm test` type-checks). Every later run costs a stat of each source and its directory (the hash only when one
// changed) and node's own startup, not a TypeScript loader's, and runs from V8's code cache of
// the program (one per entry: synth and each command compile different functions).
// The packages the program requires (cdktf, constructs, the providers, zod: some 700 files of
// node_modules) are compiled the same way into a program of their own, .build/vendor-<hash>.js,
// loaded with its code cache the first time the program asks for a package: one file read
// instead of hundreds resolved, read and compiled one by one.
'use strict';
const { isAscii } = require('node:buffer');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createRequire, isBuiltin, wrap } = require('node:module');
const { basename, dirname, join, relative, sep } = require('node:path');
const { compileFunction, Script } = require('node:vm');

const ROOT = join(__dirname, '..');
const BUILD = join(ROOT, '.build');
/** What main.ts and the commands reach: the program's own sources, never the tests. */
const SOURCES = ['main.ts', 'config', 'constructs', 'stacks', 'commands'];
/** The compiler: its version is part of what the program is a function of. */
const TYPESCRIPT_PACKAGE = join(ROOT, 'node_modules', 'typescript', 'package.json');
/** Which program the sources compiled to, and the stat line of the sources it was compiled from. */
const STAMP = join(BUILD, 'app.stamp');

/** The sources, and the directories that hold them (a source added, removed or renamed changes its directory's times). */
function sourceFiles() {
  const files = [];
  const dirs = [];
  const visit = (path) => {
    if (path.endsWith('.ts')) {
      if (!path.endsWith('.d.ts')) files.push(path);
      return;
    }
    dirs.push(path);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory() || entry.name.endsWith('.ts')) visit(child);
    }
  };
  for (const source of SOURCES) visit(join(ROOT, source));
  return { files: files.sort(), dirs: dirs.sort() };
}

/** The sources, this launcher and the compiler's version: what the compiled program is a function of. */
function fingerprint(files) {
  // node:crypto only when the sources changed: loading it costs every command's start 5 ms of CPU.
  const hash = require('node:crypto').createHash('sha256');
  hash.update(readFileSync(__filename));
  hash.update(JSON.parse(readFileSync(TYPESCRIPT_PACKAGE, 'utf8')).version);
  for (const file of files) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

// The compiled program's own module loader: one file to read and compile, not one per source.
// Relative requests resolve among the sources; anything else goes to the require the launcher
// gives the program (packageRequire below): node's own modules, and the packages' program.
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
    // A dynamic import names the module as ESM does, by its .js: the source is its .ts.
    const named = posix.join(posix.dirname(from), request);
    const id = named.endsWith('.js') && !(named in sources) ? named.slice(0, -3) : named;
    if (!(id in sources)) throw new Error(\`compiled app: '\${from}' requires '\${request}', which is not among the sources\`);
    return load(id);
  };
}
module.exports = load;
load.packages = packages;
`;

function compile(files, target) {
  const ts = require('typescript');
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
  const packages = new Set();
  const modules = files.map((file) => {
    const id = relative(ROOT, file).split(sep).join('/').replace(/\.ts$/, '');
    const outputText = asciiModule(ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file }).outputText, file, ts);
    for (const [, , request] of outputText.matchAll(REQUIRE)) if (!request.startsWith('.') && !isBuiltin(request)) packages.add(request);
    return `${JSON.stringify(id)}: function (require, module, exports, __filename, __dirname) {\n${outputText}\n},`;
  });
  const program = [
    `'use strict';`,
    `// Compiled by .ci/launch.cjs from ${files.length} sources. Do not edit: it is rebuilt when they change.`,
    `const sources = {\n${modules.join('\n')}\n};`,
    `/** What the sources require of node_modules: the packages' program is compiled from these. */`,
    `const packages = ${JSON.stringify([...packages].sort())};`,
    LOADER,
  ].join('\n');
  writeWhole(target, program);
  removeOthers('app', target);
}

/** The programs of one kind (app, vendor) other than `target`, with their code caches: what sources since changed left. */
function removeOthers(kind, target) {
  const pattern = new RegExp(`^${kind}-[0-9a-f]{16}\\.js$`);
  for (const entry of readdirSync(BUILD)) {
    const program = join(BUILD, entry);
    if (!pattern.test(entry) || program === target) continue;
    rmSync(program, { force: true });
    for (const cache of readdirSync(BUILD)) if (cache.startsWith(`${entry}.`) && cache.endsWith('.v8')) rmSync(join(BUILD, cache), { force: true });
  }
}

// V8 reads a program in ASCII as it is (a one-byte string); one character beyond ASCII, and the
// whole file is decoded from UTF-8 into a two-byte string: 20-100 ms for the packages' program.
// So each file is written in ASCII where JavaScript allows it, meaning the same: the character as
// an escape in a string, template, regular expression or name, a plain space or line break for
// the odd white space, an escape's text in a comment.
const LINE_TERMINATOR = /[\u2028\u2029]/u;
const WHITE_SPACE = /[\p{Zs}\uFEFF]/u;

/** `text` (a CommonJS file) in ASCII only, the same program; undefined where that cannot be (a tagged template's raw text, JSX). */
function inAscii(text, fileName, ts) {
  if (!/[^\x00-\x7f]/.test(text)) return text;
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const K = ts.SyntaxKind;
  const literals = new Set([K.StringLiteral, K.RegularExpressionLiteral, K.NoSubstitutionTemplateLiteral, K.TemplateHead, K.TemplateMiddle, K.TemplateTail]);
  const tagged = (node) => {
    for (let n = node.parent; n; n = n.parent) {
      if (n.kind === K.TaggedTemplateExpression) return true;
      if (n.kind !== K.TemplateSpan && n.kind !== K.TemplateExpression) return false;
    }
    return false;
  };
  /** Where a character beyond ASCII may stand outside a comment: [start, end, how it is written there]. */
  const tokens = [];
  const visit = (node) => {
    if (literals.has(node.kind) && /[^\x00-\x7f]/.test(node.getText(source))) tokens.push([node.getStart(source), node.end, tagged(node) ? undefined : 'literal']);
    else if ((node.kind === K.Identifier || node.kind === K.PrivateIdentifier) && /[^\x00-\x7f]/.test(node.getText(source))) tokens.push([node.getStart(source), node.end, 'name']);
    else if (node.kind === K.JsxText) tokens.push([node.getStart(source), node.end, undefined]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  tokens.sort((a, b) => a[0] - b[0]);
  /** A character as \u escapes of its UTF-16 code units (two for one beyond the BMP: a string's and a regular expression's escape alike). */
  const units = (ch) => Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
  let next = 0;
  let failed = false;
  const out = text.replace(/[^\x00-\x7f]/gu, (ch, at) => {
    while (next < tokens.length && tokens[next][1] <= at) next += 1;
    const token = next < tokens.length && tokens[next][0] <= at ? tokens[next] : undefined;
    const c = ch.codePointAt(0);
    if (token === undefined) return LINE_TERMINATOR.test(ch) ? '\n' : WHITE_SPACE.test(ch) ? ' ' : units(ch);
    if (token[2] === 'literal') return units(ch);
    if (token[2] === 'name') return c > 0xffff ? `\\u{${c.toString(16)}}` : units(ch);
    failed = true;
    return ch;
  });
  return failed ? undefined : out;
}

/** A module's text in ASCII (inAscii), if that is the same program to V8 too; else as it is. */
function asciiModule(text, fileName, ts) {
  const ascii = inAscii(text, fileName, ts);
  if (ascii === undefined || ascii === text) return text;
  try {
    compileFunction(ascii, ['exports', 'require', 'module', '__filename', '__dirname']);
    return ascii;
  } catch {
    return text;
  }
}

/** A JSON file's text, as JavaScript in ASCII: beyond ASCII, a character can only be in a string. */
function asciiJson(text) {
  return JSON.stringify(JSON.parse(text)).replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A compiled program's text: as ASCII (one byte a character, as V8 keeps it) when it is all ASCII. */
function readProgram(path) {
  const bytes = readFileSync(path);
  return isAscii(bytes) ? bytes.latin1Slice() : bytes.utf8Slice();
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
  return statLineOf(paths.map((path) => relative(ROOT, path)));
}

/** The same, of paths from the checkout (as a stamp names them). */
function statLineOf(names) {
  return names.map((name) => `${name} ${statOf(`${ROOT}/${name}`)}`).join('\n');
}

/** One file's part of a stat line: inode, size, modification and change times (ns); the change time last. */
function statOf(path) {
  const s = statSync(path, { bigint: true });
  return `${s.ino} ${s.size} ${s.mtimeNs} ${s.ctimeNs}`;
}

/** A change time this recent may share its tick with an edit still to come (a coarse clock): not proof of anything yet. */
const RACY_NS = 2_000_000_000n;

/** Whether a stat line (statLine, vendorStats) holds a change that recent: then it is not written as a stamp. */
function racy(stat) {
  const now = BigInt(Date.now()) * 1_000_000n;
  return stat.split('\n').some((line) => now - BigInt(line.slice(line.lastIndexOf(' ') + 1)) < RACY_NS);
}

/** The compiled program for the sources as they are: the last one if they have not changed, else compiled once. */
function program() {
  // The stamp names what to stat: nothing to list unless a directory of sources changed.
  const recorded = existsSync(STAMP) ? readFileSync(STAMP, 'utf8') : '';
  const newline = recorded.indexOf('\n');
  if (newline > 0) {
    const lines = recorded.slice(newline + 1);
    const last = join(BUILD, recorded.slice(0, newline));
    try {
      if (statLineOf(lines.split('\n').map((line) => line.slice(0, line.indexOf(' ')))) === lines && existsSync(last)) return last;
    } catch {
      // an input is gone: compile
    }
  }
  const { files, dirs } = sourceFiles();
  const inputs = [__filename, TYPESCRIPT_PACKAGE, ...dirs, ...files];
  const stat = statLine(inputs);

  const target = join(BUILD, `app-${fingerprint(files)}.js`);
  if (!existsSync(target)) {
    mkdirSync(BUILD, { recursive: true });
    compile(files, target);
  }
  if (!racy(stat)) writeWhole(STAMP, `${basename(target)}\n${stat}`);
  return target;
}

// --- The packages' program: the files of node_modules the sources reach, compiled into one ---

/** A require() of a literal name: how every CommonJS file names what it loads (the TypeScript output too). */
const REQUIRE = /\brequire\s*\(\s*(['"])([^'"\\\n]+)\1\s*\)/g;
/** Which packages' program the packages are, and the stat line of the files it was compiled from. */
const VENDOR_STAMP = join(BUILD, 'vendor.stamp');

/**
 * The files of node_modules the packages' requests reach through literal require()s, as node
 * resolves them, each with what its requests resolve to (null: one of node's own modules).
 * A request that does not resolve (an optional dependency, tried in a try) is left to node at
 * run time, as is a file node would not load as CommonJS (.node, .mjs, a "type": "module"
 * package's .js).
 */
function vendorClosure(packages) {
  const modules = new Map();
  const types = new Map();
  const isCommonJs = (file) => {
    if (file.endsWith('.json') || file.endsWith('.cjs')) return true;
    if (!file.endsWith('.js')) return false;
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      if (!types.has(dir) && existsSync(join(dir, 'package.json'))) types.set(dir, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type ?? 'commonjs');
      if (types.has(dir)) return types.get(dir) !== 'module';
      if (dirname(dir) === dir) return true;
    }
  };
  const visit = (file) => {
    const id = vendorId(file);
    if (modules.has(id)) return id;
    if (!isCommonJs(file)) return undefined;
    // An inline source map is most of a generated file, and no use in a program that bundles it.
    const text = readFileSync(file, 'utf8').replace(/^\/\/[#@] sourceMappingURL=.*$/gm, '');
    const module = { text, deps: {} };
    modules.set(id, module);
    if (file.endsWith('.json')) return id;
    const from = createRequire(file);
    for (const [, , request] of text.matchAll(REQUIRE)) {
      if (request in module.deps) continue;
      if (isBuiltin(request)) {
        module.deps[request] = null;
        continue;
      }
      let resolved;
      try {
        resolved = from.resolve(request);
      } catch {
        continue;
      }
      const to = visit(resolved);
      if (to !== undefined) module.deps[request] = to;
    }
    return id;
  };
  const fromRoot = createRequire(join(ROOT, 'package.json'));
  const entries = {};
  for (const request of packages) {
    const to = visit(fromRoot.resolve(request));
    if (to !== undefined) entries[request] = to;
  }
  return { modules, entries };
}

/**
 * How the packages' program names a file: its path from the checkout, or (where node_modules is a
 * link out of it) its absolute path, so that it is found again with no path to normalize.
 */
function vendorId(file) {
  const path = file.split(sep).join('/');
  const root = `${ROOT.split(sep).join('/')}/`;
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** The stat line of each file (by its vendorId), as statLine writes it, without the name. */
function vendorStats(ids) {
  return ids.map((id) => statOf(id.startsWith('/') ? id : `${ROOT}/${id}`)).join('\n');
}

// The packages' program's loader. Each file runs as node runs it (its own function, its real
// __filename, a module node's require sees: it is in require.cache), without a file system
// lookup for what it requires. What was not compiled in is node's to find and load.
const VENDOR_LOADER = `
module.exports = (function () {
  'use strict';
  const Module = require('node:module');
  const { dirname, join } = require('node:path');
  const root = join(__dirname, '..');
  const filenameOf = (id) => (id.startsWith('/') ? id : root + '/' + id);
  function load(id) {
    const filename = filenameOf(id);
    const cached = Module._cache[filename];
    if (cached) return cached.exports;
    const [body, deps] = modules[id];
    const module = new Module(filename, null);
    module.filename = filename;
    // Where node would look for what the file requires: only for a request not compiled in.
    let paths;
    Object.defineProperty(module, 'paths', { get: () => (paths ??= Module._nodeModulePaths(dirname(filename))), set: (value) => (paths = value), configurable: true, enumerable: true });
    Module._cache[filename] = module;
    let ran = false;
    try {
      body.call(module.exports, module.exports, requireIn(module, deps), module, filename, dirname(filename));
      ran = true;
    } finally {
      if (!ran) delete Module._cache[filename];
    }
    module.loaded = true;
    return module.exports;
  }
  function requireIn(module, deps) {
    const requireOf = (request) => {
      const to = deps[request];
      if (to === null) return require(request);
      if (to !== undefined) return load(to);
      const resolved = Module._resolveFilename(request, module, false);
      const id = resolved.startsWith(root + '/') ? resolved.slice(root.length + 1) : resolved;
      return id in modules ? load(id) : module.require(request);
    };
    requireOf.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
    requireOf.cache = Module._cache;
    requireOf.main = require.main;
    requireOf.extensions = Module._extensions;
    return requireOf;
  }
  /** A package the sources require, compiled in; undefined when it is not. */
  return (request) => (request in entries ? load(entries[request]) : undefined);
})();
`;

function compileVendor({ modules, entries }, target) {
  const ts = require('typescript');
  const bodies = [...modules].map(([id, { text, deps }]) => {
    const body = id.endsWith('.json') ? `module.exports = ${asciiJson(text)};` : asciiModule(text.replace(/^#!.*/, ''), id, ts);
    return `${JSON.stringify(id)}: [function (exports, require, module, __filename, __dirname) {\n${body}\n}, ${JSON.stringify(deps)}],`;
  });
  // Not strict: each file is as strict as it says it is.
  const program = [
    `// Compiled by .ci/launch.cjs from ${modules.size} files of node_modules. Do not edit: it is rebuilt when they change.`,
    `const modules = {\n${bodies.join('\n')}\n};`,
    `const entries = ${JSON.stringify(entries)};`,
    VENDOR_LOADER,
  ].join('\n');
  writeWhole(target, program);
  removeOthers('vendor', target);
}

/**
 * The packages' program for `packages` (what the sources require) and node_modules as they are:
 * the last one if neither changed (every file it holds has the stat line it had), else compiled.
 */
function vendorProgram(packages) {
  const wanted = packages.join(' ');
  try {
    const stamp = JSON.parse(readFileSync(VENDOR_STAMP, 'utf8'));
    const last = join(BUILD, stamp.program);
    if (stamp.packages === wanted && vendorStats(stamp.files) === stamp.stat && existsSync(last)) return last;
  } catch {
    // none yet, or a file it holds is gone: compile
  }
  const closure = vendorClosure(packages);
  const hash = require('node:crypto').createHash('sha256');
  hash.update(readFileSync(__filename)).update(`${wanted}\0${JSON.stringify(closure.entries)}\0`);
  for (const [id, { text, deps }] of closure.modules) hash.update(`${id}\0${JSON.stringify(deps)}\0`).update(text).update('\0');
  const target = join(BUILD, `vendor-${hash.digest('hex').slice(0, 16)}.js`);
  if (!existsSync(target)) {
    mkdirSync(BUILD, { recursive: true });
    compileVendor(closure, target);
  }
  const files = [vendorId(__filename), ...closure.modules.keys()];
  const stat = vendorStats(files);
  const stamp = { program: basename(target), packages: wanted, files, stat };
  if (!racy(stat)) writeWhole(VENDOR_STAMP, JSON.stringify(stamp));
  return target;
}

/** Where V8's code cache of a compiled program is kept, for one entry: beside it. */
function codeCacheOf(program, entry) {
  return `${program}.${entry}.v8`;
}

/** What to do when the entry is done: write the code cache of each program it ran that has none V8 took. */
const cacheWrites = [];

/**
 * Runs a compiled program from V8's code cache (.build/<program>.js.<entry>.v8), which the first
 * run of that entry writes once it is done, so that it holds every function it compiled, not only
 * the top level. A cache V8 refuses (another node) is written again. Returns what it exports.
 */
function run(target, entry, programRequire) {
  const cacheFile = codeCacheOf(target, entry);
  const script = new Script(wrap(readProgram(target)), {
    filename: target,
    ...(existsSync(cacheFile) ? { cachedData: readFileSync(cacheFile) } : {}),
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, programRequire, module, target, BUILD);
  cacheWrites.push(() => {
    if (script.cachedDataRejected !== false) writeWhole(cacheFile, script.createCachedData());
  });
  return module.exports;
}

/** Writes the code caches an entry's run left to write. */
function done() {
  for (const write of cacheWrites) write();
}

/**
 * The program's module loader, for one entry. Its requests of node's own modules go to node; the
 * first of a package loads the packages' program (compiled first when node_modules or the
 * packages the sources name changed), so an entry that needs no package never reads it.
 */
function load(target, entry) {
  const nodeRequire = createRequire(target);
  let vendor;
  const app = run(target, entry, (request) => {
    if (isBuiltin(request)) return nodeRequire(request);
    vendor ??= run(vendorProgram(app.packages), entry, nodeRequire);
    const exports = vendor(request);
    return exports === undefined ? nodeRequire(request) : exports;
  });
  return app;
}

/** The command a module of commands/ exports (the one `runMain` starts when run directly). */
function commandOf(exports, name) {
  const command = Object.values(exports).find((v) => v && typeof v.run === 'function' && typeof v.usage === 'string' && typeof v.name === 'string');
  if (!command) throw new Error(`commands/${name}.ts exports no command`);
  return command;
}

function main() {
  const [name, ...args] = process.argv.slice(2);
  const target = program();
  if (name === undefined) {
    load(target, 'synth')('main').main();
    done();
    exitOnceFlushed();
    return;
  }
  if (!/^[a-z][a-z-]*$/.test(name) || !existsSync(join(ROOT, 'commands', `${name}.ts`))) {
    process.stderr.write(`.ci/launch.cjs: no command '${name}' in commands/\n`);
    process.exit(1);
  }
  const loadModule = load(target, name);
  const command = commandOf(loadModule(`commands/${name}`), name);
  loadModule('commands/cli').runProcess(command, args).then((code) => {
    done();
    process.exitCode = code;
    exitOnceFlushed();
  });
}

if (require.main === module) main();
// For its tests.
else module.exports = { inAscii };

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
