import { z } from 'zod';
import type { JobDocument } from '../constructs/nomad/api';
import { issueWords } from './issues';

/**
 * What the stack hands the release step's command (`commands/release.ts`) through the
 * environment of `terraform_data.release`'s local-exec: one schema for both sides, so the stack
 * cannot write what the command cannot read. Written to cdk.tf.json: never a secret in it.
 */
export const RELEASE_SETTINGS_VARIABLE = 'DASHBOARD_RELEASE';
/** The jobspec Terraform is about to register, with only the release group, its image resolved. */
export const RELEASE_JOBSPEC_VARIABLE = 'DASHBOARD_RELEASE_JOBSPEC';

const releaseSettings = z
  .object({
    environment: z.string().min(1),
    /** The worker group whose shape the release takes. */
    group: z.string().min(1),
    command: z.array(z.string()).min(1),
    timeoutSeconds: z.number().positive(),
    /** What config/ knows of the cluster (the local environment's address); NOMAD_* fill in the rest. */
    nomad: z
      .object({
        address: z.string().optional(),
        region: z.string().optional(),
        namespace: z.string().optional(),
        caFile: z.string().optional(),
        skipVerify: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

export type ReleaseSettings = z.infer<typeof releaseSettings>;

/** The settings as the stack writes them (checked: a wrong shape fails synth, not a deploy). */
export function encodeReleaseSettings(settings: ReleaseSettings): string {
  return JSON.stringify(releaseSettings.parse(settings, { error: issueWords }));
}

/** What the release command was given, read back; a missing or malformed variable names itself. */
export function decodeRelease(env: Readonly<Record<string, string | undefined>>): { settings: ReleaseSettings; service: JobDocument } {
  const settings = releaseSettings.safeParse(parseVariable(env, RELEASE_SETTINGS_VARIABLE), { error: issueWords });
  if (!settings.success) {
    throw new Error(`${RELEASE_SETTINGS_VARIABLE}: ${settings.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const service = parseVariable(env, RELEASE_JOBSPEC_VARIABLE) as JobDocument;
  if (!service?.Job?.ID || !Array.isArray(service.Job.TaskGroups)) throw new Error(`${RELEASE_JOBSPEC_VARIABLE}: not a job document ({"Job": {"ID": …, "TaskGroups": […]}})`);
  return { settings: settings.data, service };
}

function parseVariable(env: Readonly<Record<string, string | undefined>>, name: string): unknown {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set: this command is run by Terraform's release step (terraform_data.release), which sets it`);
  try {
    return JSON.parse(value);
  } catch (e) {
    throw new Error(`${name}: not JSON: ${(e as Error).message}`);
  }
}
