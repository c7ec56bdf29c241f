import { Testing, TerraformStack } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { describe, expect, it } from 'vitest';
import { BuiltImage, type ImageBuildProps } from '../../constructs/image/built-image';
import { ContainerImage } from '../../constructs/image/container-image';
import { ImageRuntime } from '../../constructs/image/runtime';
import { DeployCheck } from '../../constructs/terraform/deploy-check';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const HASH = 'b'.repeat(64);

describe('ImageRuntime', () => {
  it('buildpacks images start the command line through the CNB launcher', () => {
    expect(ImageRuntime.buildpacks().commandConfig(['sidekiq', '-q', 'default'])).toEqual({
      entrypoint: ['launcher'],
      command: 'sidekiq',
      args: ['-q', 'default'],
    });
  });

  it('Dockerfile images run the command directly, with no entrypoint override', () => {
    expect(ImageRuntime.direct().commandConfig(['puma', '-p', '5000'])).toEqual({ command: 'puma', args: ['-p', '5000'] });
  });

  it('refuses an empty command line', () => {
    expect(() => ImageRuntime.direct().commandConfig([])).toThrow(/needs at least the program/);
  });
});

describe('ContainerImage.fromDigest', () => {
  it('keeps a digest reference and its runtime', () => {
    const image = ContainerImage.fromDigest(`docker.wikiedu.org/wikiedu-web@${DIGEST}`, ImageRuntime.buildpacks());
    expect(image.reference).toBe(`docker.wikiedu.org/wikiedu-web@${DIGEST}`);
    expect(image.runtime.kind).toBe('buildpacks');
  });

  it.each(['docker.wikiedu.org/wikiedu-web:latest', 'docker.wikiedu.org/wikiedu-web@sha256:abc', 'wikiedu-web'])(
    'refuses %s: a deploy must name a digest',
    (ref) => {
      expect(() => ContainerImage.fromDigest(ref)).toThrow(/must be pinned by digest/);
    },
  );
});

describe('BuiltImage', () => {
  const synth = (props: Partial<ConstructorParameters<typeof BuiltImage>[2]> = {}) => {
    const stack = new TerraformStack(Testing.app(), 'test');
    new DockerProvider(stack, 'docker', {});
    const image = new BuiltImage(stack, 'image', {
      repository: 'registry.example.org/app',
      context: '/src/app',
      contextHash: HASH,
      runtime: ImageRuntime.direct(),
      ...props,
    });
    return { image, json: JSON.parse(Testing.synth(stack, true)) };
  };

  it('builds, pushes and is referenced by the pushed digest', () => {
    const { image, json } = synth();
    expect(json.resource.docker_image.image).toMatchObject({
      name: `registry.example.org/app:ctx-${HASH.slice(0, 16)}`,
      build: { context: '/src/app', dockerfile: 'Dockerfile' },
      triggers: { context_sha256: HASH },
      keep_locally: true,
    });
    expect(json.resource.docker_registry_image.image).toMatchObject({
      name: '${docker_image.image.name}',
      triggers: { context_sha256: HASH },
      keep_remotely: true,
    });
    // A new push runs before the last one is forgotten: when it fails, the pushed image stays in state.
    expect(json.resource.docker_registry_image.image.lifecycle).toEqual({ create_before_destroy: true });
    // The build's paths never replace the image (each operator's checkout lies elsewhere); its content hash does.
    expect(json.resource.docker_image.image.lifecycle).toEqual({ create_before_destroy: true, ignore_changes: ['build'] });
    expect(image.reference).toContain('registry.example.org/app@');
  });

  it('a changed context changes the tag and the trigger, so the image is rebuilt and pushed', () => {
    const a = synth().json.resource.docker_image.image;
    const b = synth({ contextHash: 'c'.repeat(64) }).json.resource.docker_image.image;
    expect(b.name).not.toBe(a.name);
    expect(b.triggers.context_sha256).not.toBe(a.triggers.context_sha256);
  });

  it('refuses a repository that carries a tag', () => {
    expect(() => synth({ repository: 'registry.example.org/app:latest' })).toThrow(/must not carry a tag or digest/);
  });

  it('refuses a context hash that is not a hex digest', () => {
    expect(() => synth({ contextHash: 'latest' })).toThrow(/contextHash must be a SHA-256 digest: 64 lower-case hex digits, got 'latest'/);
  });
});

