import type { ConsulUpstream, Service, ServiceCheck } from './api';
import { Duration } from './duration';
import { type Check, checkPort, rule } from '../core/rule';

export interface Upstream {
  /** The Consul service to reach. */
  readonly service: string;
  /** The port on 127.0.0.1 inside the group's network namespace that forwards to it. */
  readonly localPort: number;
}

export interface ConnectServiceProps {
  /** The Consul service name. Consul intentions are written against it: renaming it cuts access. */
  readonly name: string;
  /**
   * The port the task listens on inside the group's network namespace (a number), or a label
   * of the group network.
   * @default - no port: the service exists only to reach its upstreams
   */
  readonly port?: number | string;
  /** @default [] */
  readonly tags?: string[];
  /** @default [] */
  readonly upstreams?: Upstream[];
  /**
   * An HTTP check of the service's port, run by the Consul agent through a path Nomad exposes
   * past the sidecar (`Expose`). Needs `port`.
   * @default - no check: Consul counts the service healthy while its sidecar is
   */
  readonly httpCheck?: HttpCheck;
}

export interface HttpCheck {
  /** The path, from '/': `/up`. */
  readonly path: string;
  /** @default HTTP_CHECK_DEFAULTS.interval (10s) */
  readonly interval?: Duration;
  /** How long one request may take. @default HTTP_CHECK_DEFAULTS.timeout (5s) */
  readonly timeout?: Duration;
}

/** What an HTTP check leaves out is this. */
export const HTTP_CHECK_DEFAULTS = { interval: Duration.seconds(10), timeout: Duration.seconds(5) } as const;

const MIN_CHECK = Duration.seconds(1);

/** Nomad's minimums (1s each), a path from '/', and a request that ends before the next starts. */
export const checkHttpCheck: Check<HttpCheck> = ({ path, interval = HTTP_CHECK_DEFAULTS.interval, timeout = HTTP_CHECK_DEFAULTS.timeout }) => {
  if (!path.startsWith('/')) return `check path must start with '/', got '${path}'`;
  // Nomad parses it as a URL ("http type must have valid http path"): a '%' starts an escape of two
  // hex digits, and no white space or control character is in a request line.
  if (/[\s\x00-\x1f\x7f]|%(?![0-9A-Fa-f]{2})/.test(path)) return `check path must be a URL path (no white space, '%' only before two hex digits), got ${JSON.stringify(path)}`;
  if (interval.toNanoseconds() < MIN_CHECK.toNanoseconds()) return `check interval must be at least ${MIN_CHECK} (Nomad's minimum), got ${interval}`;
  if (timeout.toNanoseconds() < MIN_CHECK.toNanoseconds()) return `check timeout must be at least ${MIN_CHECK} (Nomad's minimum), got ${timeout}`;
  if (timeout.toNanoseconds() > interval.toNanoseconds()) return `check timeout ${timeout} must not be longer than its interval ${interval}`;
  return undefined;
};

/** Consul refuses other service names (and DNS lookups of them fail). */
export const checkServiceName = rule(
  (name: string) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name),
  "must be a DNS label: lower-case letters, digits and '-', at most 63 characters",
);

/**
 * Each upstream is a service Consul can name, reached once, on its own local port, a real one.
 * Consul refuses a nameless upstream ("upstream destination name cannot be empty") and a service
 * listed twice ("upstreams cannot contain duplicates of …").
 */
export const checkUpstreams: Check<readonly Upstream[]> = (upstreams) => {
  const seen = new Map<number, string>();
  const services = new Set<string>();
  for (const u of upstreams) {
    const badName = checkServiceName(u.service);
    if (badName) return `upstream service name ${badName}, got '${u.service}'`;
    if (services.has(u.service)) return `upstream '${u.service}' is listed twice`;
    services.add(u.service);
    const badPort = checkPort(u.localPort);
    if (badPort) return `upstream '${u.service}' local port ${badPort}, got ${u.localPort}`;
    const other = seen.get(u.localPort);
    if (other !== undefined) return `upstreams '${other}' and '${u.service}' both bind local port ${u.localPort}`;
    seen.set(u.localPort, u.service);
  }
  return undefined;
};

/** A Consul service with a Connect sidecar proxy: how a group reaches redis, memcache and mariadb. */
export class ConnectService {
  readonly name: string;
  readonly port: string | undefined;
  private readonly numericPort: boolean;
  private readonly tags: string[];
  private readonly upstreams: Upstream[];
  private readonly httpCheck: HttpCheck | undefined;

  constructor(props: ConnectServiceProps) {
    const badName = checkServiceName(props.name);
    if (badName) throw new Error(`service name '${props.name}' ${badName}`);
    this.name = props.name;
    this.port = props.port === undefined ? undefined : String(props.port);
    this.numericPort = typeof props.port === 'number';
    this.tags = [...(props.tags ?? [])];
    this.upstreams = [...(props.upstreams ?? [])];
    const badUpstreams = checkUpstreams(this.upstreams);
    if (badUpstreams) throw new Error(`service '${this.name}': ${badUpstreams}`);
    this.httpCheck = props.httpCheck;
    if (props.httpCheck) {
      if (props.port === undefined) throw new Error(`service '${this.name}': an HTTP check needs the service's port, and the service has none`);
      const badCheck = checkHttpCheck(props.httpCheck);
      if (badCheck) throw new Error(`service '${this.name}': ${badCheck}`);
    }
  }

  /** True when Consul checks the service itself, not only its sidecar. */
  get hasChecks(): boolean {
    return this.httpCheck !== undefined;
  }

  /** The local ports the sidecar binds inside the group's network namespace, with the service each reaches. */
  get boundPorts(): ReadonlyMap<number, string> {
    return new Map(this.upstreams.map((u) => [u.localPort, u.service]));
  }

  /** True when the port is a literal number rather than a network label. */
  get portIsNumber(): boolean {
    // A number, even one Terraform resolves later: its text then is a token, not digits.
    return this.numericPort;
  }

  render(): Service {
    const upstreams: ConsulUpstream[] = this.upstreams.map((u) => ({
      DestinationName: u.service,
      LocalBindPort: u.localPort,
    }));
    const checks: ServiceCheck[] = this.httpCheck
      ? [
          {
            Name: `${this.name}-http`,
            Type: 'http',
            Path: this.httpCheck.path,
            // Bridge mode: without Expose the Consul agent's request would go to the sidecar, which wants mTLS.
            Expose: true,
            Interval: (this.httpCheck.interval ?? HTTP_CHECK_DEFAULTS.interval).toNanoseconds(),
            Timeout: (this.httpCheck.timeout ?? HTTP_CHECK_DEFAULTS.timeout).toNanoseconds(),
          },
        ]
      : [];
    return {
      Name: this.name,
      ...(this.port !== undefined ? { PortLabel: this.port } : {}),
      Tags: [...this.tags],
      Provider: 'consul',
      ...(checks.length > 0 ? { Checks: checks } : {}),
      Connect: { SidecarService: { Proxy: { Upstreams: upstreams } } },
    };
  }
}
