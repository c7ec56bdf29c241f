import type { Environment } from '../config/schema';
import { variablePathOf } from '../constructs/nomad/api';
import { CommandError } from './cli';
import type { NomadClient, ProbeAnswer, TokenSelf } from './nomad-client';
import { taskJobId } from './one-off-job';
import { releaseJobId } from './release';

/**
 * Whether the Nomad token (NOMAD_TOKEN) can do what a deploy, the release step, `npm run task`
 * and a console will do, asked of the live cluster without changing anything, so that a token
 * that cannot deploy is refused before anything is built or pushed (issue 14, item 5).
 *
 * Each capability is a request Nomad answers after its ACL check and before it does anything:
 * - submit-job: Nomad's plan of a one-task batch job (`PUT /v1/job/<id>/plan`): a plan changes nothing;
 * - read-job, variable read: a GET (404 is an answer too);
 * - variable write and destroy: a PUT / DELETE with a check-and-set index no variable can have
 *   (`?cas=<2^64-1>`): Nomad checks the ACL first (403 Permission denied), then refuses the CAS
 *   (409), so nothing is written or removed (checked on Nomad 1.6.3 with ACLs on);
 * - read-logs, read-fs, alloc-exec: the logs of a task, the stat of `/`, and an exec of a task
 *   that a running allocation of the job does not have: Nomad checks the ACL first, then finds no
 *   such task, and runs nothing. Without a running allocation they cannot be told.
 * ACLs are per namespace (and per variable path), so the job's namespace is the one asked.
 */

/** What the token is needed for. */
export type Need = 'deploy' | 'release' | 'task' | 'console';

export const NEED_WORDS: Readonly<Record<Need, string>> = {
  deploy: 'a deploy',
  release: 'the release step',
  task: 'npm run task',
  console: 'a console',
};

export const ALL_NEEDS: readonly Need[] = ['deploy', 'release', 'task', 'console'];

/** What a deploy of the environment does with the token: register the job and write its variable, and run the release step when it has one. */
export function deployNeeds(environment: Environment): Need[] {
  return environment.release && environment.release.command !== false ? ['deploy', 'release'] : ['deploy'];
}

export type Outcome = 'granted' | 'denied' | 'unknown';

export interface CapabilityResult {
  /** As the operator reads it, and as the refusal names it: `variable write on nomad/jobs/rails`. */
  readonly capability: string;
  readonly neededBy: readonly Need[];
  readonly outcome: Outcome;
  /** Nomad's answer, or why the capability cannot be told. */
  readonly detail: string;
}

export interface CapabilityReport {
  readonly address: string;
  readonly namespace: string;
  readonly token: TokenSelf;
  /** The token as messages name it: `token 'deployer' (accessor 8c090a88, policies: deploy)`. */
  readonly tokenName: string;
  readonly results: readonly CapabilityResult[];
  /** The capabilities Nomad refused. */
  readonly missing: readonly CapabilityResult[];
  /** One line for progress: `token 'deployer' (…) can do what a deploy does`, `ACLs are off: …`. */
  readonly summary: string;
  /** When something is missing: the refusal to print, its cause on the last line. */
  readonly refusal?: string;
}

/** A check-and-set index no variable has: the write is refused (409) after the ACL check, and never applied. */
const IMPOSSIBLE_CAS = '18446744073709551615';
/** A task no allocation has: an exec or a log read of it is refused after the ACL check, and reads or runs nothing. */
const NO_SUCH_TASK = 'capability-check-no-such-task';

interface Allocation {
  readonly id: string;
}

interface Probe {
  readonly capability: string;
  readonly neededBy: Need[];
  run(nomad: NomadClient, allocation: () => Promise<Allocation | string>): Promise<{ outcome: Outcome; detail: string }>;
}

/** What Nomad's answer says of the capability. `allowed` lists the statuses that mean Nomad let the request past its ACL check. */
export function outcomeOf(answer: ProbeAnswer, allowed: readonly number[]): { outcome: Outcome; detail: string } {
  if (answer.denied) return { outcome: 'denied', detail: `Nomad answered ${answer.status || 'the exec with'} Permission denied` };
  if (answer.unknownAllocation) return { outcome: 'unknown', detail: `cannot be told: ${answer.reason}` };
  if (allowed.includes(answer.status)) return { outcome: 'granted', detail: '' };
  return { outcome: 'unknown', detail: `cannot be told: Nomad answered ${answer.status}${answer.reason ? ` ${answer.reason}` : ''}` };
}

