import { chmodSync, cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DockerIgnore, hashBuildContext } from '../../config/build-context';
import { FIXTURE_APP } from '../support/synth';

describe('DockerIgnore', () => {
  const ignore = DockerIgnore.parse(['# comment', 'node_modules', '*.log', '/tmp', 'log/**', '!log/keep.txt', '**/*.swp', 'doc?'].join('\n'));

  it.each([
    ['node_modules/react/index.js', true],
    ['app.log', true],
    ['app/models/user.log', false],
    ['tmp/cache/x', true],
    ['log/production.log', true],
    ['log/keep.txt', false],
    ['app/views/.index.swp', true],
    ['docs', true],
    ['docs/readme.md', true],
    ['app/models/user.rb', false],
    ['Gemfile', false],
  ])('%s excluded: %s', (path, excluded) => {
    expect(ignore.excludes(path)).toBe(excluded);
  });
});

describe('hashBuildContext', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'context-'));
    cpSync(FIXTURE_APP, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is the same for the same files, wherever they are', () => {
    expect(hashBuildContext(dir).sha256).toBe(hashBuildContext(FIXTURE_APP).sha256);
  });

  it('counts the files that reach the build', () => {
    // Dockerfile, .dockerignore, Gemfile, app/application_controller.rb; tmp/ is ignored.
    expect(hashBuildContext(dir).files).toBe(4);
  });

  it('changes when a file that reaches the build changes', () => {
    const before = hashBuildContext(dir).sha256;
    writeFileSync(join(dir, 'app/application_controller.rb'), 'class ApplicationController; def x; end; end\n');
    expect(hashBuildContext(dir).sha256).not.toBe(before);
  });

  it('changes when a file is added, renamed or made executable', () => {
    const before = hashBuildContext(dir).sha256;
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin/setup'), '#!/bin/sh\n');
    const added = hashBuildContext(dir).sha256;
    expect(added).not.toBe(before);
    chmodSync(join(dir, 'bin/setup'), 0o755);
    expect(hashBuildContext(dir).sha256).not.toBe(added);
  });

  it('does not change when an ignored file changes', () => {
    const before = hashBuildContext(dir).sha256;
    writeFileSync(join(dir, 'tmp/cache/build.txt'), 'changed\n');
    writeFileSync(join(dir, 'development.log'), 'noise\n');
    expect(hashBuildContext(dir).sha256).toBe(before);
  });

  it('walks into an ignored directory when an exception re-includes a file in it', () => {
    writeFileSync(join(dir, '.dockerignore'), 'tmp\n!tmp/cache/build.txt\n');
    expect(hashBuildContext(dir).files).toBe(5);
    const before = hashBuildContext(dir).sha256;
    writeFileSync(join(dir, 'tmp/cache/build.txt'), 'changed\n');
    expect(hashBuildContext(dir).sha256).not.toBe(before);
  });

  it('counts the Dockerfile even when .dockerignore names it', () => {
    writeFileSync(join(dir, '.dockerignore'), 'tmp\nDockerfile\n');
    const before = hashBuildContext(dir).sha256;
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
    expect(hashBuildContext(dir).sha256).not.toBe(before);
  });
});

describe('hashBuildContext progress', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is told about once a second, once a second has passed, with what is done so far', () => {
    // A clock that moves 400ms each time it is read: the hash of the fixture "takes" seconds.
    let now = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => (now += 400));
    const told: { files: number; bytes: number }[] = [];
    const digest = hashBuildContext(FIXTURE_APP, 'Dockerfile', { onProgress: ({ files, bytes }) => told.push({ files, bytes }) });
    expect(told.length).toBeGreaterThan(0);
    expect(told.length).toBeLessThan(digest.files);
    expect(told.map((t) => t.files)).toEqual([...told.map((t) => t.files)].sort((a, b) => a - b));
    expect(told.at(-1)!.files).toBeLessThanOrEqual(digest.files);
  });

  it('is not told when the hash takes less than a second', () => {
    const onProgress = vi.fn();
    hashBuildContext(FIXTURE_APP, 'Dockerfile', { onProgress });
    expect(onProgress).not.toHaveBeenCalled();
  });
});
