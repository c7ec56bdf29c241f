import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A build context the size of a Rails checkout's: 4000 files, 37 MB (3960 sources of 2 to
 * 5 KB several directories deep, 38 compiled bundles of 610 KB), with a .dockerignore of the
 * usual rules. In a fresh temporary directory: the caller removes it.
 */
export function syntheticContext(): { dir: string; files: number; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-context-'));
  let files = 0;
  let bytes = 0;
  const write = (path: string, size: number) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), randomBytes(size));
    files += 1;
    bytes += size;
  };
  writeFileSync(join(dir, 'Dockerfile'), 'FROM ruby:3.3\nCOPY . /app\n');
  writeFileSync(
    join(dir, '.dockerignore'),
    ['.git', 'node_modules', 'log/*', 'tmp/*', '!tmp/.keep', 'coverage', '*.log', '**/.DS_Store', '**/*.swp', 'public/packs-test', 'spec/fixtures/vcr_cassettes', 'docs/**/*.pdf'].join('\n'),
  );
  for (let d = 0; d < 40; d++) {
    for (let f = 0; f < 99; f++) write(`app/assets/javascripts/components/module${d}/lib/sub${f % 5}/file${f}.jsx`, 2000 + ((d * 99 + f) % 7) * 500);
  }
  for (let i = 0; i < 38; i++) write(`public/assets/bundle${i}.js`, 610_000);
  return { dir, files: files + 2, bytes };
}
