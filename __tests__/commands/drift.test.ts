import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobDocument } from '../../constructs/nomad/api';
import { CommandError } from '../../commands/cli';
import { detectDrift, driftedFields, driftHeadline, explainApplyFailure, formatDrift, formatHealed, healAndRefresh, healDrift, healNeeded, waitForDeployment } from '../../commands/drift';
import type { Deployment, JobDiff } from '../../commands/nomad-client';
import { Redactor } from '../../commands/secrets';
import type { Steps } from '../../commands/terraform';
import { readRegisteredJob, registeredJobOf, type RegisteredJob } from '../../commands/terraform-state';
import { terraformErrors } from '../../commands/terraform-stream';
import { DEPLOYED_STATE_FILE, deployedState, FakeNomad, MODIFY_INDEX_CHANGED_OUTPUT, recorded } from './drift-fixtures';

const steps = (env: Record<string, string> = {}): Steps => ({ env: { PATH: process.env.PATH, ...env }, redactor: new Redactor(), progress: () => undefined });

describe('what this tool last registered, read from the state', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drift-state-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const stack = (name: string, backend: unknown) => {
    const stackDir = join(dir, name);
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(join(stackDir, 'cdk.tf.json'), JSON.stringify({ terraform: backend === undefined ? {} : { backend }, resource: {} }));
    return stackDir;
  };

  it("the deployed state's nomad_job: its address, ID, the jobspec submitted and the modify index", () => {
    const job = registeredJobOf(deployedState())!;
    expect([job.address, job.id, job.namespace, job.modifyIndex]).toEqual(['nomad_job.rails', 'rails', 'default', 12]);
    expect((JSON.parse(job.jobspec) as JobDocument).Job.TaskGroups.map((g) => g.Name)).toContain('sidekiq-long');
  });

  it("a local backend's file is read without Terraform, by an absolute or a relative path; no file is no job", () => {
    expect(readRegisteredJob(stack('absolute', { local: { path: DEPLOYED_STATE_FILE } }), steps({ PATH: '/nonexistent' }))?.modifyIndex).toBe(12);
    const relative = stack('relative', { local: { path: 'state/terraform.local.tfstate' } });
    expect(readRegisteredJob(relative, steps())).toBeUndefined();
    mkdirSync(join(relative, 'state'));
    writeFileSync(join(relative, 'state/terraform.local.tfstate'), JSON.stringify(deployedState()));
    expect(readRegisteredJob(relative, steps())?.id).toBe('rails');
    const none = stack('default', undefined);
    writeFileSync(join(none, 'terraform.tfstate'), JSON.stringify(deployedState()));
    expect(readRegisteredJob(none, steps())?.id).toBe('rails');
  });

  it("a broken local file is refused in the deploy's words (the one reader of a state file), not taken for no job", () => {
    const broken = stack('broken', { local: { path: 'terraform.local.tfstate' } });
    writeFileSync(join(broken, 'terraform.local.tfstate'), '');
    expect(() => readRegisteredJob(broken, steps())).toThrow(`The state file ${join(broken, 'terraform.local.tfstate')} is broken: it is empty (0 bytes).`);
    writeFileSync(join(broken, 'terraform.local.tfstate'), JSON.stringify(deployedState()).slice(0, 50));
    expect(() => readRegisteredJob(broken, steps())).toThrow(/is broken: it is not JSON \(.+\): it was cut short or edited/);
  });

  it('any other backend is asked with terraform state pull in the stack directory', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'terraform'), `#!/bin/sh\n[ "$1 $2" = "state pull" ] && [ -f cdk.tf.json ] && cat "${DEPLOYED_STATE_FILE}"\n`);
    chmodSync(join(bin, 'terraform'), 0o755);
    const pg = stack('pg', { pg: { conn_str: 'postgres://state' } });
    expect(readRegisteredJob(pg, steps({ PATH: `${bin}:${process.env.PATH}` }))?.modifyIndex).toBe(12);
    writeFileSync(join(bin, 'terraform'), '#!/bin/sh\necho "Error: no state" >&2; exit 1\n');
    expect(() => readRegisteredJob(pg, steps({ PATH: `${bin}:${process.env.PATH}` }))).toThrow('terraform state pull failed (exit 1): Error: no state');
    writeFileSync(join(bin, 'terraform'), '#!/bin/sh\necho "[]"\n');
    expect(() => readRegisteredJob(pg, steps({ PATH: `${bin}:${process.env.PATH}` }))).toThrow("the pg backend's state is not Terraform state: it is JSON but not a Terraform state (no serial or resources)");
    writeFileSync(join(bin, 'terraform'), '#!/bin/sh\n');
    expect(readRegisteredJob(pg, steps({ PATH: `${bin}:${process.env.PATH}` }))).toBeUndefined();
  });

  it('a state without a nomad_job (nothing deployed yet) has no registered job', () => {
    expect(registeredJobOf({ version: 4, resources: [] })).toBeUndefined();
  });
});

