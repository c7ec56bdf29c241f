/**
 * What the configuration may read from the machine it runs on. Read once, in main.ts; tests
 * pass their own. Only paths and switches: secrets are read by Terraform and the providers
 * at plan and apply time, never here.
 */
export interface EdgeInputs {
  /** The process environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The project directory, against which relative paths resolve. */
  readonly cwd: string;
}