/** The probes for the needs, one per capability, each knowing every need that asks for it. */
export function probesFor(environment: Environment, needs: readonly Need[], namespace: string): Probe[] {
  const job = environment.job.id;
  const release = releaseJobId(job);
  const taskProbe = taskJobId(job, 'capability-check');
  const probes = new Map<string, Probe>();
  const add = (need: Need, capability: string, run: Probe['run']) => {
    const known = probes.get(capability);
    if (known) known.neededBy.push(need);
    else probes.set(capability, { capability, neededBy: [need], run });
  };
  const ns = `in namespace '${namespace}'`;
  const submitJob = (nomad: NomadClient) => nomad.probe('PUT', `/v1/job/${encodeURIComponent(taskProbe)}/plan`, JSON.stringify({ Job: probeJob(taskProbe, environment), Diff: false })).then((a) => outcomeOf(a, [200]));
  const readJob = (nomad: NomadClient) => nomad.probe('GET', `/v1/job/${encodeURIComponent(job)}`).then((a) => outcomeOf(a, [200, 404]));
  const varRead = (path: string) => (nomad: NomadClient) => nomad.probe('GET', `/v1/var/${path}`).then((a) => outcomeOf(a, [200, 404]));
  const varWrite = (path: string) => (nomad: NomadClient) =>
    nomad.probe('PUT', `/v1/var/${path}?cas=${IMPOSSIBLE_CAS}`, JSON.stringify({ Path: path, Items: { capability: 'check' } })).then((a) => outcomeOf(a, [409]));
  const varDestroy = (path: string) => (nomad: NomadClient) => nomad.probe('DELETE', `/v1/var/${path}?cas=${IMPOSSIBLE_CAS}`).then((a) => outcomeOf(a, [409]));
  const onAllocation = (ask: (nomad: NomadClient, id: string) => Promise<{ outcome: Outcome; detail: string }>): Probe['run'] => async (nomad, allocation) => {
    const found = await allocation();
    return typeof found === 'string' ? { outcome: 'unknown', detail: `cannot be told: ${found}` } : ask(nomad, found.id);
  };
  const readLogs = onAllocation((nomad, id) =>
    nomad.probe('GET', `/v1/client/fs/logs/${id}?task=${NO_SUCH_TASK}&type=stdout&origin=end&offset=0&plain=true`).then((a) => outcomeOf(a, [200, 400, 404])),
  );
  const readFs = onAllocation((nomad, id) => nomad.probe('GET', `/v1/client/fs/stat/${id}?path=/`).then((a) => outcomeOf(a, [200, 404])));
  const allocExec = onAllocation(async (nomad, id) => {
    const answer = await nomad.execProbe(id, NO_SUCH_TASK);
    if (/task not found/i.test(answer.reason)) return { outcome: 'granted', detail: '' };
    return outcomeOf(answer, []);
  });

  for (const need of needs) {
    if (need === 'deploy' || need === 'release' || need === 'task') {
      add(need, `submit-job ${ns}`, submitJob);
      add(need, `read-job ${ns}`, readJob);
      add(need, `variable read on ${variablePathOf(job)}`, varRead(variablePathOf(job)));
    }
    if (need === 'deploy') add(need, `variable write on ${variablePathOf(job)}`, varWrite(variablePathOf(job)));
    if (need === 'release' || need === 'task') {
      const [shown, probed] = need === 'release' ? [variablePathOf(release), variablePathOf(release)] : [`${variablePathOf(job)}-task-*`, variablePathOf(taskProbe)];
      add(need, `variable write on ${shown}`, varWrite(probed));
      add(need, `variable destroy on ${shown}`, varDestroy(probed));
      add(need, `read-logs ${ns}`, readLogs);
    }
    if (need === 'task') add(need, `read-fs ${ns}`, readFs);
    if (need === 'console') add(need, `alloc-exec ${ns}`, allocExec);
  }
  return [...probes.values()];
}

/** A batch job of one task for Nomad to plan: valid, never registered. */
function probeJob(id: string, environment: Environment) {
  return {
    ID: id,
    Name: id,
    Type: 'batch',
    Datacenters: [...environment.nomad.datacenters],
    TaskGroups: [{ Name: 'check', Count: 1, Tasks: [{ Name: 'check', Driver: 'raw_exec', Config: { command: '/bin/true' } }] }],
  };
}

/** The token as messages name it. */
export function describeToken(token: TokenSelf): string {
  if (token.acls === 'off') return 'no token needed (ACLs are off)';
  if (token.known) {
    const grants = [...token.policies.map((p) => `policy ${p}`), ...token.roles.map((r) => `role ${r}`)];
    return `token '${token.name}' (accessor ${token.accessorId.slice(0, 8)}, ${token.type === 'management' ? 'management' : grants.length > 0 ? grants.join(', ') : 'no policies'})`;
  }
  return token.anonymous ? 'no token (NOMAD_TOKEN is not set: the anonymous policy)' : `NOMAD_TOKEN, which Nomad does not know (${token.reason})`;
}

/**
 * Asks Nomad whether the token can do what the needs will do, changing nothing. With ACLs off,
 * or a management token, everything is granted without asking.
 */
