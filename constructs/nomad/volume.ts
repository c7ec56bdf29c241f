import type { VolumeRequest } from './api';
import { rule } from '../core/rule';

export const checkVolumeName = rule((name: string) => /^[A-Za-z0-9_-]+$/.test(name), "may hold only letters, digits, '_' and '-'");
/** Nomad: "volume has an empty source". */
export const checkHostVolumeSource = rule((source: string) => source !== '', 'must not be empty');

export interface HostVolumeOptions {
  /**
   * The name of the host volume in the Nomad client's configuration.
   * @default - the volume's own name
   */
  readonly source?: string;
  /** @default false */
  readonly readOnly?: boolean;
}

/**
 * A volume a task group requests. Tasks mount it; the group collects the volumes its
 * tasks mount, so a mount can never name a volume the group lacks.
 */
export class Volume {
  /** A host volume, declared in the `client { host_volume "<source>" {...} }` block of the nodes. */
  static host(name: string, options: HostVolumeOptions = {}): Volume {
    const badSource = options.source === undefined ? undefined : checkHostVolumeSource(options.source);
    if (badSource) throw new Error(`volume '${name}': the host volume's source ${badSource}`);
    return new Volume({
      Name: name,
      Type: 'host',
      Source: options.source ?? name,
      ReadOnly: options.readOnly ?? false,
    });
  }

  private constructor(private readonly request: VolumeRequest) {
    const bad = checkVolumeName(request.Name);
    if (bad) throw new Error(`volume name '${request.Name}' ${bad}`);
  }

  get name(): string {
    return this.request.Name;
  }

  /** The host volume's name in the client's configuration, for a host volume. */
  get hostSource(): string | undefined {
    return this.request.Type === 'host' ? this.request.Source : undefined;
  }

  get readOnly(): boolean {
    return this.request.ReadOnly;
  }

  render(): VolumeRequest {
    return { ...this.request };
  }

  /** Two volumes are the same request when every field is equal. */
  sameAs(other: Volume): boolean {
    return JSON.stringify(this.request) === JSON.stringify(other.request);
  }
}

export interface VolumeMountOptions {
  readonly volume: Volume;
  /** Path inside the task. */
  readonly path: string;
  /**
   * @default - the volume's own read-only setting
   */
  readonly readOnly?: boolean;
}