describe('ContainerImage.fromBuild', () => {
  const build = (props: Partial<ImageBuildProps> = {}) => {
    const stack = new TerraformStack(Testing.app(), 'test');
    ContainerImage.fromBuild(stack, 'image', {
      repository: 'registry.example.org/app',
      registry: { address: 'registry.example.org' },
      context: '/src/app',
      contextHash: HASH,
      missingContext: 'Set SOURCE to the checkout.',
      runtime: ImageRuntime.direct(),
      ...props,
    });
    return { stack, json: JSON.parse(Testing.synth(stack, true)) };
  };

  it('sets up the docker provider with the registry it pushes to', () => {
    expect(build().json.provider.docker).toEqual([{ registry_auth: [{ address: 'registry.example.org' }] }]);
    expect(build({ registry: { address: '127.0.0.1:5000', plainHttp: true } }).json.provider.docker[0].registry_auth).toEqual([{ address: 'http://127.0.0.1:5000' }]);
  });

  it('with the context on this machine, has no deploy check and no warning', () => {
    const { stack, json } = build();
    expect(json.variable).toBeUndefined();
    expect(Testing.synth(stack)).not.toContain('build_context');
  });

  it('without the context, still synthesizes, warns, and stops a plan before it starts, saying what to set', () => {
    const { stack, json } = build({ contextHash: undefined });
    const warnings = stack.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringContaining("build context '/src/app' is not on this machine")]);
    expect(json.variable.build_context).toEqual({
      type: 'string',
      default: '/src/app/Dockerfile',
      description: expect.stringContaining('Checked when Terraform plans'),
      validation: [{ condition: '${try(fileexists(var.build_context), true)}', error_message: 'There is no build context at /src/app. Set SOURCE to the checkout.' }],
    });
  });

  it('a daemon on a unix socket is checked at plan time, and the provider talks to it', () => {
    const { json } = build({ daemon: { socket: '/run/podman.sock', notRunning: 'The daemon is not running: start it.' } });
    expect(json.provider.docker[0].host).toBe('unix://${var.docker_socket}');
    expect(json.variable.docker_socket).toMatchObject({
      default: '/run/podman.sock',
      validation: [{ condition: '${try(fileexists(var.docker_socket), true)}', error_message: 'The daemon is not running: start it.' }],
    });
  });
});

describe('DeployCheck', () => {
  const stack = () => new TerraformStack(Testing.app(), 'test');

  it('refuses a relative path', () => {
    expect(() => DeployCheck.pathExists(stack(), 'x', { path: 'rel/path', message: 'Missing.' })).toThrow("deploy check 'x': path must be an absolute path, got 'rel/path'");
  });

  const conditions = (props: Parameters<typeof DeployCheck.pathExists>[2]) => {
    const s = stack();
    DeployCheck.pathExists(s, 'f', props);
    return JSON.parse(Testing.synth(s)).variable.f.validation as Array<{ condition: string; error_message: string }>;
  };

  it('refuses an empty file before YAML parses it: the parse runs only on a file with content', () => {
    const rules = conditions({ path: '/c/database.yml', message: 'Missing.', yaml: true, emptyMessage: 'Empty.' });
    const blank = 'trimspace(replace(sensitive(file(var.f)), "/(?m)^[[:blank:]]*#.*$/", ""))';
    expect(rules).toEqual([
      { condition: '${try(fileexists(var.f), true)}', error_message: 'Missing.' },
      { condition: `\${!try(${blank} == "", false)}`, error_message: 'Empty.' },
      { condition: `\${try(${blank} != "", false) ? yamldecode(sensitive(file(var.f))) != null : true}`, error_message: 'Empty.' },
    ]);
  });

  it('an env value file: empty is nothing but white space (a # is part of a value); no YAML rule', () => {
    expect(conditions({ path: '/c/env/X', message: 'Missing.', emptyMessage: 'Empty.' })).toEqual([
      { condition: '${try(fileexists(var.f), true)}', error_message: 'Missing.' },
      { condition: '${!try(trimspace(sensitive(file(var.f))) == "", false)}', error_message: 'Empty.' },
    ]);
    expect(conditions({ path: '/run/docker.sock', message: 'Missing.' })).toHaveLength(1);
  });

  it('refuses an empty-file message Terraform would refuse', () => {
    expect(() => DeployCheck.pathExists(stack(), 'x', { path: '/p', message: 'Missing.', emptyMessage: 'empty' })).toThrow(/got 'empty'/);
  });

  it('refuses a message Terraform would refuse (capital letter, full stop)', () => {
    expect(() => DeployCheck.pathExists(stack(), 'x', { path: '/p', message: 'missing' })).toThrow(/must start with a capital letter and end with a full stop, got 'missing'/);
  });
});
