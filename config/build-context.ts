import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, existsSync } from 'node:fs';
import { join, posix } from 'node:path';

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

export function hashBuildContext(context: string, dockerfile = 'Dockerfile'): ContextDigest {
  const ignore = DockerIgnore.load(context);
  const hash = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = (rel: string): void => {
    const entries = readdirSync(join(context, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const always = path === posix.normalize(dockerfile) || path === '.dockerignore';
      if (!always && ignore.excludes(path)) {
        // An excluded directory may still hold re-included files ("!dir/keep"): only skip it when no exception could apply.
        if (!(entry.isDirectory() && ignore.mayReinclude(path))) continue;
      }
      const full = join(context, path);
      const stat = lstatSync(full);
      if (stat.isDirectory()) {
        walk(path);
      } else if (stat.isSymbolicLink()) {
        hash.update(`L ${path}\0${readlinkSync(full)}\n`);
        files += 1;
      } else if (stat.isFile()) {
        const content = readFileSync(full);
        const executable = (stat.mode & 0o111) !== 0 ? 'x' : '-';
        hash.update(`F ${path}\0${executable}\0${createHash('sha256').update(content).digest('hex')}\n`);
        files += 1;
        bytes += content.length;
      }
    }
  };
  walk('');
  return { sha256: hash.digest('hex'), files, bytes };
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

  /** True when the path (relative, '/'-separated) is left out of the context. */
  excludes(path: string): boolean {
    let excluded = false;
    for (const rule of this.rules) {
      if (matchesSelfOrParent(rule.pattern, path)) excluded = !rule.negate;
    }
    return excluded;
  }

  /** True when some exception rule could re-include a path below this directory. */
  mayReinclude(dir: string): boolean {
    return this.rules.some((r) => r.negate && (r.source.startsWith(`${dir}/`) || r.source.startsWith('**') || !r.source.includes('/')));
  }
}

function matchesSelfOrParent(pattern: RegExp, path: string): boolean {
  const parts = path.split('/');
  for (let i = parts.length; i > 0; i--) {
    if (pattern.test(parts.slice(0, i).join('/'))) return true;
  }
  return false;
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
