import { Testing, TerraformStack } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { describe, expect, it } from 'vitest';
import { BuiltImage } from '../../constructs/image/built-image';
import { ContainerImage } from '../../constructs/image/container-image';
import { ImageRuntime } from '../../constructs/image/runtime';

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
    expect(() => synth({ contextHash: 'latest' })).toThrow(/contextHash must be a hex digest, got 'latest'/);
  });
});
