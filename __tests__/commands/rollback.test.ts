import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { rollbackCommand, parseRollbackArgs } from '../../commands/rollback';
import { chooseRollbackTarget, imageOfVersion, runtimeOfVersion, sourceDisagreement, stateHoldsBuiltImage } from '../../commands/rollback-target';
import { manifestPresent } from '../../commands/registry-manifest';
import type { JobVersion } from '../../commands/nomad-client';
import { runCommand } from '../support/command';

const image = (c: string) => `docker.wikiedu.org/wikiedu-web@sha256:${c.repeat(64)}`;

function version(n: number, img: string, stable: boolean, entrypoint?: string[]): JobVersion {
  return {
    ID: 'rails',
    Version: n,
    Stable: stable,
    SubmitTime: n * 1e9,
    TaskGroups: [
      { Name: 'web', Tasks: [{ Name: 'rails_server', Driver: 'docker', Config: { image: img, ...(entrypoint ? { entrypoint } : {}) } }, { Name: 'connect-proxy-web', Driver: 'docker', Config: { image: 'envoy' } }] },
      { Name: 'sidekiq-default', Tasks: [{ Name: 'sidekiq', Driver: 'docker', Config: { image: img } }] },
    ],
  } as unknown as JobVersion;
}

// Newest first, as NomadClient.versions returns them.
const history = [version(4, image('d'), false), version(3, image('c'), true), version(2, image('b'), true), version(1, image('a'), false), version(0, image('a'), true)];

describe('the version a rollback goes back to', () => {
  it('is the newest stable version older than the running one, saying why', () => {
    expect(chooseRollbackTarget(history, 4)).toEqual({ version: 3, image: image('c'), reason: 'the newest stable version older than the running version 4 with another image' });
    expect(chooseRollbackTarget(history, 3)).toMatchObject({ version: 2, image: image('b') });
  });

  it('passes over stable versions that run the running image (a rollback changes only the image), and says so', () => {
    const sameImage = [version(5, image('d'), false), version(4, image('d'), true), ...history.slice(1)];
    expect(chooseRollbackTarget(sameImage, 5)).toEqual({
      version: 3,
      image: image('c'),
      reason: 'the newest stable version older than the running version 5 with another image (stable version 4 runs the running image)',
    });
  });

  it('refuses when no older version is stable, or every stable one runs the running image, and points at --to', () => {
    expect(() => chooseRollbackTarget([version(1, image('b'), false), version(0, image('a'), false)], 1)).toThrow(
      'no version older than the running version 1 is stable (the job\'s versions: 1, 0): name one with --to',
    );
    // Nomad reverted to version 0's spec as version 2 after version 1 failed.
    expect(() => chooseRollbackTarget([version(2, image('a'), true), version(1, image('b'), false), version(0, image('a'), true)], 2)).toThrow(
      /every stable version older than 2 \(0\) runs the image version 2 runs \(docker.wikiedu.org\/wikiedu-web@sha256:aaaaaaaaaaaa…\): nothing to roll back to; name one with --to/,
    );
  });

  it('with --to, is that version, stable or not; one that is not the job\'s, or the running one, is refused naming what there is', () => {
    expect(chooseRollbackTarget(history, 4, 1)).toEqual({ version: 1, image: image('a'), reason: 'asked for with --to (never stable)' });
    expect(chooseRollbackTarget(history, 4, 0).reason).toBe('asked for with --to (stable)');
    expect(() => chooseRollbackTarget(history, 4, 9)).toThrow(
      'version 9 is not one of the job\'s versions: Nomad keeps 4, 3 (stable), 2 (stable), 1, 0 (stable) (npm run history, or nomad job history)',
    );
    expect(() => chooseRollbackTarget(history, 4, 4)).toThrow('version 4 is the one running now: name an earlier one');
  });

  it('reads the image from the tasks, sidecars aside, or from a raw_exec stand-in\'s Meta; two images are refused', () => {
    expect(imageOfVersion(history[0]!)).toBe(image('d'));
    const standIn = { Version: 7, TaskGroups: [{ Name: 'web', Tasks: [{ Name: 'rails_server', Driver: 'raw_exec', Config: { command: '/bin/sleep' }, Meta: { standin_for_image: image('e') } }] }] };
    expect(imageOfVersion(standIn as never)).toBe(image('e'));
    const mixed = version(8, image('a'), true);
    (mixed.TaskGroups[1]!.Tasks[0]!.Config as Record<string, unknown>).image = image('b');
    expect(() => imageOfVersion(mixed)).toThrow(/version 8 runs 2 images/);
  });

  it('runs the old version the way it ran: through the launcher when its tasks did', () => {
    expect(runtimeOfVersion(version(1, image('a'), true, ['launcher']))).toBe('buildpacks');
    expect(runtimeOfVersion(version(1, image('a'), true))).toBe('direct');
  });
});

