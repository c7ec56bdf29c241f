import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendRecordPath, forgetBackend, recordedBackend, refuseOtherBackend } from '../../commands/backend-record';
import { CommandError } from '../../commands/cli';

let stackDir: string;
beforeEach(() => {
  stackDir = mkdtempSync(join(tmpdir(), 'backend-record-'));
});
afterEach(() => rmSync(stackDir, { recursive: true, force: true }));

/** The record `terraform init` writes (`.terraform/terraform.tfstate`), as Terraform 1.11 writes it, in part. */
const initializedFor = (type: string) => {
  mkdirSync(join(stackDir, '.terraform'), { recursive: true });
  writeFileSync(backendRecordPath(stackDir), JSON.stringify({ version: 3, serial: 1, backend: { type, config: {}, hash: 1 } }));
};
const refusal = (name: string, backend: 'local' | 'pg' | 'consul', command = 'plan') => {
  try {
    refuseOtherBackend(stackDir, { name, state: { backend } }, command);
  } catch (e) {
    expect(e).toBeInstanceOf(CommandError);
    return (e as Error).message;
  }
  return undefined;
};

describe("a stack directory's record of the backend terraform init set it up for", () => {
  it('none yet, the same backend, or forgotten: nothing to refuse', () => {
    expect(recordedBackend(stackDir)).toBeUndefined();
    expect(refusal('local', 'pg')).toBeUndefined();
    initializedFor('pg');
    expect(recordedBackend(stackDir)).toBe('pg');
    expect(refusal('local', 'pg')).toBeUndefined();
    forgetBackend(stackDir);
    expect(existsSync(backendRecordPath(stackDir))).toBe(false);
    expect(refusal('local', 'local')).toBeUndefined();
  });

  it('set up for the local file, config now names pg: the one migrate that moves it there', () => {
    initializedFor('local');
    expect(refusal('local', 'pg', 'deploy')).toBe(
      "deploy: this checkout's Terraform was set up for the local backend, and the config of 'local' now names pg: " +
        'npm run state -- local migrate --to pg moves its state there (with none to move, it only switches)',
    );
  });

  it('set up for a shared backend, config now names another: the state is moved out while config still names it', () => {
    initializedFor('pg');
    expect(refusal('local', 'local')).toBe(
      "plan: this checkout's Terraform was set up for the pg backend, and the config of 'local' now names local: its state leaves pg only while the config names pg: " +
        'set state.backend to pg (DASHBOARD_STATE_BACKEND=pg) again, run npm run state -- local migrate --to local (with none to move, it only switches), then set state.backend to local (unset DASHBOARD_STATE_BACKEND)',
    );
    expect(refusal('production', 'consul')).toBe(
      "plan: this checkout's Terraform was set up for the pg backend, and the config of 'production' now names consul: its state leaves pg only while the config names pg: " +
        'set state.backend to pg again, run npm run state -- production migrate --to local (with none to move, it only switches), then set state.backend to consul and run npm run state -- production migrate --to consul',
    );
  });
});
