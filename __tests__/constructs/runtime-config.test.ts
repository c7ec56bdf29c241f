import { Testing, TerraformStack } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { type ChangeAction, RuntimeConfig } from '../../constructs/nomad/runtime-config';

const SECRET_KEY_BASE = [{ name: 'SECRET_KEY_BASE', source: '/ops/env/SECRET_KEY_BASE' }];

function build(onChange?: ChangeAction, env = SECRET_KEY_BASE) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const config = new RuntimeConfig(stack, 'runtime_config', {
    variablePath: 'nomad/jobs/app',
    files: [{ source: '/ops/config/database.yml', target: '/app/config/database.yml' }],
    env,
    ...(onChange ? { onChange } : {}),
    missingSource: 'Put it in /ops.',
  });
  const json = JSON.parse(Testing.synth(stack)) as { resource?: { terraform_data?: Record<string, { triggers_replace: Record<string, string> }> }; variable: Record<string, { validation: Array<{ error_message: string }> }> };
  return { config, json };
}

describe('RuntimeConfig', () => {
  it('by default a change is rolled out: templates do nothing to running tasks, and each task carries a revision of the items', () => {
    const { config, json } = build();
    expect(config.templates().map((t) => t.ChangeMode)).toEqual(['noop', 'noop']);
    expect(config.taskMeta()).toEqual({ runtime_config_revision: expect.stringContaining('TfToken') });
    expect(json.resource!.terraform_data!.runtime_config_revision!.triggers_replace).toEqual({
      file_database_yml: '${sensitive(file(var.config_file_database_yml))}',
      env_SECRET_KEY_BASE: '${chomp(sensitive(file(var.config_env_SECRET_KEY_BASE)))}',
    });
  });

  it.each([
    [{ mode: 'restart' } as const, 'restart', undefined, SECRET_KEY_BASE],
    [{ mode: 'signal', signal: 'SIGHUP' } as const, 'signal', 'SIGHUP', []],
  ])('%o: every task restarted or signalled in place, no revision and no new job version', (onChange, mode, signal, env) => {
    const { config, json } = build(onChange, env);
    expect(config.templates().map((t) => [t.ChangeMode, t.ChangeSignal])).toEqual(config.templates().map(() => [mode, signal]));
    expect(config.templates()).toHaveLength(env.length > 0 ? 2 : 1);
    expect(config.taskMeta()).toEqual({});
    expect(json.resource?.terraform_data).toBeUndefined();
  });

  it('refuses a signal with env vars (Nomad 1.6.3 Template.Validate: "cannot use signals with env var templates")', () => {
    expect(() => build({ mode: 'signal', signal: 'SIGHUP' })).toThrow(
      "runtime config 'test/runtime_config': onChange signal SIGHUP cannot reach env vars (SECRET_KEY_BASE): a task reads them when it starts, and Nomad refuses a signal on their template; use 'rollout' or 'restart'",
    );
  });

  it('an empty file or env value is refused when Terraform plans, naming the file and where the app reads it', () => {
    const { json } = build();
    expect(json.variable.config_file_database_yml!.validation.map((v) => v.error_message)).toContain(
      'The file database.yml at /ops/config/database.yml is empty (nothing but white space and comments): the app would read nothing at /app/config/database.yml. Put it in /ops.',
    );
    expect(json.variable.config_env_SECRET_KEY_BASE!.validation.map((v) => v.error_message)).toContain(
      'The value for SECRET_KEY_BASE at /ops/env/SECRET_KEY_BASE is empty (nothing but white space): the app would start without it. Put it in /ops.',
    );
  });
});
