import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalEnvironment, toolsEnv } from './local-environment';
import { freePorts } from './ports';

/**
 * A Nomad 1.6.3 dev agent (the tools' binary), configured as the local environment's but with
 * ACLs on, its own data directory and free loopback ports: bootstrapped
 * (`/v1/acl/bootstrap`), so the test holds its management token and makes policies and tokens
 * as a cluster's operator would. The local environment's own agent runs without ACLs.
 */
export class AclNomad {
  static async start(local: LocalEnvironment): Promise<AclNomad> {
    const dir = mkdtempSync(join(tmpdir(), 'e2e-acl-nomad-'));
    const base = await freePorts(3);
    // The local environment's agent config (raw_exec, no Consul), then its own data, ports and ACLs: Nomad merges -config files in order.
    writeFileSync(
      join(dir, 'acl.hcl'),
      `data_dir = "${join(dir, 'data')}"
ports {
  http = ${base}
  rpc  = ${base + 1}
  serf = ${base + 2}
}
acl {
  enabled = true
}
`,
    );
    const configs = [join(local.stateDir, 'nomad', 'agent.hcl'), join(dir, 'acl.hcl')].flatMap((file) => ['-config', file]);
    const log = createWriteStream(join(dir, 'nomad.log'));
    const agent = spawn('nomad', ['agent', '-dev', '-bind', '127.0.0.1', ...configs], { env: { ...process.env, ...toolsEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.pipe(log);
    agent.stderr!.pipe(log);
    const nomad = new AclNomad(dir, `http://127.0.0.1:${base}`, agent);
    try {
      await nomad.bootstrap();
      return nomad;
    } catch (e) {
      const log = nomad.log().slice(-3000);
      await nomad.stop();
      throw new Error(`${(e as Error).message}\nits log:\n${log}`);
    }
  }

  /** The bootstrap token's secret: everything is allowed with it. */
  managementToken = '';

  private constructor(
    readonly dir: string,
    readonly address: string,
    private readonly agent: ChildProcess,
  ) {}

  log(): string {
    return readFileSync(join(this.dir, 'nomad.log'), 'utf8');
  }

  /** Waits for the leader, then bootstraps ACLs (the leader answers it only once it has one). */
  private async bootstrap(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.agent.exitCode !== null) throw new Error(`the ACL agent exited (${this.agent.exitCode})`);
      try {
        const res = await fetch(`${this.address}/v1/acl/bootstrap`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
        if (res.ok) {
          this.managementToken = ((await res.json()) as { SecretID: string }).SecretID;
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the ACL agent at ${this.address} did not bootstrap in 60s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** A request with the management token. */
  async api(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.address}${path}`, {
      method,
      headers: { 'x-nomad-token': this.managementToken, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  }

  /** An ACL policy of HCL rules (`nomad acl policy apply`). */
  async policy(name: string, rules: string): Promise<void> {
    await this.api('POST', `/v1/acl/policy/${name}`, { Name: name, Rules: rules });
  }

  /** A client token with the policies; returns its secret. */
  async token(name: string, policies: string[]): Promise<string> {
    return ((await this.api('POST', '/v1/acl/token', { Name: name, Type: 'client', Policies: policies })) as { SecretID: string }).SecretID;
  }

  async stop(): Promise<void> {
    if (this.agent.exitCode === null) {
      const exited = new Promise((r) => this.agent.once('exit', r));
      this.agent.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (this.agent.exitCode === null) this.agent.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