describe('drift, on the answers of a real Nomad', () => {
  const nomad = new FakeNomad();
  let registered: RegisteredJob;
  beforeAll(async () => {
    await nomad.start();
    registered = registeredJobOf(deployedState())!;
  });
  afterAll(() => nomad.stop());
  beforeEach(() => nomad.reset('clean'));

  it('the job as deployed: no drift', async () => {
    expect(await detectDrift(registered, nomad.client)).toBeUndefined();
    // Nomad was asked about exactly the jobspec in state.
    const plan = nomad.requests.find((r) => r.path === '/v1/job/rails/plan')!;
    expect(JSON.parse(plan.body)).toEqual({ Job: { ...(JSON.parse(registered.jobspec) as JobDocument).Job, Namespace: 'default' }, Diff: true });
  });

  it('nothing deployed yet: nothing is asked', async () => {
    expect(await detectDrift(undefined, nomad.client)).toBeUndefined();
    expect(nomad.requests).toEqual([]);
  });

  it('a group scaled by hand: its count, live and declared', async () => {
    nomad.reset('scaled');
    const drift = (await detectDrift(registered, nomad.client))!;
    expect(drift.fields).toEqual([{ where: "group 'web'", field: 'Count', live: '3', declared: '1' }]);
    expect(formatDrift(drift)).toBe(
      [
        "Drift: job 'rails' was changed in Nomad outside this tool (Nomad runs version 1, modify index 12 → 18):",
        `  group 'web': Count: live "3", declared "1"`,
        'A deploy puts the declared job back as a rolling update (a new version of the job).',
      ].join('\n'),
    );
    expect(driftHeadline(drift)).toBe('changed in Nomad by hand: web Count');
  });

  it('then registered again with more memory: both fields, the task named', async () => {
    nomad.reset('scaled-and-memory');
    const drift = (await detectDrift(registered, nomad.client))!;
    expect(formatDrift(drift).split('\n').slice(1, 3)).toEqual([
      `  group 'sidekiq-long', task 'sidekiq': Resources.MemoryMB: live "900", declared "512"`,
      `  group 'web': Count: live "3", declared "1"`,
    ]);
    expect(driftHeadline(drift)).toBe('changed in Nomad by hand: sidekiq-long/sidekiq Resources.MemoryMB, web Count');
    const many = { ...drift, fields: [...drift.fields, ...drift.fields] };
    expect(driftHeadline(many)).toBe('changed in Nomad by hand: sidekiq-long/sidekiq Resources.MemoryMB, web Count, sidekiq-long/sidekiq Resources.MemoryMB and 1 more');
    expect(driftHeadline({ ...drift, fields: [] })).toBe('changed in Nomad by hand');
  });

  it('the job purged by hand: said, with nothing to heal (Terraform registers it again)', async () => {
    nomad.reset('gone');
    const drift = (await detectDrift(registered, nomad.client))!;
    expect(drift.live).toBeUndefined();
    expect(formatDrift(drift)).toContain("job 'rails' is gone from Nomad");
    await expect(healDrift(drift, nomad.client)).rejects.toThrow('there is nothing to heal');
  });

  it('heal registers exactly the jobspec in state, as its submission, only at the live modify index', async () => {
    nomad.reset('scaled-and-memory');
    const drift = (await detectDrift(registered, nomad.client))!;
    const healed = await healDrift(drift, nomad.client);
    const registers = nomad.requests.filter((r) => r.method === 'PUT' && r.path === '/v1/jobs');
    expect(registers).toHaveLength(1);
    const body = JSON.parse(registers[0]!.body);
    // As the provider sends it: the namespace filled in where the jobspec leaves it out.
    expect(body.Job).toEqual({ ...(JSON.parse(registered.jobspec) as JobDocument).Job, Namespace: 'default' });
    expect(body.Submission).toEqual({ Source: registered.jobspec, Format: 'json' });
    expect([body.EnforceIndex, body.JobModifyIndex]).toEqual([true, 26]);
    // Never a deregister.
    expect(nomad.requests.some((r) => r.method === 'DELETE')).toBe(false);
    expect(healed).toEqual({ evalId: 'c0a5e1f2-0000-4000-8000-000000000001', version: 3, modifyIndex: 34 });
    expect(formatHealed(drift, healed)).toBe(
      "Drift healed: job 'rails' registered again as this tool declares it (2 fields put back), now version 3 (evaluation c0a5e1f2-0000-4000-8000-000000000001); Nomad rolls the changed groups as for any update: nomad job status rails",
    );
  });

  it('heal refused because the job changed again meanwhile: worded, saying what to do', async () => {
    nomad.reset('scaled');
    const drift = (await detectDrift(registered, nomad.client))!;
    nomad.refuseRegister = true;
    const error = await healDrift(drift, nomad.client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as Error).message).toBe(
      "job 'rails' changed in Nomad again while this deploy was putting it back; nothing was registered. Run the deploy again: it shows what changed by hand and puts the declared job back.",
    );
  });
});

