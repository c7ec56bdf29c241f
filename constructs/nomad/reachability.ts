import { Construct } from 'constructs';
import { DataNomadRegions } from '@cdktf/provider-nomad/lib/data-nomad-regions';

/**
 * One cheap read of the Nomad API (`GET /v1/regions`) that everything else of a stack depends
 * on: when the cluster cannot be reached, a plan stops there with the provider's plain message
 * (`dial tcp …: connection refused`), before any resource is refreshed. Without it the first
 * error would be whichever refresh failed first, and some report the cause unreadably.
 */
export class NomadReachability extends Construct {
  readonly probe: DataNomadRegions;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.probe = new DataNomadRegions(this, 'regions');
    // The Terraform address is `data.nomad_regions.<id>`, whatever the construct tree looks like.
    this.probe.overrideLogicalId(id);
  }
}
