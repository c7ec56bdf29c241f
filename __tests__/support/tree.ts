import { Testing, TerraformStack } from 'cdktf';
import { NomadProvider } from '@cdktf/provider-nomad/lib/provider';
import { ContainerImage } from '../../constructs/image/container-image';
import { NomadJob, type NomadJobProps } from '../../constructs/nomad/job';

export const IMAGE = ContainerImage.fromDigest(`registry.example.org/app@sha256:${'a'.repeat(64)}`);

/** A job in a fresh stack, for constructing groups and tasks under test. */
export function newJob(props: Partial<NomadJobProps> = {}): { stack: TerraformStack; job: NomadJob } {
  const stack = new TerraformStack(Testing.app(), 'test');
  new NomadProvider(stack, 'nomad', { address: 'http://127.0.0.1:4646' });
  const job = new NomadJob(stack, 'job', { jobId: 'app', datacenters: ['dc1'], ...props });
  return { stack, job };
}

/** The messages of every validation in the tree, as synth would report them. */
export function validationErrors(stack: TerraformStack): string[] {
  return stack.node.findAll().flatMap((c) => c.node.validate());
}
