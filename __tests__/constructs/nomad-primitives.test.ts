import { describe, expect, it } from 'vitest';
import { ConnectService } from '../../constructs/nomad/connect';
import { Constraint } from '../../constructs/nomad/constraint';
import { Duration } from '../../constructs/nomad/duration';
import { Lazy, Testing, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import { escapeTerraformTemplates, terraformText } from '../../constructs/nomad/terraform-escape';
import { Volume } from '../../constructs/nomad/volume';

describe('Duration', () => {
  it.each([
    ['250ms', 250_000_000],
    ['30s', 30_000_000_000],
    ['5m', 300_000_000_000],
    ['1m30s', 90_000_000_000],
    ['1h', 3_600_000_000_000],
  ])('parses %s as %d nanoseconds', (text, ns) => {
    expect(Duration.parse(text).toNanoseconds()).toBe(ns);
  });

  it('says itself in seconds, fractions kept', () => {
    expect(Duration.parse('1m30s').toSeconds()).toBe(90);
    expect(Duration.parse('1500ms').toSeconds()).toBe(1.5);
  });

  it('prints the shortest exact notation', () => {
    expect(Duration.seconds(90).toString()).toBe('1m30s');
    expect(Duration.millis(1500).toString()).toBe('1s500ms');
  });

  it.each(['30', '30sec', '', '1.5s', 's30'])('rejects %j, saying how to write one', (text) => {
    expect(() => Duration.parse(text)).toThrow(/must be a duration such as "30s", "5m" or "1m30s"/);
  });
});

describe('Constraint', () => {
  it('notOnNode compares Nomad\'s ${node.unique.name} with the node', () => {
    expect(Constraint.notOnNode('node-railsweb').render()).toEqual({ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' });
  });

  it('rejects an attribute that is not a Nomad interpolation', () => {
    expect(() => Constraint.attribute('node.unique.name', '=', 'x')).toThrow(/must be a Nomad interpolation/);
  });

  it('rejects an operand Nomad does not know', () => {
    expect(() => Constraint.attribute('${attr.kernel.name}', '==' as never, 'linux')).toThrow(/operand '==' is not one of Nomad's/);
  });
});

describe('Volume', () => {
  it('a host volume defaults its source to its name and is read-write', () => {
    expect(Volume.host('rails').render()).toEqual({ Name: 'rails', Type: 'host', Source: 'rails', ReadOnly: false });
  });

  it('two volumes are the same only when every field is', () => {
    expect(Volume.host('rails').sameAs(Volume.host('rails', { source: 'rails' }))).toBe(true);
    expect(Volume.host('rails').sameAs(Volume.host('rails', { readOnly: true }))).toBe(false);
  });

  it('rejects a name Nomad cannot use', () => {
    expect(() => Volume.host('rails system')).toThrow(/volume name 'rails system'/);
  });

  it('rejects an empty source (Nomad 1.6.3 VolumeRequest.Validate: "volume has an empty source")', () => {
    expect(() => Volume.host('rails', { source: '' })).toThrow("volume 'rails': the host volume's source must not be empty");
  });
});

describe('ConnectService', () => {
  const upstreams = [
    { service: 'redis-sidekiq', localPort: 6379 },
    { service: 'mariadb', localPort: 3306 },
  ];

  it('renders a Consul service with a sidecar proxy and its upstreams in order', () => {
    expect(new ConnectService({ name: 'puma', port: 5000, tags: ['app'], upstreams }).render()).toEqual({
      Name: 'puma',
      PortLabel: '5000',
      Tags: ['app'],
      Provider: 'consul',
      Connect: {
        SidecarService: {
          Proxy: {
            Upstreams: [
              { DestinationName: 'redis-sidekiq', LocalBindPort: 6379 },
              { DestinationName: 'mariadb', LocalBindPort: 3306 },
            ],
          },
        },
      },
    });
  });

  it('without a port renders no PortLabel', () => {
    expect(new ConnectService({ name: 'sidekiq-default' }).render().PortLabel).toBeUndefined();
  });

  it('renders an HTTP check exposed past the sidecar, in nanoseconds, named after the service', () => {
    const check = new ConnectService({ name: 'puma', port: 5000, httpCheck: { path: '/up', interval: Duration.seconds(15), timeout: Duration.seconds(3) } }).render().Checks;
    expect(check).toEqual([{ Name: 'puma-http', Type: 'http', Path: '/up', Expose: true, Interval: 15_000_000_000, Timeout: 3_000_000_000 }]);
    expect(new ConnectService({ name: 'puma', port: 5000, httpCheck: { path: '/up' } }).render().Checks![0]).toMatchObject({ Interval: 10_000_000_000, Timeout: 5_000_000_000 });
    expect(new ConnectService({ name: 'w' }).render().Checks).toBeUndefined();
  });

  it.each([
    [{ port: 5000, httpCheck: { path: 'up' } }, "service 'puma': check path must start with '/', got 'up'"],
    [{ port: 5000, httpCheck: { path: '/up', interval: Duration.millis(500) } }, "service 'puma': check interval must be at least 1s (Nomad's minimum), got 500ms"],
    [{ port: 5000, httpCheck: { path: '/up', timeout: Duration.millis(500) } }, "service 'puma': check timeout must be at least 1s (Nomad's minimum), got 500ms"],
    [{ port: 5000, httpCheck: { path: '/up', interval: Duration.seconds(5), timeout: Duration.seconds(6) } }, "service 'puma': check timeout 6s must not be longer than its interval 5s"],
    [{ httpCheck: { path: '/up' } }, "service 'puma': an HTTP check needs the service's port, and the service has none"],
    // Nomad 1.6.3 ServiceCheck.validateCommon parses the path as a URL: "http type must have valid http path".
    [{ port: 5000, httpCheck: { path: '/up%zz' } }, 'service \'puma\': check path must be a URL path (no white space, \'%\' only before two hex digits), got "/up%zz"'],
    [{ port: 5000, httpCheck: { path: '/health check' } }, 'service \'puma\': check path must be a URL path (no white space, \'%\' only before two hex digits), got "/health check"'],
  ])('rejects the check %j', (props, message) => {
    expect(() => new ConnectService({ name: 'puma', ...props })).toThrow(message);
  });

  it('rejects two upstreams on one local port, naming both', () => {
    expect(
      () => new ConnectService({ name: 'puma', upstreams: [...upstreams, { service: 'memcache', localPort: 6379 }] }),
    ).toThrow("service 'puma': upstreams 'redis-sidekiq' and 'memcache' both bind local port 6379");
  });

  it('accepts a check path with escapes and a query', () => {
    expect(() => new ConnectService({ name: 'puma', port: 5000, httpCheck: { path: '/up%20now?full=1' } })).not.toThrow();
  });

  it('rejects an upstream listed twice (Consul: "upstreams cannot contain duplicates of …")', () => {
    expect(() => new ConnectService({ name: 'puma', upstreams: [...upstreams, { service: 'mariadb', localPort: 3307 }] })).toThrow("service 'puma': upstream 'mariadb' is listed twice");
  });

  it.each(['', 'Redis'])('rejects upstream service %j (Consul: "upstream destination name cannot be empty"; names are DNS labels)', (service) => {
    expect(() => new ConnectService({ name: 'puma', upstreams: [{ service, localPort: 6379 }] })).toThrow(`service 'puma': upstream service name must be a DNS label`);
  });

  it.each([0, 70000, 1.5])('rejects local port %d', (port) => {
    expect(() => new ConnectService({ name: 'puma', upstreams: [{ service: 'mariadb', localPort: port }] })).toThrow(/upstream 'mariadb' local port must be a whole number of at least 1 and at most 65535, got/);
  });

  it.each(['Puma', 'sidekiq_default', '-puma', 'a'.repeat(64)])('rejects service name %j, which Consul would refuse', (name) => {
    expect(() => new ConnectService({ name })).toThrow(/must be a DNS label/);
  });
});

describe('escapeTerraformTemplates', () => {
  it('escapes Nomad interpolations and template directives for Terraform', () => {
    expect(escapeTerraformTemplates('${node.unique.name} %{ if x }')).toBe('$${node.unique.name} %%{ if x }');
  });

  it('leaves cdktf token markers, which become Terraform references', () => {
    expect(escapeTerraformTemplates('a@${TfToken[TOKEN.12]}')).toBe('a@${TfToken[TOKEN.12]}');
  });
});

describe('terraformText', () => {
  let produced: string | undefined;
  /** What an output whose value is produced by terraformText synthesizes to; `produced` is what it handed cdktf. */
  const synthesized = (text: (stack: TerraformStack) => string) => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const value = Lazy.stringValue({ produce: (context) => (produced = terraformText(text(stack), context)) });
    new TerraformOutput(stack, 'out', { value });
    return JSON.parse(Testing.synth(stack)).output.out.value as string;
  };

  it('escapes Nomad interpolations and puts in the Terraform references tokens stand for, as cdktf would', () => {
    const text = (stack: TerraformStack) => {
      const digest = new TerraformVariable(stack, 'digest', { type: 'string' }).stringValue;
      return `{"image":"app@${digest}","dir":"\${NOMAD_ALLOC_DIR}","n":"${new TerraformVariable(stack, 'n', { type: 'string' }).stringValue}"}`;
    };
    expect(synthesized(text)).toBe('{"image":"app@${var.digest}","dir":"$${NOMAD_ALLOC_DIR}","n":"${var.n}"}');
    // Nothing left for cdktf to split: the text it was handed is the text it wrote.
    expect(produced).toBe('{"image":"app@${var.digest}","dir":"$${NOMAD_ALLOC_DIR}","n":"${var.n}"}');
  });

  it('refuses a token that is not a string where its text goes', () => {
    expect(() => synthesized(() => `a${Lazy.anyValue({ produce: () => ({ not: 'text' }) })}`)).toThrow(/resolved to \{"not":"text"\}, not to a string/);
  });
});
