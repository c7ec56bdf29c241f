import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { Variable as NomadVariableResource } from '@cdktf/provider-nomad/lib/variable';
import { checkEnvName } from './env-name';

export interface NomadVariableProps {
  /**
   * Where the items are stored. Tasks read `nomad/jobs/<job>` (and `…/<group>`, `…/<group>/<task>`)
   * through their workload identity, with no token and no policy.
   */
  readonly path: string;
  /** @default - the `default` namespace */
  readonly namespace?: string;
  /**
   * The items, by key. Values may be Terraform references (a sensitive variable, `file(…)`):
   * they are read at plan time and never written to synth output. The provider marks them
   * sensitive, so a changed value shows in a plan as a change to this variable, not its value.
   */
  readonly items: Readonly<Record<string, string>>;
  /** Resources or data sources read before this variable. @default [] */
  readonly dependsOn?: readonly ITerraformDependable[];
}

const PATH = /^[A-Za-z0-9_~/-]{1,128}$/;

/** A Nomad Variable written by Terraform (`nomad_variable`): where secrets live, outside the jobspec. */
export class NomadVariable extends Construct {
  readonly path: string;
  readonly resource: NomadVariableResource;
  readonly keys: readonly string[];

  constructor(scope: Construct, id: string, props: NomadVariableProps) {
    super(scope, id);
    const where = `variable '${props.path}'`;
    if (!PATH.test(props.path)) {
      throw new Error(`${where}: a variable path is 1 to 128 characters of letters, digits, '_', '~', '/' and '-' (Nomad refuses '.' and '@')`);
    }
    const keys = Object.keys(props.items);
    if (keys.length === 0) throw new Error(`${where}: a variable needs at least one item`);
    for (const key of keys) {
      // Templates read items as `.key`: a key that is not an identifier needs `index`, and reads badly.
      const badKey = checkEnvName(key);
      if (badKey) throw new Error(`${where}: item key '${key}' ${badKey}`);
    }
    this.path = props.path;
    this.keys = keys;
    this.resource = new NomadVariableResource(this, 'variable', {
      path: props.path,
      ...(props.namespace ? { namespace: props.namespace } : {}),
      items: { ...props.items },
      ...(props.dependsOn?.length ? { dependsOn: [...props.dependsOn] } : {}),
    });
    // The Terraform address is `nomad_variable.<id>`, whatever the construct tree looks like.
    this.resource.overrideLogicalId(id);
  }
}
