import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCommand } from '../../commands/plan';
import { runCommand } from '../support/command';
import { CANARY_PASSWORD, RECORDED_PASSWORD } from '../fixtures/plan/record';
import { DEPLOYED_STATE_FILE, type DriftScenario, recorded } from './drift-fixtures';
import { RENDERED_JOB_KEY } from '../../constructs/nomad/api';
import { nomadFixture, renderedJobPath, WORKER_MEMORY_REPORT, type Scenario } from './fixtures';

/**
 * The command's wiring, without the tools: a project whose app writes the recorded stack,
 * a `terraform` on PATH that prints a recorded plan, and a stand-in for Nomad that answers
 * with a recorded plan response. What is printed, where, and the exit status.
 */
describe('npm run plan, end to end on recorded plans', () => {
  let dir: string;
  let server: Server;
  let nomadAddr: string;
  let scenario: Scenario = 'worker-memory';
  let tokens: (string | undefined)[] = [];
  /** Nomad's answers from a drift recording (job and plan), instead of the scenario's plan. */
  let drift: DriftScenario | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plan-command-'));
    mkdirSync(join(dir, 'bin'));
    // The app, as cdktf.json names it: writes the stack where CDKTF_OUTDIR says, or fails when told to (printing a secret it was given).
    writeFileSync(
      join(dir, 'app.js'),
      `const fs = require('fs'), path = require('path');
if (process.env.FAIL_SYNTH) { console.error('synth failed, password ' + process.env.TF_VAR_registry_pull_password); process.exit(1); }
const stack = path.join(process.env.CDKTF_OUTDIR, 'stacks', 'local');
fs.mkdirSync(stack, { recursive: true });
const backend = process.env.STATE ? { backend: { local: { path: process.env.STATE } } } : {};
fs.writeFileSync(path.join(stack, 'cdk.tf.json'), JSON.stringify({ terraform: backend, resource: { nomad_job: { rails: { '//': { ${RENDERED_JOB_KEY}: fs.readFileSync(process.env.RENDERED_JOB, 'utf8') } } } } }));
const annotations = process.env.ANNOTATION ? [{ constructPath: 'local/image', level: process.env.ANNOTATION, message: 'build context is not on this machine' }] : [];
fs.writeFileSync(path.join(process.env.CDKTF_OUTDIR, 'manifest.json'), JSON.stringify({ stacks: { local: { workingDirectory: 'stacks/local', annotations } } }));
`,
    );
    writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ app: 'node app.js' }));
    // terraform: init and plan succeed (or plan fails, echoing a secret), show prints the recorded plan.
    writeFileSync(
      join(dir, 'bin', 'terraform'),
      `#!/bin/sh
case "$1" in
  show) cat "$TF_FIXTURE" ;;
  plan) if [ -n "$FAIL_PLAN" ]; then echo "Error: registry refused password $TF_VAR_registry_pull_password" >&2; exit 1; fi ;;
esac
`,
    );
    chmodSync(join(dir, 'bin', 'terraform'), 0o755);
    server = createServer((req: IncomingMessage, res) => {
      tokens.push(req.headers['x-nomad-token'] as string | undefined);
      req.resume();
      req.on('end', () => {
        // The local environment's dev agent runs without ACLs: the token check asks, and is told so.
        if (req.url?.startsWith('/v1/acl/token/self')) {
          res.statusCode = 400;
          return res.end('ACL support disabled');
        }
        if (drift && req.method === 'GET') return res.end(JSON.stringify(recorded(drift, 'job')));
        res.end(JSON.stringify(drift ? recorded(drift, 'plan') : nomadFixture(scenario)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    nomadAddr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (s: Scenario, env: Record<string, string> = {}, driftScenario?: DriftScenario) => {
    scenario = s;
    drift = driftScenario;
    tokens = [];
    return runCommand(planCommand, ['local'], {
      env: {
        PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
        LOCAL_NOMAD_ADDR: nomadAddr,
        TF_FIXTURE: join(__dirname, `../fixtures/plan/${s}.terraform.json`),
        RENDERED_JOB: renderedJobPath('source-change'),
        ...env,
      },
      cwd: dir,
    });
  };

  it("a checkout last set up for another backend: refused before terraform init, pointing at npm run state; exit 1", async () => {
    const record = join(dir, 'cdktf.out', 'stacks', 'local', '.terraform', 'terraform.tfstate');
    mkdirSync(dirname(record), { recursive: true });
    writeFileSync(record, JSON.stringify({ version: 3, backend: { type: 'pg', config: {} } }));
    try {
      const r = await run('worker-memory');
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain('plan: terraform init');
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^plan: this checkout's Terraform was set up for the pg backend, and the config of 'local' now names local: .*npm run state -- local migrate --to local/);
    } finally {
      rmSync(record);
    }
  });

  it('a worker memory change: the report on stdout, progress on stderr, exit 2', async () => {
    const r = await run('worker-memory', { NOMAD_ADDR: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(WORKER_MEMORY_REPORT);
    expect(r.stderr).toContain('plan: synth…');
    expect(r.stderr).toContain('plan: terraform plan: done in');
    // The local environment's address from config, not NOMAD_ADDR.
    expect(r.stderr).toContain(`plan: nomad plan of job 'rails' at ${nomadAddr}…\nplan: nomad plan: done in `);
  });

  it('a job scaled by hand, unchanged in Terraform: the headline says so, the drift has both values; exit 2', async () => {
    const r = await run('unchanged', { STATE: DEPLOYED_STATE_FILE }, 'scaled');
    expect(r.code).toBe(2);
    expect(r.stdout.split('\n').slice(0, 6)).toEqual([
      "Terraform: image unchanged, job 'rails' unchanged in Terraform, but changed in Nomad by hand: web Count, no other changes",
      '',
      "Drift: job 'rails' was changed in Nomad outside this tool (Nomad runs version 1, modify index 12 → 18):",
      `  group 'web': Count: live "3", declared "1"`,
      'A deploy puts the declared job back as a rolling update (a new version of the job).',
      '',
    ]);
    expect(r.stdout).toContain('+/- Count: "3" => "1" (forces destroy)');
  });

  it('the job as deployed, with its state: no drift, exit 0', async () => {
    const r = await run('unchanged', { STATE: DEPLOYED_STATE_FILE }, 'clean');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('Drift');
    expect(r.stdout).toContain("job 'rails' unchanged, no other changes");
  });

  it('exit 0 without changes, 3 when a group cannot be placed', async () => {
    expect((await run('unchanged')).code).toBe(0);
    const r = await run('worker-memory-too-large');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("group 'sidekiq-long': cannot place 1 allocation: no node has enough memory");
  });

  it('a rebuilt image: planned from the job synth rendered, said on stderr', async () => {
    const r = await run('source-change');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("known only after apply (a new image's digest, a new runtime config revision): the job is planned with placeholders");
  });

  it('canary credentials: the token reaches Nomad, and nothing printed holds a canary', async () => {
    const canaries = { NOMAD_TOKEN: 'c0ffee00-cafe-4bad-8a11-00000000c0de', TF_VAR_registry_pull_password: CANARY_PASSWORD, DOCKER_REGISTRY_PASS: 'canary-push-password-2b9' };
    const r = await run('pull-password', canaries);
    expect(r.code).toBe(2);
    // The token check (ACLs are off: one question), then the plan.
    expect(tokens).toEqual([canaries.NOMAD_TOKEN, canaries.NOMAD_TOKEN]);
    expect(r.stdout).toContain('other changes: nomad_variable.job_variables updated');
    for (const secret of [...Object.values(canaries), RECORDED_PASSWORD]) expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
  });

  it('a failing step: exit 1, its output shown, the secrets in it masked', async () => {
    const failedPlan = await run('worker-memory', { FAIL_PLAN: '1', TF_VAR_registry_pull_password: CANARY_PASSWORD });
    expect(failedPlan.code).toBe(1);
    expect(failedPlan.stderr).toContain('terraform plan failed (exit 1');
    expect(failedPlan.stderr).toContain('Error: registry refused password (sensitive value)');
    expect(failedPlan.stdout).toBe('');
    const failedSynth = await run('worker-memory', { FAIL_SYNTH: '1', TF_VAR_registry_pull_password: CANARY_PASSWORD });
    expect(failedSynth.code).toBe(1);
    expect(failedSynth.stderr).toContain('synth failed (exit 1');
    expect(`${failedPlan.stderr}${failedSynth.stderr}`).not.toContain(CANARY_PASSWORD);
  });

  it("synth's warnings are passed on; its errors stop the plan, as they stop cdktf synth", async () => {
    const warned = await run('worker-memory', { ANNOTATION: '@cdktf/warn' });
    expect(warned.code).toBe(2);
    expect(warned.stderr).toContain('plan: warning: local/image: build context is not on this machine');
    const failed = await run('worker-memory', { ANNOTATION: '@cdktf/error' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("synth: stack 'local' has errors:\n  local/image: build context is not on this machine");
    expect(failed.stderr).not.toContain('terraform init');
  });

  it('Nomad unreachable: exit 1, naming the address and the reason', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await run('worker-memory', { LOCAL_NOMAD_ADDR: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach Nomad at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(r.stdout).toBe('');
  });

  it('usage: one environment name; an unknown one is named with the known ones', async () => {
    const none = await runCommand(planCommand, [], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('plan: name the environment\n\nusage: npm run plan -- <environment>   (production, staging, local)');
    const unknown = await runCommand(planCommand, ['qa'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("plan: no environment 'qa' (known: production, staging, local)");
    const extra = await runCommand(planCommand, ['local', '--json'], { cwd: dir });
    expect(extra.stderr).toContain("plan: Unknown option '--json'");
    expect(extra.stderr).not.toContain('synth');
  });
});
