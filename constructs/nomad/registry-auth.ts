import type { Template } from './api';

/** What a `RegistryPullAuth` needs of a Nomad Variable: its path and the keys it holds. */
export interface PullAuthSource {
  readonly path: string;
  readonly keys: readonly string[];
}

export interface PullAuthKeys {
  /** @default 'registry_pull_username' */
  readonly username?: string;
  /** @default 'registry_pull_password' */
  readonly password?: string;
}

/** The task environment variables the template exports and the docker driver's `auth` reads. */
const ENV = { username: 'REGISTRY_PULL_USERNAME', password: 'REGISTRY_PULL_PASSWORD' } as const;

/**
 * How the docker driver authenticates its image pull, without a credential in the jobspec.
 * The credentials live in a Nomad Variable; a template, rendered by the Nomad client before the
 * task starts, exports them to the task's environment, and the driver's `auth` block names
 * them as `${REGISTRY_PULL_USERNAME}`, which Nomad interpolates from that environment
 * (the Nomad maintainers' own recipe: hashicorp/nomad issues 9740 and 5530).
 */
export class RegistryPullAuth {
  /**
   * Credentials from a Nomad Variable the task can read through its workload identity
   * (`nomad/jobs/<job>`).
   */
  static fromNomadVariable(variable: PullAuthSource, keys: PullAuthKeys = {}): RegistryPullAuth {
    const username = keys.username ?? 'registry_pull_username';
    const password = keys.password ?? 'registry_pull_password';
    for (const key of [username, password]) {
      if (!variable.keys.includes(key)) {
        throw new Error(`registry pull credentials: variable '${variable.path}' has no item '${key}' (it has: ${variable.keys.join(', ')})`);
      }
    }
    return new RegistryPullAuth(variable.path, username, password);
  }

  private constructor(
    readonly variablePath: string,
    private readonly usernameKey: string,
    private readonly passwordKey: string,
  ) {}

  /** The docker driver's `auth` block: Nomad interpolations, no credential. */
  dockerAuth(): { username: string; password: string } {
    return { username: `\${${ENV.username}}`, password: `\${${ENV.password}}` };
  }

  /**
   * The template that exports the credentials. Values are JSON-quoted, so any character a
   * password may hold survives the env-file parser. A changed credential is used from the next
   * pull on: it restarts nothing (`noop`).
   */
  template(): Template {
    return {
      EmbeddedTmpl: [
        `{{ with nomadVar "${this.variablePath}" }}`,
        `${ENV.username}={{ .${this.usernameKey} | toJSON }}`,
        `${ENV.password}={{ .${this.passwordKey} | toJSON }}`,
        '{{ end }}',
        '',
      ].join('\n'),
      DestPath: 'secrets/registry-pull.env',
      ChangeMode: 'noop',
      Envvars: true,
      Perms: '0600',
    };
  }
}