describe('a rollback keeps the image source the last deploy had', () => {
  const built = JSON.stringify({ resources: [{ mode: 'managed', type: 'docker_image', name: 'image' }, { mode: 'managed', type: 'docker_registry_image', name: 'image' }] });
  const prebuilt = JSON.stringify({ resources: [{ mode: 'managed', type: 'nomad_job', name: 'rails' }] });

  it('reads from the state whether the last deploy built the image; no state or an unreadable one is not known', () => {
    expect([stateHoldsBuiltImage(built), stateHoldsBuiltImage(prebuilt)]).toEqual([true, false]);
    expect([stateHoldsBuiltImage(undefined), stateHoldsBuiltImage(''), stateHoldsBuiltImage('{"resour')]).toEqual([undefined, undefined, undefined]);
  });

  it('refuses a build over a state without one (it would build and push), and DASHBOARD_IMAGE over a state with a build', () => {
    expect(sourceDisagreement('build', false, '/s/terraform.production.tfstate')).toMatch(/^the state \/s\/terraform.production.tfstate holds no image this tool built .*: this rollback would build and push the checkout; set DASHBOARD_IMAGE as the last deploy had it$/);
    expect(sourceDisagreement('prebuilt', true, '/s')).toMatch(/DASHBOARD_IMAGE is set: this rollback would drop that build and run the release for DASHBOARD_IMAGE; unset it$/);
    expect([sourceDisagreement('build', true, '/s'), sourceDisagreement('prebuilt', false, '/s'), sourceDisagreement('build', undefined, '/s')]).toEqual([undefined, undefined, undefined]);
  });
});

describe('npm run rollback arguments', () => {
  it('takes the environment, --to and --auto-approve', () => {
    expect(parseRollbackArgs(['production', '--to', '12', '--auto-approve'], false)).toEqual({ environment: 'production', to: 12, autoApprove: true });
    expect(parseRollbackArgs(['local'], true)).toEqual({ environment: 'local', autoApprove: false });
  });

  it.each([
    [['production', '--to', 'v3', '--auto-approve'], "--to: 'v3' is not a job version"],
    [['production', '--to=-1', '--auto-approve'], "--to: '-1' is not a job version"],
    [['production', '--to', '2.5', '--auto-approve'], "--to: '2.5' is not a job version"],
    [['production'], 'no terminal to confirm the plan at: pass --auto-approve'],
    [['qa', '--auto-approve'], "no environment 'qa'"],
    [['--auto-approve'], 'name the environment'],
    [['production', 'extra', '--auto-approve'], "unexpected argument 'extra'"],
  ])('%j is refused: %s', (args, message) => {
    expect(() => parseRollbackArgs(args, false)).toThrow(message);
  });

  it('prints its usage and exits 1 before it asks Nomad anything', async () => {
    const run = await runCommand(rollbackCommand, ['local', '--to', 'latest', '--auto-approve'], { env: { LOCAL_NOMAD_ADDR: 'http://127.0.0.1:9' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^rollback: --to: 'latest' is not a job version/);
    expect(run.stderr).toContain('usage: npm run rollback -- <environment> [--to <version>] [--auto-approve]');
  });
});

/** A registry's v2 API answering HEAD of manifests, as `answer` says. */
async function registry(answer: (req: IncomingMessage, res: ServerResponse, base: string) => void): Promise<{ base: string; seen: IncomingMessage[]; close: () => void }> {
  const seen: IncomingMessage[] = [];
  let base = '';
  const server = createServer((req, res) => {
    seen.push(req);
    answer(req, res, base);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, seen, close: () => server.close() };
}

describe('whether the registry still has the image', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it('asks HEAD /v2/<repository>/manifests/<digest> with the push credentials: 200 there, 404 gone', async () => {
    const r = await registry((req, res) => {
      res.statusCode = req.url!.endsWith(digest) ? 200 : 404;
      res.end();
    });
    try {
      const access = { plainHttp: true, username: 'dashboard', password: 'pw' };
      expect(await manifestPresent(`${r.base}/wikiedu/web@${digest}`, access)).toBe(true);
      expect(await manifestPresent(`${r.base}/wikiedu/web@sha256:${'b'.repeat(64)}`, access)).toBe(false);
      expect([r.seen[0]!.method, r.seen[0]!.url]).toEqual(['HEAD', `/v2/wikiedu/web/manifests/${digest}`]);
      expect(r.seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('dashboard:pw').toString('base64')}`);
      expect(r.seen[0]!.headers.accept).toContain('application/vnd.oci.image.index.v1+json');
    } finally {
      r.close();
    }
  });

  it('follows a bearer challenge to its token service', async () => {
    const r = await registry((req, res, base) => {
      if (req.url!.startsWith('/token')) {
        res.end(JSON.stringify({ token: 'tok' }));
      } else if (req.headers.authorization === 'Bearer tok') {
        res.end();
      } else {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${base}/token",service="registry",scope="repository:web:pull"` }).end();
      }
    });
    try {
      expect(await manifestPresent(`${r.base}/web@${digest}`, { plainHttp: true, username: 'u', password: 'p' })).toBe(true);
      expect(r.seen[1]!.url).toBe('/token?service=registry&scope=repository%3Aweb%3Apull');
    } finally {
      r.close();
    }
  });

  it('a registry that refuses the credentials, errs or cannot be reached is an error, never an image that is gone', async () => {
    const r = await registry((req, res) => {
      res.statusCode = req.url!.includes('/denied/') ? 401 : 503;
      res.end();
    });
    try {
      await expect(manifestPresent(`${r.base}/denied/web@${digest}`, { plainHttp: true, username: 'u', password: 'p' })).rejects.toThrow(
        `the registry ${r.base} refused the credentials of 'u' (DOCKER_REGISTRY_USER/DOCKER_REGISTRY_PASS) (401)`,
      );
      await expect(manifestPresent(`${r.base}/web@${digest}`, { plainHttp: true })).rejects.toThrow(`the registry ${r.base} answered 503`);
    } finally {
      r.close();
    }
    await expect(manifestPresent(`127.0.0.1:9/web@${digest}`, { plainHttp: true })).rejects.toThrow('cannot reach the registry at 127.0.0.1:9: ECONNREFUSED');
  });
});
