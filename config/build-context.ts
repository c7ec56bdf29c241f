import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { DEFAULT_DOCKERFILE } from '../constructs/image/dockerfile';

/**
 * The content hash of a Docker build context: what the daemon would be sent, after
 * .dockerignore. It changes when a file that reaches the build changes, and only then.
 * The Dockerfile is always part of it, even when .dockerignore names it (Docker sends it anyway).
 */
export interface ContextDigest {
  readonly sha256: string;
  readonly files: number;
  readonly bytes: number;
}

export interface HashOptions {
  /**
   * Told how far the hash has got, about once a second once a second has passed.
   * @default - not told
   */
  readonly onProgress?: (sofar: { readonly files: number; readonly bytes: number; readonly seconds: number }) => void;
}

export function hashBuildContext(context: string, dockerfile = DEFAULT_DOCKERFILE, options: HashOptions = {}): ContextDigest {
  const ignore = DockerIgnore.load(context);
  const dockerfilePath = posix.normalize(dockerfile);
  const hash = createHash('sha256');
  const started = Date.now();
  let nextProgress = started + 1000;
  let files = 0;
  let bytes = 0;
  // Each directory passes down which rules matched it or a parent: a rule is tested once per path, not once per prefix.
  const walk = (rel: string, parentMatches: readonly boolean[]): void => {
    const entries = readdirSync(join(context, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const matches = ignore.match(path, parentMatches);
      const always = path === dockerfilePath || path === '.dockerignore';
      if (!always && ignore.excludedBy(matches)) {
        // An excluded directory may still hold re-included files ("!dir/keep"): only skip it when no exception could apply.
        if (!(entry.isDirectory() && ignore.mayReinclude(path))) continue;
      }
      const full = join(context, path);
      if (entry.isDirectory()) {
        walk(path, matches);
      } else if (entry.isSymbolicLink()) {
        hash.update(`L ${path}\0${readlinkSync(full)}\n`);
        files += 1;
      } else if (entry.isFile()) {
        const { content, mode } = readWithMode(full);
        const executable = (mode & 0o111) !== 0 ? 'x' : '-';
        hash.update(`F ${path}\0${executable}\0${createHash('sha256').update(content).digest('hex')}\n`);
        files += 1;
        bytes += content.length;
        if (options.onProgress && Date.now() >= nextProgress) {
          options.onProgress({ files, bytes, seconds: (Date.now() - started) / 1000 });
          nextProgress = Date.now() + 1000;
        }
      }
    }
  };
  walk('', ignore.none);
  // A Dockerfile outside the context is sent with it (the docker CLI and the provider add it to
  // the context they send): its content counts too.
  if (isAbsolute(dockerfile) && !`${dockerfile}/`.startsWith(`${context.replace(/\/$/, '')}/`)) {
    const content = readFileSync(dockerfile);
    hash.update(`D \0${createHash('sha256').update(content).digest('hex')}\n`);
    files += 1;
    bytes += content.length;
  }
  return { sha256: hash.digest('hex'), files, bytes };
}

/** A file's bytes and mode through one open descriptor: one path lookup, not two. */
function readWithMode(path: string): { content: Buffer; mode: number } {
  const fd = openSync(path, 'r');
  try {
    const { mode, size } = fstatSync(fd);
    const content = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, content, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return { content: read === size ? content : content.subarray(0, read), mode };
  } finally {
    closeSync(fd);
  }
}

interface Rule {
  readonly negate: boolean;
  readonly pattern: RegExp;
  readonly source: string;
}

/** Docker's .dockerignore rules: Go filepath.Match patterns plus `**`, `!` exceptions, last match wins. */
export class DockerIgnore {
  static load(context: string): DockerIgnore {
    const file = join(context, '.dockerignore');
    return DockerIgnore.parse(existsSync(file) ? readFileSync(file, 'utf8') : '');
  }

  static parse(text: string): DockerIgnore {
    const rules: Rule[] = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      if (negate) line = line.slice(1).trim();
      line = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
      if (line === '' || line === '.') continue;
      rules.push({ negate, pattern: globToRegExp(line), source: line });
    }
    return new DockerIgnore(rules);
  }

  private constructor(private readonly rules: readonly Rule[]) {}

  /** No rule matched: where a walk from the context root starts. */
  get none(): readonly boolean[] {
    return this.rules.map(() => false);
  }

  /** Which rules match the path or one of its parents, given which matched its parent directory. */
  match(path: string, parentMatches: readonly boolean[]): boolean[] {
    return this.rules.map((rule, i) => parentMatches[i] === true || rule.pattern.test(path));
  }

  /** The last matching rule decides: excluded unless it is an exception. */
  excludedBy(matches: readonly boolean[]): boolean {
    for (let i = this.rules.length - 1; i >= 0; i--) if (matches[i]) return !this.rules[i]!.negate;
    return false;
  }

  /** True when the path (relative, '/'-separated) is left out of the context. */
  excludes(path: string): boolean {
    const parts = path.split('/');
    let matches = this.none;
    for (let i = 1; i <= parts.length; i++) matches = this.match(parts.slice(0, i).join('/'), matches);
    return this.excludedBy(matches);
  }

  /** True when some exception rule could re-include a path below this directory. */
  mayReinclude(dir: string): boolean {
    return this.rules.some((r) => r.negate && (r.source.startsWith(`${dir}/`) || r.source.startsWith('**') || !r.source.includes('/')));
  }
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // "**/" matches any number of directories, "**" at the end anything.
        i += 1;
        if (glob[i + 1] === '/') {
          i += 1;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
      } else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      i += 1;
      re += escapeRegExp(glob[i]!);
    } else {
      re += escapeRegExp(c);
    }
  }
  return new RegExp(`^${re}$`);
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
