import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Deployment, NomadClient } from '../../commands/nomad-client';
import type { TerraformState } from '../../commands/terraform-state';

/** Recorded from a real Nomad 1.6.3 agent and Terraform by __tests__/fixtures/drift/record.ts. */
const DIR = join(__dirname, '../fixtures/drift');

/** After `cdktf deploy`; `scaled`: web scaled to 3; `scaled-and-memory`: then registered with sidekiq-long at 900 MB. */
export type DriftScenario = 'clean' | 'scaled' | 'scaled-and-memory';

export const DEPLOYED_STATE_FILE = join(DIR, 'deployed.state.json');

export function deployedState(): TerraformState {
  return JSON.parse(readFileSync(DEPLOYED_STATE_FILE, 'utf8')) as TerraformState;
}

export function recorded(scenario: DriftScenario, answer: 'job' | 'plan'): unknown {
  return JSON.parse(readFileSync(join(DIR, `${scenario}.${answer}.json`), 'utf8'));
}

/** Terraform's output when the job was scaled between `terraform plan -out` and `terraform apply` of it. */
export const MODIFY_INDEX_CHANGED_OUTPUT = readFileSync(join(DIR, 'modify-index-changed.apply.txt'), 'utf8');

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

/**
 * A stand-in for Nomad's HTTP API answering a scenario's recorded job and plan; a register is
 * answered as Nomad did, or refused as Nomad refuses a stale modify index. Every request is kept.
 */
export class FakeNomad {
  scenario: DriftScenario | 'gone' = 'clean';
  refuseRegister = false;
  /** The job's deployments, asked for again at each poll. */
  deployments: () => Deployment[] = () => [];
  readonly requests: Request[] = [];
  private server: Server | undefined;
  client!: NomadClient;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '';
        this.requests.push({ method: req.method ?? '', path, body });
        const send = (status: number, answer: unknown) => {
          res.statusCode = status;
          res.end(typeof answer === 'string' ? answer : JSON.stringify(answer));
        };
        if (req.method === 'GET' && path === '/v1/job/rails/deployments') return send(200, this.deployments());
        if (this.scenario === 'gone' && path.startsWith('/v1/job/')) return send(404, 'job not found');
        const scenario = this.scenario as DriftScenario;
        if (req.method === 'GET' && path === '/v1/job/rails') return send(200, { ...(recorded(scenario, 'job') as object), ...this.afterRegister });
        if (req.method === 'PUT' && path === '/v1/job/rails/plan') return send(200, recorded(scenario, 'plan'));
        if (req.method === 'PUT' && path === '/v1/jobs') {
          if (this.refuseRegister) return send(500, 'Enforcing job modify index 26: job exists with conflicting job modify index: 31');
          this.afterRegister = { Version: 3, JobModifyIndex: 34 };
          return send(200, { EvalID: 'c0a5e1f2-0000-4000-8000-000000000001', JobModifyIndex: 34 });
        }
        send(404, `no fixture for ${req.method} ${path}`);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.client = new NomadClient({ address: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`, tls: {} });
    return this;
  }

  private afterRegister: Record<string, number> = {};

  reset(scenario: DriftScenario | 'gone'): this {
    this.scenario = scenario;
    this.refuseRegister = false;
    this.deployments = () => [];
    this.afterRegister = {};
    this.requests.length = 0;
    return this;
  }

  stop(): void {
    this.server?.close();
  }
}
