import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../config/load';
import { fixtureEdge, jobOf, synthEnvironment } from '../support/synth';

const PREBUILT = `docker.wikiedu.org/wikiedu-web@sha256:${'f'.repeat(64)}`;
const EARLIER = `docker.wikiedu.org/wikiedu-web@sha256:${'e'.repeat(64)}`;

const synth = (env: Record<string, string>) => synthEnvironment(loadEnvironment('production', fixtureEdge(env)));
const tasksOf = (stack: ReturnType<typeof synth>) => jobOf(stack).TaskGroups.flatMap((g) => g.Tasks);
const releaseTrigger = (stack: ReturnType<typeof synth>) => stack.resource.terraform_data!.release!.triggers_replace.trigger as string;

describe('a prebuilt image (DASHBOARD_IMAGE)', () => {
  it('runs its command directly unless DASHBOARD_IMAGE_RUNTIME says buildpacks: production\'s own image is a Dockerfile one', () => {
    for (const task of tasksOf(synth({ DASHBOARD_IMAGE: PREBUILT }))) {
      expect([task.Name, task.Config.entrypoint]).toEqual([task.Name, undefined]);
    }
    for (const task of tasksOf(synth({ DASHBOARD_IMAGE: PREBUILT, DASHBOARD_IMAGE_RUNTIME: 'buildpacks' }))) {
      expect([task.Name, task.Config.entrypoint]).toEqual([task.Name, ['launcher']]);
    }
  });

  it('refuses a runtime it does not know, naming the variable', () => {
    expect(() => loadEnvironment('production', fixtureEdge({ DASHBOARD_IMAGE: PREBUILT, DASHBOARD_IMAGE_RUNTIME: 'pack' }))).toThrow(
      /invalid DASHBOARD_IMAGE_RUNTIME='pack'.*\n  - image.runtime:/,
    );
  });

  it('keeps the docker provider\'s registry login, so Terraform can read the image an earlier deploy built and pushed', () => {
    const stack = synth({ DASHBOARD_IMAGE: PREBUILT });
    expect(stack.provider.docker).toEqual([{ registry_auth: [{ address: 'docker.wikiedu.org' }] }]);
    expect(stack.terraform.required_providers.docker).toMatchObject({ source: 'kreuzwerker/docker', version: expect.any(String) });
    expect(stack.resource.docker_image).toBeUndefined();
    expect(releaseTrigger(stack)).toBe(PREBUILT);
  });

  it('on local, the provider talks to the local daemon, as for a build', () => {
    const stack = synthEnvironment(loadEnvironment('local', fixtureEdge({ DASHBOARD_IMAGE: PREBUILT.replace('docker.wikiedu.org', '127.0.0.1:5000'), DOCKER_HOST: 'unix:///run/podman.sock' })));
    expect(stack.provider.docker[0]).toMatchObject({ host: 'unix://${var.docker_socket}', registry_auth: [{ address: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) }] });
    expect(stack.variable?.docker_socket).toMatchObject({ default: '/run/podman.sock' });
  });
});

describe('a rollback (DASHBOARD_ROLLBACK_IMAGE)', () => {
  it('points every task at the earlier digest, and keeps the build, the push and the release trigger as they are in state', () => {
    const plain = synth({});
    const rollback = synth({ DASHBOARD_ROLLBACK_IMAGE: EARLIER });
    for (const task of tasksOf(rollback)) expect([task.Name, task.Config.image]).toEqual([task.Name, EARLIER]);
    for (const type of ['docker_image', 'docker_registry_image']) {
      expect(rollback.resource[type]!.image.lifecycle).toEqual({ create_before_destroy: true, ignore_changes: 'all' });
      // Without the input the build is the build: nothing frozen, so the next deploy rolls forward.
      // (The build's paths never replace it: each operator's checkout lies elsewhere.)
      expect(plain.resource[type]!.image.lifecycle).toEqual({ create_before_destroy: true, ...(type === 'docker_image' ? { ignore_changes: ['build'] } : {}) });
    }
    // The release is run for the source's image: its trigger does not move, so nothing is released.
    expect(releaseTrigger(rollback)).toBe(releaseTrigger(plain));
    expect(releaseTrigger(rollback)).toContain('docker_registry_image.image.sha256_digest');
    for (const task of tasksOf(plain)) expect(task.Config.image).toContain('docker_registry_image.image.sha256_digest');
  });

  it('with a prebuilt source, the job runs the earlier digest and the release trigger stays the source\'s', () => {
    const stack = synth({ DASHBOARD_IMAGE: PREBUILT, DASHBOARD_ROLLBACK_IMAGE: EARLIER });
    for (const task of tasksOf(stack)) expect(task.Config.image).toBe(EARLIER);
    expect(releaseTrigger(stack)).toBe(PREBUILT);
  });

  it('refuses a rollback image that is not pinned by digest, naming the variable', () => {
    expect(() => loadEnvironment('production', fixtureEdge({ DASHBOARD_ROLLBACK_IMAGE: 'docker.wikiedu.org/wikiedu-web:v1' }))).toThrow(
      /invalid DASHBOARD_ROLLBACK_IMAGE='docker.wikiedu.org\/wikiedu-web:v1'.*\n  - image.rollback: must be pinned by digest/,
    );
  });
});
