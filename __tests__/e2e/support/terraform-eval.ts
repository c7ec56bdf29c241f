import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolsEnv } from './local-environment';

/**
 * What Terraform hands the nomad provider as `jobspec`, computed by real Terraform without
 * the provider: the synthesized string becomes an output of a provider-less configuration,
 * its resource references become variables, and `terraform apply` evaluates it. Terraform's
 * own template parsing ($${…} escapes, ${var.…} references) is what runs. The runtime
 * configuration's revision (terraform_data.runtime_config_revision.id, a random id Terraform
 * draws at apply) is given too.
 */
export function evaluateJobspec(jobspec: string, values: { imageDigest: string; revision?: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tf-eval-'));
  try {
    const references = jobspec.match(/\$\{docker_registry_image\.[A-Za-z0-9_-]+\.sha256_digest\}/g) ?? [];
    let value = jobspec;
    for (const ref of new Set(references)) value = value.split(ref).join('${var.image_digest}');
    value = value.split('${terraform_data.runtime_config_revision.id}').join('${var.revision}');
    writeFileSync(
      join(dir, 'main.tf.json'),
      JSON.stringify({
        variable: { image_digest: { type: 'string' }, revision: { type: 'string', default: values.revision ?? 'e2e-revision' } },
        output: { jobspec: { value } },
      }),
    );
    const env = {
      ...process.env,
      ...toolsEnv(),
      TF_IN_AUTOMATION: '1',
      TF_VAR_image_digest: values.imageDigest,
    };
    const tf = (...args: string[]) => {
      const r = spawnSync('terraform', [...args, '-no-color'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`terraform ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    tf('init', '-input=false');
    tf('apply', '-auto-approve', '-input=false');
    return tf('output', '-raw', 'jobspec');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
