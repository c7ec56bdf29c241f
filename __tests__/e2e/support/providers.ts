import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROVIDER_VERSIONS } from '../../../config/tools';
import { toolsEnv } from './local-environment';

/**
 * Fails, naming what is missing, unless the Terraform mirror holds both providers at the
 * versions the stacks require, in the unpacked layout `npm run tools` builds or the packed one
 * `terraform providers mirror` writes. A journey that cannot run is a failure, not a skip.
 */
export function requireProviders(): void {
  const mirror = join(toolsEnv().DASHBOARD_TOOLS_DIR!, 'mirror/registry.terraform.io');
  const wanted = [
    ['hashicorp', 'nomad', PROVIDER_VERSIONS.nomad],
    ['kreuzwerker', 'docker', PROVIDER_VERSIONS.docker],
  ] as const;
  const missing = wanted
    .filter(([ns, type, version]) => {
      const unpacked = join(mirror, ns, type, version, 'linux_amd64');
      const packed = join(mirror, ns, type, `terraform-provider-${type}_${version}_linux_amd64.zip`);
      return !(existsSync(packed) || (existsSync(unpacked) && readdirSync(unpacked).some((f) => f.startsWith(`terraform-provider-${type}`))));
    })
    .map(([ns, type, version]) => `${ns}/${type} ${version}`);
  if (missing.length > 0) {
    throw new Error(`the Terraform mirror ${mirror} lacks ${missing.join(', ')}: run npm run tools`);
  }
}
