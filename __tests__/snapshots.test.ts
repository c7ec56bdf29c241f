import { describe, expect, it } from 'vitest';
import { fixtureEnvironment, jobOf, portable, synthEnvironment } from './support/synth';

/**
 * One pretty-printed snapshot per job, so a pull request's diff reads like a jobspec diff,
 * and one of the rest of each stack (providers, image build and push, variables, backend).
 * Review a changed snapshot like code: it is what Nomad and Terraform will be sent.
 */
const JOB_IDS: Record<string, string> = { production: 'rails', staging: 'rails-staging', local: 'rails' };

describe.each(Object.keys(JOB_IDS))('%s', (name) => {
  const stack = synthEnvironment(fixtureEnvironment(name));
  const job = jobOf(stack, JOB_IDS[name]);

  it('job snapshot', async () => {
    await expect(`${JSON.stringify({ Job: job }, null, 2)}\n`).toMatchFileSnapshot(`__snapshots__/${name}.job.json`);
  });

  it('stack snapshot, jobspec aside', async () => {
    const frame = portable(structuredClone(stack));
    for (const r of Object.values(frame.resource.nomad_job ?? {})) r.jobspec = '<see the job snapshot>';
    await expect(`${JSON.stringify(frame, null, 2)}\n`).toMatchFileSnapshot(`__snapshots__/${name}.stack.json`);
  });
});

describe('staging', () => {
  const prod = jobOf(synthEnvironment(fixtureEnvironment('production')));
  const staging = jobOf(synthEnvironment(fixtureEnvironment('staging')), 'rails-staging');

  it('has production\'s groups, queues and commands', () => {
    const shape = (j: typeof prod) => j.TaskGroups.map((g) => [g.Name, g.Tasks[0]!.Name, g.Tasks[0]!.Config.command, g.Tasks[0]!.Config.args]);
    expect(shape(staging)).toEqual(shape(prod));
  });

  it('runs one of each, in its own datacenter, under -staging service names', () => {
    expect(staging.Datacenters).toEqual(['staging']);
    expect(staging.TaskGroups.every((g) => g.Count === 1)).toBe(true);
    expect(staging.TaskGroups.map((g) => g.Services![0]!.Name)).toEqual(prod.TaskGroups.map((g) => `${g.Services![0]!.Name}-staging`));
    const upstreams = staging.TaskGroups[0]!.Services![0]!.Connect!.SidecarService.Proxy.Upstreams.map((u) => u.DestinationName);
    expect(upstreams).toEqual(['redis-sidekiq-staging', 'memcache-staging', 'mariadb-staging']);
  });

  it('pulls from its own registry', () => {
    expect(staging.TaskGroups[0]!.Tasks[0]!.Config.image).toMatch(/^registry\.staging\.wikiedu\.org\/wikiedu-web@/);
  });
});

describe('local', () => {
  it('targets the loopback agent and registry it is told, never NOMAD_ADDR', () => {
    const stack = synthEnvironment(
      fixtureEnvironment('local', { NOMAD_ADDR: 'https://nomad.wikiedu.org:4646', LOCAL_NOMAD_ADDR: 'http://127.0.0.1:14646', LOCAL_REGISTRY_ADDRESS: '127.0.0.1:15000' }),
    );
    expect(stack.provider.nomad[0].address).toBe('http://127.0.0.1:14646');
    // Plain HTTP: said to the docker provider, which would otherwise read the pushed digest over HTTPS.
    expect(stack.provider.docker[0].registry_auth).toEqual([{ address: 'http://127.0.0.1:15000' }]);
    expect(jobOf(stack).TaskGroups[0]!.Tasks[0]!.Config.image).toMatch(/^127\.0\.0\.1:15000\/wikiedu-web@\$\{docker_registry_image/);
  });
});
