import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_APP } from '../support/synth';
import { DockerApi } from './support/docker-api';
import { LocalEnvironment } from './support/local-environment';

/**
 * What `npm run local:up` promises a contributor, checked with the calls the docker provider
 * makes: the Docker API builds the fixture app, the registry takes an authenticated push over
 * plain HTTP and refuses a wrong password, and a second local:up changes nothing.
 */
describe('the local environment', () => {
  let local: LocalEnvironment;
  let docker: DockerApi;

  beforeAll(async () => {
    local = await LocalEnvironment.start();
    docker = new DockerApi(local.env.DOCKER_HOST);
  });

  afterAll(() => local?.stop());

  const image = () => `${local.env.LOCAL_REGISTRY_ADDRESS}/fixture-app`;
  const auth = (password: string) => ({ username: local.env.DOCKER_REGISTRY_USER, password, serveraddress: local.env.LOCAL_REGISTRY_ADDRESS });

  it('builds the fixture app through the Docker API and pushes it to the authenticated registry', async () => {
    await docker.build(FIXTURE_APP, `${image()}:v1`);
    expect(await docker.push(image(), 'v1', auth(local.env.DOCKER_REGISTRY_PASS))).toBeUndefined();
    expect(await local.registry.tags('fixture-app')).toEqual(['v1']);
    expect(await local.registry.digest('fixture-app', 'v1')).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(local.pushes('fixture-app')).toBe(1);
    expect(local.builds()).toBe(1);
  });

  it('refuses a push with a wrong password, and the registry keeps what it had', async () => {
    await docker.build(FIXTURE_APP, `${image()}:v2`);
    const error = await docker.push(image(), 'v2', auth('not-the-password'));
    expect(error).toMatch(/401|unauthorized|authentication required/i);
    expect(await local.registry.tags('fixture-app')).toEqual(['v1']);
  });

  it('refuses to read the registry without credentials', async () => {
    const res = await fetch(`http://${local.env.LOCAL_REGISTRY_ADDRESS}/v2/fixture-app/tags/list`);
    expect(res.status).toBe(401);
  });

  it('a second local:up finds everything running and changes nothing', async () => {
    const again = await local.restart();
    expect(again).toMatch(/nomad: already running/);
    expect(again).toMatch(/registry: already running/);
    expect(again).toMatch(/podman: already running/);
    expect(await local.registry.tags('fixture-app')).toEqual(['v1']);
  });
});

describe('the local environment, when a service exits during start-up', () => {
  it('starts it once more after its log\'s last lines, and comes up', async () => {
    // A podman that fails the first time, as podman once did in CI, then is the real one.
    const bin = mkdtempSync(join(tmpdir(), 'e2e-podman-'));
    const marker = join(bin, 'started-once');
    writeFileSync(join(bin, 'podman'), `#!/bin/sh\nif [ ! -e '${marker}' ]; then : >'${marker}'; echo 'shim: cannot start this time' >&2; exit 1; fi\nexec /usr/bin/podman "$@"\n`);
    chmodSync(join(bin, 'podman'), 0o755);
    let local: LocalEnvironment | undefined;
    try {
      local = await LocalEnvironment.start({ pathFirst: bin });
      expect(existsSync(marker)).toBe(true);
      expect(local.startOutput).toContain('podman: exited during start-up; its log\'s last lines, then a second start:\n  podman.log: shim: cannot start this time\n');
      expect(local.startOutput.match(/^podman: started/gm)).toHaveLength(2);
      expect(local.startOutput).toMatch(/local environment is up/);
      expect(await new DockerApi(local.env.DOCKER_HOST).ping()).toBe(true);
    } finally {
      local?.stop();
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