describe("the heal's refresh of the state, as the deploy's other Terraform steps run", () => {
  const nomad = new FakeNomad();
  let dir: string;
  beforeAll(async () => {
    await nomad.start();
    dir = mkdtempSync(join(tmpdir(), 'drift-refresh-'));
    writeFileSync(join(dir, 'cdk.tf.json'), '{}');
  });
  afterAll(() => {
    nomad.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => nomad.reset('scaled'));

  /** A terraform that stops on SIGINT as Terraform does (exit 1), else runs 5s. */
  const terraform = () => {
    writeFileSync(
      join(dir, 'terraform'),
      `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(join(dir, 'args'))}, process.argv.slice(2).join(' '));\nprocess.on('SIGINT', () => { console.log('Interrupt received'); process.exit(1); });\nsetTimeout(() => {}, 5000);\n`,
    );
    chmodSync(join(dir, 'terraform'), 0o755);
    return steps({ PATH: `${dir}:${process.env.PATH}` });
  };
  const heal = async (controller: AbortController, abortAfterMs: number) => {
    const drift = (await detectDrift(registeredJobOf(deployedState())!, nomad.client))!;
    // SIGTERM: passed on to Terraform as SIGINT (a Ctrl-C reaches it from the terminal itself).
    const timer = setTimeout(() => controller.abort('SIGTERM'), abortAfterMs);
    try {
      return await healAndRefresh(drift, dir, terraform(), nomad.client, controller.signal, { seconds: 5, signal: controller.signal, pollMs: 1 });
    } finally {
      clearTimeout(timer);
    }
  };

  it('stopped by the operator: Terraform stops, nothing is thrown, the line says what was left, no wait follows', async () => {
    const started = Date.now();
    const line = await heal(new AbortController(), 300);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(line).toMatch(/^Drift healed: job 'rails' registered again .*; interrupted before the state's record of the job was refreshed \(terraform apply -refresh-only\)$/);
    expect(readFileSync(join(dir, 'args'), 'utf8').trim()).toBe('apply -refresh-only -auto-approve -input=false -no-color -target=nomad_job.rails');
    expect(nomad.requests.some((r) => r.path === '/v1/job/rails/deployments')).toBe(false);
  });
});

describe('the deploy: when it heals, and how it waits', () => {
  const nomad = new FakeNomad();
  beforeAll(() => nomad.start());
  afterAll(() => nomad.stop());
  beforeEach(() => nomad.reset('clean'));

  it('heals only drift the plan leaves alone, and never a job gone from Nomad (Terraform registers that one)', () => {
    const registered = registeredJobOf(deployedState())!;
    const drift = { registered, live: recordedJob(), fields: [] };
    expect([undefined, 'unchanged', 'update', 'create'].map((a) => healNeeded(drift, a as never))).toEqual([true, true, false, false]);
    expect(healNeeded({ ...drift, live: undefined }, undefined)).toBe(false);
    expect(healNeeded(undefined, undefined)).toBe(false);
  });

  const deployment = (Status: string, JobVersion = 3): Deployment => ({
    ID: 'd3a1c0de-0000-4000-8000-000000000003',
    JobID: 'rails',
    JobVersion,
    Status,
    StatusDescription: Status === 'failed' ? 'Failed due to progress deadline' : 'Deployment is running',
    TaskGroups: { web: { DesiredTotal: 1, PlacedAllocs: 1, HealthyAllocs: 0, UnhealthyAllocs: 1 } },
  });
  const wait = (seconds = 5) => waitForDeployment(nomad.client, 'rails', 3, { seconds, signal: new AbortController().signal, pollMs: 1 }, steps());

  it("waits for the healed version's deployment to succeed", async () => {
    let polls = 0;
    nomad.deployments = () => [deployment(++polls < 3 ? 'running' : 'successful'), deployment('failed', 2)];
    await wait();
    expect(polls).toBe(3);
  });

  it('a failed deployment names the group that did not get healthy', async () => {
    nomad.deployments = () => [deployment('failed')];
    await expect(wait()).rejects.toThrow(/version 3 failed: Failed due to progress deadline\n  group 'web': 0 of 1 healthy, 1 unhealthy/);
  });

  it('no deployment for the version: nothing to roll out, nothing to wait for; one that never ends: said after the timeout', async () => {
    await wait();
    nomad.deployments = () => [deployment('running')];
    await expect(wait(0)).rejects.toThrow("the deployment of job 'rails' version 3 did not end within 0s (job.deployTimeout); it goes on in Nomad: nomad job status rails");
  });
});

function recordedJob() {
  return recorded('scaled', 'job') as never;
}

describe('drifted fields of any shape', () => {
  const field = (Name: string, Old: string, New: string, Type: 'Added' | 'Deleted' | 'Edited' | 'None' = 'Edited') => ({ Type, Name, Old, New, Annotations: null });
  const diff: JobDiff = {
    Type: 'Edited',
    ID: 'rails',
    Fields: [field('Priority', '70', '50'), field('Region', 'global', 'global', 'None')],
    Objects: null,
    TaskGroups: [
      { Type: 'Deleted', Name: 'by-hand', Fields: null, Objects: null, Tasks: null, Updates: null },
      { Type: 'Added', Name: 'sidekiq-daily', Fields: null, Objects: null, Tasks: null, Updates: null },
      {
        Type: 'Edited',
        Name: 'web',
        Fields: null,
        Objects: [{ Type: 'Added', Name: 'Meta', Fields: [field('owner', '', 'ops', 'Added')], Objects: null }],
        Tasks: [
          { Type: 'Edited', Name: 'puma', Annotations: null, Objects: null, Fields: [field('Env[API_TOKEN]', 'live-token', 'declared-token'), field('Env[RAILS_ENV]', 'staging', '', 'Deleted')] },
          { Type: 'None', Name: 'idle', Annotations: null, Objects: null, Fields: null },
        ],
        Updates: null,
      },
    ],
  };

  it('job fields, whole groups on one side, objects by path, secrets masked', () => {
    expect(driftedFields(diff)).toEqual([
      { where: 'job', field: 'Priority', live: '70', declared: '50' },
      { where: "group 'by-hand'", field: undefined, live: 'present', declared: undefined },
      { where: "group 'sidekiq-daily'", field: undefined, live: undefined, declared: 'present' },
      { where: "group 'web'", field: 'Meta.owner', live: undefined, declared: 'ops' },
      { where: "group 'web', task 'puma'", field: 'Env[API_TOKEN]', live: '(sensitive value)', declared: '(sensitive value)' },
      { where: "group 'web', task 'puma'", field: 'Env[RAILS_ENV]', live: 'staging', declared: undefined },
    ]);
  });

  it('as the report prints them', () => {
    const registered = registeredJobOf(deployedState())!;
    const text = formatDrift({ registered, live: { Version: 4, JobModifyIndex: registered.modifyIndex } as never, fields: driftedFields(diff) });
    expect(text.split('\n')).toEqual([
      "Drift: job 'rails' was changed in Nomad outside this tool (Nomad runs version 4):",
      '  job: Priority: live "70", declared "50"',
      "  group 'by-hand': only in Nomad (a deploy removes it)",
      "  group 'sidekiq-daily': not in Nomad (a deploy adds it back)",
      `  group 'web': Meta.owner: live (not set), declared "ops"`,
      "  group 'web', task 'puma': Env[API_TOKEN]: live (sensitive value), declared (sensitive value)",
      `  group 'web', task 'puma': Env[RAILS_ENV]: live "staging", declared (not set)`,
      'A deploy puts the declared job back as a rolling update (a new version of the job).',
    ]);
    expect(text).not.toContain('token');
  });
});

describe("Terraform's error when the job changed between plan and apply (provider #398)", () => {
  it('is recognised in the recorded output and explained: what happened, what to do', () => {
    const said = explainApplyFailure(MODIFY_INDEX_CHANGED_OUTPUT, 'rails')!;
    expect(said).toContain("job 'rails' changed in Nomad between the plan and the apply");
    expect(said).toContain('Run the deploy again');
  });

  it("is recognised in the error blocks the deploy's failure keeps, with Terraform's box drawing too", () => {
    expect(explainApplyFailure(terraformErrors(MODIFY_INDEX_CHANGED_OUTPUT).join('\n\n'), 'rails')).toBeDefined();
    const boxed = ['╷', '│ Error: job modify index has changed since last refresh', '│ ', '│   with nomad_job.rails,', '╵'].join('\n');
    expect(explainApplyFailure(terraformErrors(boxed).join('\n\n'), 'rails')).toBeDefined();
  });

  it('any other failure is left alone', () => {
    expect(explainApplyFailure('Error: error applying jobspec: Unexpected response code: 500', 'rails')).toBeUndefined();
  });
});
