import { App } from 'cdktf';
import { ConfigError, ENVIRONMENTS, loadEnvironment } from './config/load';
import type { EdgeInputs } from './config/edge';
import { DashboardStack } from './stacks/dashboard-stack';

/** Builds every environment's stack. The one place the program reads the machine it runs on. */
export function buildApp(edge: EdgeInputs, outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  for (const name of Object.keys(ENVIRONMENTS)) {
    const environment = loadEnvironment(name, edge, { log: (m) => process.stderr.write(`${m}\n`) });
    // DASHBOARD_STATE_DIR keeps the local state files elsewhere (the end-to-end tests give each run its own).
    const stateDir = edge.env.DASHBOARD_STATE_DIR;
    new DashboardStack(app, name, { environment, ...(stateDir ? { statePath: `${stateDir}/terraform.${name}.tfstate` } : {}) });
  }
  return app;
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
