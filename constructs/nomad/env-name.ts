import { rule } from '../core/rule';

/**
 * A name the shell and Nomad's templates read as it is: a task's env key, an env var the
 * runtime configuration renders, a Nomad Variable item key (templates read items as `.key`).
 */
export const checkEnvName = rule((name: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name), "must be letters, digits and '_', not starting with a digit");
