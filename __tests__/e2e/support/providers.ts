import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROVIDER_VERSIONS } from '../../../stacks/dashboard-stack';
import { toolsEnv } from './local-environment';

/**
 * Whether the Terraform mirror holds both providers at the versions the stacks require, in
 * the unpacked layout `npm run tools` builds or the packed one `terraform providers mirror`
 * writes. Without them `cdktf diff` and `cdktf deploy` cannot run, and the tests that need
 * them are skipped, saying why.
 */
export function missingProviders(): string[] {
  const mirror = join(toolsEnv().DASHBOARD_TOOLS_DIR!, 'mirror/registry.terraform.io');
  const wanted = [
    ['hashicorp', 'nomad', PROVIDER_VERSIONS.nomad],
    ['kreuzwerker', 'docker', PROVIDER_VERSIONS.docker],
  ] as const;
  return wanted
    .filter(([ns, type, version]) => {
      const unpacked = join(mirror, ns, type, version, 'linux_amd64');
      const packed = join(mirror, ns, type, `terraform-provider-${type}_${version}_linux_amd64.zip`);
      return !(existsSync(packed) || (existsSync(unpacked) && readdirSync(unpacked).some((f) => f.startsWith(`terraform-provider-${type}`))));
    })
    .map(([ns, type, version]) => `${ns}/${type} ${version}`);
}
