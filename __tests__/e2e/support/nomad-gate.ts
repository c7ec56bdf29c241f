import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback proxy in front of a Nomad agent that can hold job registrations (`PUT`/`POST
 * /v1/jobs`) until the test opens it, passing everything else at once. Pointed at by one
 * operator's LOCAL_NOMAD_ADDR, it keeps that operator's `terraform apply` inside its run (state
 * lock held) for as long as a test needs: a slow apply, made on purpose.
 */
export class NomadGate {
  static async start(target: string): Promise<NomadGate> {
    const gate = new NomadGate(new URL(target));
    await new Promise<void>((resolve) => gate.server.listen(0, '127.0.0.1', resolve));
    return gate;
  }

  private readonly server: Server;
  private closed = false;
  private held: (() => void)[] = [];
  /** Registrations that reached the gate while it was closed. */
  heldCount = 0;

  private constructor(private readonly target: URL) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** `http://127.0.0.1:<port>`, for LOCAL_NOMAD_ADDR. */
  get address(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** From now on, registrations wait. */
  close(): void {
    this.closed = true;
  }

  /** Registrations pass again, the held ones first. */
  open(): void {
    this.closed = false;
    const held = this.held.splice(0);
    for (const go of held) go();
  }

  stop(): void {
    this.open();
    this.server.close();
    this.server.closeAllConnections();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const forward = () => {
      const upstream = request(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      req.pipe(upstream);
    };
    const registers = (req.method === 'PUT' || req.method === 'POST') && req.url?.split('?')[0] === '/v1/jobs';
    if (registers && this.closed) {
      req.pause();
      this.heldCount += 1;
      this.held.push(() => {
        req.resume();
        forward();
      });
      return;
    }
    forward();
  }
}
