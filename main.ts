import { chmodSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { App } from 'cdktf';
import { ConfigError, ENVIRONMENTS, loadEnvironment } from './config/load';
import type { EdgeInputs } from './config/edge';
import { DashboardStack } from './stacks/dashboard-stack';

/** Builds every environment's stack. The one place the program reads the machine it runs on. */
export function buildApp(edge: EdgeInputs, outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  for (const name of Object.keys(ENVIRONMENTS)) {
    const environment = loadEnvironment(name, edge, { log: (m) => process.stderr.write(`${m}\n`) });
    // State beside the project, or in DASHBOARD_STATE_DIR; never under cdktf.out, which synth rewrites.
    const statePath = resolve(edge.cwd, edge.env.DASHBOARD_STATE_DIR ?? '.', `terraform.${name}.tfstate`);
    new DashboardStack(app, name, { environment, statePath });
    protectState(statePath);
  }
  return app;
}

/**
 * State holds the pull credentials and the app's secrets. Terraform creates it under the
 * umask of the process that runs it (077 in the npm scripts and the tools' terraform wrapper);
 * a state file left readable to others by an earlier run is made the owner's alone here.
 */
function protectState(statePath: string): void {
  for (const file of [statePath, `${statePath}.backup`]) if (existsSync(file)) chmodSync(file, 0o600);
}

function main(): void {
  try {
    buildApp({ env: process.env, cwd: process.cwd() }).synth();
  } catch (e) {
    // A person reads this: the rule that broke, not a stack trace.
    const message = e instanceof ConfigError ? e.message : `synth failed: ${(e as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}

if (require.main === module) main();
