import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { LocalEnvironment } from './local-environment';
import { toolsEnv } from './local-environment';
import { freePorts } from './ports';

/**
 * A second Nomad client for the local environment's dev agent, which the scheduler sees as a
 * node like production's: a healthy docker driver (podman's Docker API), Consul with Connect
 * (a stand-in answering the agent endpoint Nomad fingerprints, /v1/agent/self) and the
 * `rails` host volume. The dev agent's own node has neither docker nor Consul, so without
 * this node the scheduler filters every group out ("missing drivers") before it ever looks at
 * memory, and a plan can say nothing about placement.
 *
 * Allocations placed here never start and never fail: the docker API this node talks to is a
 * proxy to podman that holds every image pull open (the alloc's network sandbox waits on its
 * pause image), so the job's allocations stay pending, as live allocations the scheduler
 * leaves alone, the way a running job's are on a real cluster.
 */
export class SchedulingNode {
  static async start(local: LocalEnvironment, name = 'scheduling-node'): Promise<SchedulingNode> {
    const dir = join(local.stateDir, name);
    mkdirSync(join(dir, 'data'), { recursive: true });
    mkdirSync(join(dir, 'rails'), { recursive: true });
    const node = new SchedulingNode(dir, name);
    try {
      const consulPort = await node.listen(node.consul, { port: 0, host: '127.0.0.1' });
      const dockerSocket = join(dir, 'docker.sock');
      await node.listen(node.docker(local.env.DOCKER_HOST), { path: dockerSocket });
      const base = await freePorts(3);
      const serverRpc = Number(new URL(local.env.NOMAD_ADDR).port) + 1;
      writeFileSync(join(dir, 'client.hcl'), clientConfig({ dir, name, base, serverRpc, consulPort, dockerSocket }));
      const log = createWriteStream(join(dir, 'nomad.log'));
      node.agent = spawn('nomad', ['agent', '-config', join(dir, 'client.hcl')], {
        env: { ...process.env, ...toolsEnv() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      node.agent.stdout!.pipe(log);
      node.agent.stderr!.pipe(log);
      await node.ready(local.env.NOMAD_ADDR);
      return node;
    } catch (e) {
      node.stop();
      throw e;
    }
  }

  private agent?: ChildProcess;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  /** Image pulls held open, by the image asked for. */
  readonly heldPulls: string[] = [];

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {}

  /** The stand-in for a Consul agent: what Nomad's fingerprint reads (Connect on, gRPC port set), nothing else. */
  private readonly consul = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.startsWith('/v1/agent/self')) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          Config: { Version: '1.16.3', Revision: 'stand-in', Server: false, NodeName: this.name, Datacenter: 'dc1' },
          DebugConfig: { ConnectEnabled: true, GRPCPort: 8502, GRPCTLSPort: -1 },
          Member: { Tags: {} },
        }),
      );
    } else if (req.url?.startsWith('/v1/agent/services') || req.url?.startsWith('/v1/agent/checks')) {
      // The client's service sync asks what is registered: nothing.
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    } else {
      res.statusCode = 404;
      res.end();
    }
  };

  /** Podman's Docker API, except that an image pull is accepted and never answered. */
  private docker(dockerHost: string) {
    const socketPath = dockerHost.replace(/^unix:\/\//, '');
    return (req: IncomingMessage, res: ServerResponse): void => {
      if (req.method === 'POST' && /\/images\/create(\?|$)/.test(req.url ?? '')) {
        this.heldPulls.push(new URL(req.url!, 'http://docker').searchParams.get('fromImage') ?? '?');
        res.writeHead(200, { 'content-type': 'application/json' });
        return;
      }
      const upstream = request({ socketPath, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (e) => {
        res.statusCode = 502;
        res.end(String(e));
      });
      req.pipe(upstream);
    };
  }

  private listen(handler: (req: IncomingMessage, res: ServerResponse) => void, at: { port: number; host: string } | { path: string }): Promise<number> {
    const server = createServer(handler);
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  }

  /** Waits until the dev agent's server lists this node ready, with docker healthy and Consul Connect fingerprinted. */
  private async ready(nomadAddr: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    let last = 'not registered';
    while (Date.now() < deadline) {
      if (this.agent?.exitCode !== null && this.agent?.exitCode !== undefined) break;
      try {
        const nodes = (await (await fetch(`${nomadAddr}/v1/nodes`)).json()) as { ID: string; Name: string; Status: string }[];
        const stub = nodes.find((n) => n.Name === this.name);
        if (stub) {
          const node = (await (await fetch(`${nomadAddr}/v1/node/${stub.ID}`)).json()) as {
            Status: string;
            Drivers: Record<string, { Healthy: boolean }>;
            Attributes: Record<string, string>;
          };
          last = `status ${node.Status}, docker ${node.Drivers.docker?.Healthy ? 'healthy' : 'not healthy'}, consul.connect ${node.Attributes['consul.connect'] ?? 'absent'}`;
          if (node.Status === 'ready' && node.Drivers.docker?.Healthy && node.Attributes['consul.connect'] === 'true') return;
        }
      } catch (e) {
        last = String(e);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`Nomad client '${this.name}' did not become a ready docker + Consul node (${last}); log:\n${this.log().slice(-3000)}`);
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'nomad.log'), 'utf8');
    } catch {
      return '';
    }
  }

  stop(): void {
    this.agent?.kill('SIGKILL');
    for (const s of this.sockets) s.destroy();
    for (const server of this.servers) server.close();
    rmSync(join(this.dir, 'data'), { recursive: true, force: true });
  }
}

function clientConfig(o: { dir: string; name: string; base: number; serverRpc: number; consulPort: number; dockerSocket: string }): string {
  return `name                 = "${o.name}"
data_dir             = "${o.dir}/data"
bind_addr            = "127.0.0.1"
disable_update_check = true

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

ports {
  http = ${o.base}
  rpc  = ${o.base + 1}
  serf = ${o.base + 2}
}

client {
  enabled = true
  servers = ["127.0.0.1:${o.serverRpc}"]

  host_volume "rails" {
    path = "${o.dir}/rails"
  }
}

plugin "docker" {
  config {
    endpoint                 = "unix://${o.dockerSocket}"
    infra_image_pull_timeout = "1h"
    pull_activity_timeout    = "1h"
  }
}

consul {
  address          = "127.0.0.1:${o.consulPort}"
  auto_advertise   = false
  server_auto_join = false
  client_auto_join = false
}
`;
}