export async function checkCapabilities(nomad: NomadClient, environment: Environment, needs: readonly Need[]): Promise<CapabilityReport> {
  const namespace = nomad.connection.namespace ?? environment.nomad.namespace ?? 'default';
  const token = await nomad.tokenSelf();
  const probes = probesFor(environment, needs, namespace);
  let results: CapabilityResult[];
  if (token.acls === 'off' || (token.known && token.type === 'management')) {
    const detail = token.acls === 'off' ? 'ACLs are off' : 'a management token';
    results = probes.map((p) => ({ capability: p.capability, neededBy: p.neededBy, outcome: 'granted', detail }));
  } else {
    let found: Promise<Allocation | string> | undefined;
    const allocation = () => (found ??= runningAllocation(nomad, environment.job.id));
    results = [];
    for (const p of probes) results.push({ capability: p.capability, neededBy: p.neededBy, ...(await p.run(nomad, allocation)) });
  }
  const missing = results.filter((r) => r.outcome === 'denied');
  const unknown = results.filter((r) => r.outcome === 'unknown').map((r) => r.capability);
  const summary =
    token.acls === 'off'
      ? `Nomad at ${nomad.connection.address} runs without ACLs: any token can do what ${needs.map((n) => NEED_WORDS[n]).join(', ')} will do`
      : `${describeToken(token)} can do what ${needs.map((n) => NEED_WORDS[n]).join(', ')} will do${unknown.length > 0 ? ` (cannot be told: ${unknown.join(', ')})` : ''}`;
  const report = { address: nomad.connection.address, namespace, token, tokenName: describeToken(token), results, missing, summary };
  return missing.length > 0 || (token.acls === 'on' && !token.known && !token.anonymous) ? { ...report, refusal: formatRefusal(report, environment, needs) } : report;
}

/** A running allocation of the job, for the probes that need one, or why there is none. */
async function runningAllocation(nomad: NomadClient, job: string): Promise<Allocation | string> {
  try {
    const running = (await nomad.allocations(job)).filter((a) => a.ClientStatus === 'running').pop();
    return running ? { id: running.ID } : `no allocation of job '${job}' is running`;
  } catch (e) {
    return `the allocations of job '${job}' cannot be listed (${(e as Error).message})`;
  }
}

/**
 * The refusal: which capabilities are missing, for what, the policy that grants what this
 * program does (README "Registry credentials"), and the cause on the last line.
 */
export function formatRefusal(report: Omit<CapabilityReport, 'refusal' | 'summary'>, environment: Environment, needs: readonly Need[]): string {
  const lines = [`${report.tokenName} at ${report.address} lacks what ${needs.map((n) => NEED_WORDS[n]).join(', ')} of environment '${environment.name}' (namespace '${report.namespace}') will do:`];
  for (const r of report.missing) lines.push(`  - ${r.capability} (for ${r.neededBy.map((n) => NEED_WORDS[n]).join(', ')}): ${r.detail}`);
  lines.push(
    `Attach a policy that grants it to the token (README "Registry credentials"), for example:`,
    ...deployPolicy(environment.job.id, report.namespace).split('\n').map((l) => `  ${l}`),
    `  (nomad acl policy apply dashboard-deploy policy.hcl; then a token with it: nomad acl token create -name=<you> -policy=dashboard-deploy)`,
  );
  const lacks = report.missing.map((r) => r.capability).join(', ');
  const token = report.token;
  const cause =
    token.acls === 'on' && !token.known && !token.anonymous
      ? `NOMAD_TOKEN is not a token Nomad at ${report.address} knows (${token.reason})`
      : token.acls === 'on' && token.known
        ? `the Nomad token '${token.name}' lacks ${lacks}`
        : `NOMAD_TOKEN is not set, and Nomad's anonymous policy lacks ${lacks}`;
  lines.push(`refused before anything is built, pushed or registered: ${cause}`);
  return lines.join('\n');
}

/** The policy that grants what a deploy, the release step, a task and a console do with the job. */
export function deployPolicy(job: string, namespace: string): string {
  const path = (p: string) => `    path "${p}" { capabilities = ["write", "read", "destroy", "list"] }`;
  return [
    `namespace "${namespace}" {`,
    `  policy = "write"   # submit-job, read-job, read-logs, read-fs, alloc-exec`,
    `  variables {`,
    path(variablePathOf(job)),
    path(variablePathOf(releaseJobId(job))),
    path(`${variablePathOf(job)}-task-*`),
    `  }`,
    `}`,
  ].join('\n');
}

/**
 * For the commands that change the cluster: checks the token first, and throws the refusal when
 * something the needs use is missing. Returns the report (the token's name for progress lines).
 */
export async function requireCapabilities(nomad: NomadClient, environment: Environment, needs: readonly Need[]): Promise<CapabilityReport> {
  const report = await checkCapabilities(nomad, environment, needs);
  if (report.refusal) throw new CommandError(report.refusal);
  return report;
}
