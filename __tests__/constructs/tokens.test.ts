import { Testing, TerraformVariable } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { ContainerImage } from '../../constructs/image/container-image';
import { RENDERED_JOB_KEY, referenceMark } from '../../constructs/nomad/api';
import { NomadJob } from '../../constructs/nomad/job';
import { PumaGroup } from '../../constructs/rails/puma';
import { SidekiqGroup } from '../../constructs/rails/sidekiq';
import { terraformUnescape } from '../support/synth';
import { newJob, validationErrors } from '../support/tree';

// A prop may be a Terraform reference, known only at apply time: the construct's rules skip it
// (Token.isUnresolved) and the jobspec carries the reference.
describe('props that are Terraform references', () => {
  const { stack, job } = newJob();
  const variable = (name: string, type: 'number' | 'string') => new TerraformVariable(stack, name, { type });
  const digest = variable('digest', 'string').stringValue;
  const image = ContainerImage.fromDigest(`registry.example.org/app@${digest}`);
  const resources = { cpu: variable('cpu', 'number').numberValue, memoryMB: variable('memory', 'number').numberValue };
  new PumaGroup(job, 'web', {
    image,
    resources,
    count: variable('web_count', 'number').numberValue,
    port: variable('port', 'number').numberValue,
    workers: variable('workers', 'number').numberValue,
    threads: { min: variable('threads_min', 'number').numberValue, max: 4 },
  });
  new SidekiqGroup(job, 'w', { image, resources, groupName: 'w', queues: [variable('queue', 'string').stringValue, 'default'] });

  it('pass the construct\'s checks, at construction and at synth', () => {
    expect(validationErrors(stack)).toEqual([]);
  });

  it('except the job ID, which is the Terraform address and must be known at synth', () => {
    const { stack: other } = newJob();
    const id = new TerraformVariable(other, 'job_id', { type: 'string' }).stringValue;
    expect(() => new NomadJob(other, 'by-variable', { jobId: id, datacenters: ['dc1'] })).toThrow(
      /\[test\/by-variable\] job ID '\$\{TfToken\[TOKEN\.\d+\]\}' must be known at synth, not a Terraform reference/,
    );
  });

  it('reach Nomad as Terraform references', () => {
    // Not JSON until Terraform puts the numbers in: read it as text.
    const jobspec = terraformUnescape(JSON.parse(Testing.synth(stack)).resource.nomad_job.app.jobspec as string);
    expect(jobspec).toContain('"Count":${var.web_count},');
    expect(jobspec).toContain('"image":"registry.example.org/app@${var.digest}"');
    expect(jobspec).toContain('"CPU":${var.cpu},');
    expect(jobspec).toContain('"MemoryMB":${var.memory}}');
    expect(jobspec).toContain('"args":["-b","tcp://0.0.0.0","-p","${var.port}","--preload","-w","${var.workers}","-t","${var.threads_min}:4"]');
    expect(jobspec).toContain('"args":["-q","${var.queue}","-q","default","-c","1","-t","25"]');
    expect(jobspec).toContain('"PortLabel":"${var.port}"');
  });

  it('are marked in the job rendered for npm run plan, which is JSON: a number as a string of its mark alone', () => {
    const written = stack.toTerraform() as { resource: { nomad_job: { app: { '//': Record<string, string> } } } };
    const rendered = JSON.parse(written.resource.nomad_job.app['//'][RENDERED_JOB_KEY]!) as { Job: Record<string, any> };
    const web = rendered.Job.TaskGroups.find((g: { Name: string }) => g.Name === 'web');
    expect(web.Count).toBe(referenceMark('var.web_count'));
    expect(web.Tasks[0].Resources).toEqual({ CPU: referenceMark('var.cpu'), MemoryMB: referenceMark('var.memory') });
    expect(web.Tasks[0].Config.image).toBe(`registry.example.org/app@${referenceMark('var.digest')}`);
    expect(web.Tasks[0].Config.args).toContain(`${referenceMark('var.threads_min')}:4`);
  });
});
