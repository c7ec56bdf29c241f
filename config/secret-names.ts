/**
 * Names of fields, variables and keys that hold secrets: `auth[password]`, `NOMAD_TOKEN`,
 * `DOCKER_REGISTRY_PASS`, `PG_CONN_STR`. The schema refuses such a key in an environment's `env` (committed to
 * git, rendered into the jobspec); `npm run plan` and every command mask the values of such variables.
 */
const SECRET_NAME = /(PASSWORD|PASSWD|PASS$|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|CONN_STR)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}
