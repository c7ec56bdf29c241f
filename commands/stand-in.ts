/**
 * The one switch between a real one-off run and its stand-in (see `OneOffOptions.standIn`):
 * DASHBOARD_RUN_STANDIN=raw_exec runs the command line with Nomad's raw_exec driver on the
 * client instead of in the image, for the local environment's dev agent, which has no
 * container runtime (the end-to-end tests set it). Any other environment refuses it: a
 * stand-in must never run against a real cluster.
 */
export const STAND_IN_VARIABLE = 'DASHBOARD_RUN_STANDIN';

export function standInRequested(env: Readonly<Record<string, string | undefined>>, environment: string): boolean {
  const value = env[STAND_IN_VARIABLE];
  if (value === undefined || value === '') return false;
  if (value !== 'raw_exec') throw new Error(`${STAND_IN_VARIABLE}='${value}': the only stand-in is 'raw_exec'`);
  if (environment !== 'local') throw new Error(`${STAND_IN_VARIABLE} is set, but environment '${environment}' is not 'local': the raw_exec stand-in is for the local dev agent only`);
  return true;
}
