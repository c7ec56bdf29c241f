import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { ConnectService } from '../../constructs/nomad/connect';
import { Constraint } from '../../constructs/nomad/constraint';
import { Duration } from '../../constructs/nomad/duration';
import { TaskGroup } from '../../constructs/nomad/group';
import { NomadJob } from '../../constructs/nomad/job';
import { DockerTask, type DockerTaskProps } from '../../constructs/nomad/task';
import { Volume } from '../../constructs/nomad/volume';
import { IMAGE, newJob, validationErrors } from '../support/tree';

const task = (props: Partial<DockerTaskProps> = {}): DockerTaskProps => ({
  name: 'app',
  image: IMAGE,
  command: ['bin/app', '--serve'],
  resources: { cpu: 100, memoryMB: 128 },
  ...props,
});

describe('DockerTask', () => {
  it('renders the docker driver config from the image, command line and resources', () => {
    const { job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g' });
    const t = new DockerTask(group, 't', task({ env: { A: '1' }, killTimeout: Duration.seconds(30) }));
    expect(t.render()).toEqual({
      Name: 'app',
      Driver: 'docker',
      Config: { image: IMAGE.reference, command: 'bin/app', args: ['--serve'] },
      Env: { A: '1' },
      Resources: { CPU: 100, MemoryMB: 128 },
      KillTimeout: 30_000_000_000,
    });
  });

  it.each([
    [{ resources: { cpu: 0, memoryMB: 128 } }, "task 'app': cpu must be a whole number of MHz of at least 1, got 0"],
    [{ resources: { cpu: -5, memoryMB: 128 } }, "task 'app': cpu must be a whole number of MHz of at least 1, got -5"],
    [{ resources: { cpu: 100, memoryMB: 0 } }, "task 'app': memoryMB must be a whole number of at least 10 (Nomad's minimum), got 0"],
    [{ resources: { cpu: 100, memoryMB: 128, memoryMaxMB: 64 } }, "task 'app': memoryMaxMB 64 must be a whole number no smaller than memoryMB 128"],
    [{ env: { 'BAD-KEY': 'x' } }, "task 'app': env key 'BAD-KEY' must be letters, digits and '_'"],
    [{ name: 'a/b' }, "task 'a/b': a task name must not be empty or hold '/', '\\' or spaces"],
    // Nomad 1.6.3 Task.Validate: "Task name cannot include slashes" (it checks both kinds).
    [{ name: 'a\\b' }, "task 'a\\b': a task name must not be empty or hold '/', '\\' or spaces"],
    [{ command: [] }, 'a task command line needs at least the program to run'],
    [{ mounts: [{ volume: Volume.host('data'), path: 'data' }] }, "task 'app': volume 'data' mount path must be an absolute path, got 'data'"],
    [{ mounts: [{ volume: Volume.host('data', { readOnly: true }), path: '/data', readOnly: false }] }, "task 'app': volume 'data' is read-only and cannot be mounted read-write"],
  ])('refuses %j: %s', (props, message) => {
    const { job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g' });
    expect(() => new DockerTask(group, 't', task(props as Partial<DockerTaskProps>))).toThrow(message);
  });
});

describe('TaskGroup', () => {
  it('collects the volumes its tasks mount, once each', () => {
    const { job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g' });
    const data = Volume.host('data', { source: 'shared-data' });
    new DockerTask(group, 'a', task({ name: 'a', mounts: [{ volume: data, path: '/data' }] }));
    new DockerTask(group, 'b', task({ name: 'b', mounts: [{ volume: Volume.host('data', { source: 'shared-data' }), path: '/srv/data', readOnly: true }] }));
    const rendered = group.render();
    expect(rendered.Volumes).toEqual({ data: { Name: 'data', Type: 'host', Source: 'shared-data', ReadOnly: false } });
    expect(rendered.Tasks.map((t) => t.VolumeMounts)).toEqual([
      [{ Volume: 'data', Destination: '/data', ReadOnly: false }],
      [{ Volume: 'data', Destination: '/srv/data', ReadOnly: true }],
    ]);
  });

  it('a task, constraint or service added after the group was rendered is in the next rendering', () => {
    const { job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g', constraints: [Constraint.notOnNode('n1')] });
    new DockerTask(group, 'first', task({ name: 'first' }));
    const before = group.render();
    new DockerTask(group, 'late', task({ name: 'late' }));
    group.addConstraint(Constraint.notOnNode('n2'));
    group.addService(new ConnectService({ name: 'late-svc', upstreams: [{ service: 'redis', localPort: 6379 }] }));
    const after = group.render();
    expect(before.Tasks.map((t) => t.Name)).toEqual(['first']);
    expect(before.Services).toBeUndefined();
    expect(after.Tasks.map((t) => t.Name)).toEqual(['first', 'late']);
    expect(after.Constraints!.map((c) => c.RTarget)).toEqual(['n1', 'n2']);
    expect(after.Services!.map((s) => s.Name)).toEqual(['late-svc']);
  });

  it('a service added with addService is validated like one given at construction', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g', services: [new ConnectService({ name: 'svc' })] });
    new DockerTask(group, 't', task());
    group.addService(new ConnectService({ name: 'svc' }));
    group.addService(new ConnectService({ name: 'web', port: 'http' }));
    expect(validationErrors(stack)).toEqual([
      "group 'g': service name 'svc' is used twice",
      "group 'g': service 'web' uses port label 'http', which the group network does not define (defined: none)",
    ]);
  });

  it('renders group ports, constraints and the update strategy in nanoseconds', () => {
    const { job } = newJob();
    const group = new TaskGroup(job, 'g', {
      name: 'g',
      count: 3,
      ports: [{ label: 'http', to: 8080 }, { label: 'metrics', static: 9100 }],
      update: { maxParallel: 1, minHealthyTime: Duration.seconds(30), autoRevert: true },
      constraints: [Constraint.notOnNode('n1')],
    });
    new DockerTask(group, 't', task({ ports: ['http'] }));
    expect(group.render()).toMatchObject({
      Count: 3,
      Networks: [{ Mode: 'bridge', DynamicPorts: [{ Label: 'http', To: 8080 }], ReservedPorts: [{ Label: 'metrics', Value: 9100 }] }],
      Update: { MaxParallel: 1, MinHealthyTime: 30_000_000_000, AutoRevert: true },
      Constraints: [{ LTarget: '${node.unique.name}', RTarget: 'n1', Operand: '!=' }],
    });
  });

  it('renders canaries, auto-promotion and the health mode', () => {
    const { job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g', update: { canary: 1, autoPromote: true, autoRevert: true, healthCheck: 'task_states' } });
    expect(group.render().Update).toEqual({ MaxParallel: 1, Canary: 1, AutoPromote: true, AutoRevert: true, HealthCheck: 'task_states' });
  });

  it.each([
    [{}, "group 'g': update health_check 'checks' (Nomad's default), but no service of the group has a check: use 'task_states' or add a check"],
    [{ healthCheck: 'checks' as const }, "group 'g': update health_check 'checks' (set), but no service of the group has a check: use 'task_states' or add a check"],
  ])('reports health by checks when no service has one (%j)', (update, message) => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g', update, services: [new ConnectService({ name: 'g' })] });
    new DockerTask(group, 't', task());
    expect(validationErrors(stack)).toEqual([message]);
  });

  it('reports a kill timeout longer than the progress deadline, which Nomad refuses', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g', update: { healthCheck: 'task_states', minHealthyTime: Duration.seconds(1), healthyDeadline: Duration.seconds(15), progressDeadline: Duration.seconds(20) } });
    new DockerTask(group, 't', task({ killTimeout: Duration.seconds(30) }));
    expect(validationErrors(stack)).toEqual(["group 'g': task 'app' kill timeout 30s is longer than the update's progress_deadline 20s, which Nomad refuses"]);
  });

  it('accepts health by checks when a service has one, and by task states without', () => {
    const { stack, job } = newJob();
    const checked = new TaskGroup(job, 'a', { name: 'a', update: { healthCheck: 'checks' }, services: [new ConnectService({ name: 'a', port: 5000, httpCheck: { path: '/up' } })] });
    new DockerTask(checked, 't', task());
    const states = new TaskGroup(job, 'b', { name: 'b', update: { healthCheck: 'task_states' }, services: [new ConnectService({ name: 'b' })] });
    new DockerTask(states, 't', task());
    expect(validationErrors(stack)).toEqual([]);
  });

  it('reports a docker port label the group network does not define (the old web task\'s "http")', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'web', { name: 'web' });
    new DockerTask(group, 't', task({ name: 'rails_server', ports: ['http'] }));
    expect(validationErrors(stack)).toContain(
      "group 'web': task 'rails_server' publishes port label 'http', which the group network does not define (defined: none)",
    );
  });

  it('reports a service on an undefined port label, but accepts a Connect port number', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'web', {
      name: 'web',
      services: [new ConnectService({ name: 'web', port: 'http' }), new ConnectService({ name: 'web-direct', port: 5000 })],
    });
    new DockerTask(group, 't', task());
    expect(validationErrors(stack)).toEqual([
      "group 'web': service 'web' uses port label 'http', which the group network does not define (defined: none)",
    ]);
  });

  it('reports an upstream bound to the port the service listens on', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'web', {
      name: 'web',
      services: [new ConnectService({ name: 'puma', port: 5000, upstreams: [{ service: 'metrics', localPort: 5000 }] })],
    });
    new DockerTask(group, 't', task());
    expect(validationErrors(stack)).toEqual([
      "group 'web': upstream 'metrics' of service 'puma' binds local port 5000, which service 'puma' listens on",
    ]);
  });

  it('refuses upper case in the name of a group with a Connect service, given or added (Nomad: "Consul Connect group … must not contain uppercase characters")', () => {
    const { job } = newJob();
    const message = "group 'Web': a group name must not hold upper-case letters (the group has a Consul Connect service)";
    expect(() => new TaskGroup(job, 'a', { name: 'Web', services: [new ConnectService({ name: 'web' })] })).toThrow(message);
    const plain = new TaskGroup(job, 'b', { name: 'Web' });
    expect(() => plain.addService(new ConnectService({ name: 'web' }))).toThrow(message);
  });

  it('reports two services of a group whose upstreams bind one local port (Nomad: "Consul Connect services … using same address for upstreams")', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'g', {
      name: 'g',
      services: [
        new ConnectService({ name: 'a', upstreams: [{ service: 'redis', localPort: 6379 }] }),
        new ConnectService({ name: 'b', upstreams: [{ service: 'redis-cache', localPort: 6379 }] }),
      ],
    });
    new DockerTask(group, 't', task());
    expect(validationErrors(stack)).toContain("group 'g': upstream 'redis' of service 'a' and upstream 'redis-cache' of service 'b' both bind local port 6379");
  });

  it('reports an HTTP check on a dynamic port label (Nomad: "unable to determine local service port for service check"), not on a static one', () => {
    const { stack, job } = newJob();
    const check = { path: '/up' };
    const group = new TaskGroup(job, 'web', {
      name: 'web',
      ports: [{ label: 'http' }, { label: 'admin', static: 9000 }],
      update: { healthCheck: 'checks' },
      services: [new ConnectService({ name: 'web', port: 'http', httpCheck: check }), new ConnectService({ name: 'web-admin', port: 'admin', httpCheck: check })],
    });
    new DockerTask(group, 't', task());
    expect(validationErrors(stack)).toEqual([
      "group 'web': service 'web' has an HTTP check on port label 'http', a dynamic port: Nomad exposes a check only on a port it knows at registration (a number, or a static port)",
    ]);
  });

  it('reports Connect services outside bridge networking', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g', networkMode: 'host', services: [new ConnectService({ name: 'g' })] });
    new DockerTask(group, 't', task());
    expect(validationErrors(stack)).toContain("group 'g': Consul Connect services need network mode 'bridge', got 'host'");
  });

  it('reports a group with no task, and duplicate task names', () => {
    const { stack, job } = newJob();
    new TaskGroup(job, 'empty', { name: 'empty' });
    const twice = new TaskGroup(job, 'twice', { name: 'twice' });
    new DockerTask(twice, 'a', task({ name: 'same' }));
    new DockerTask(twice, 'b', task({ name: 'same' }));
    expect(validationErrors(stack)).toEqual(["group 'empty' has no task", "group 'twice': task name 'same' is used twice"]);
  });

  it('reports two different volumes under one name', () => {
    const { stack, job } = newJob();
    const group = new TaskGroup(job, 'g', { name: 'g' });
    new DockerTask(group, 'a', task({ name: 'a', mounts: [{ volume: Volume.host('data'), path: '/a' }] }));
    new DockerTask(group, 'b', task({ name: 'b', mounts: [{ volume: Volume.host('data', { source: 'other' }), path: '/b' }] }));
    expect(validationErrors(stack).join('\n')).toMatch(/group 'g': two different volumes are named 'data'/);
  });

  it.each([
    [{ count: -1 }, "group 'g': count must be a whole number of at least 0, got -1"],
    [{ update: { maxParallel: 0 } }, "group 'g': update max_parallel must be a whole number of at least 1, got 0"],
    [{ update: { minHealthyTime: Duration.seconds(30), healthyDeadline: Duration.seconds(20) } }, "group 'g': update min_healthy_time 30s must be shorter than healthy_deadline 20s"],
    [{ update: { healthyDeadline: Duration.minutes(15) } }, "group 'g': update progress_deadline 10m must be longer than healthy_deadline 15m"],
    [{ update: { canary: -1 } }, "group 'g': update canary must be a whole number of at least 0, got -1"],
    [{ update: { canary: 1 } }, "group 'g': update canary 1 needs auto_promote: without it the deployment waits for 'nomad deployment promote'"],
    [{ update: { autoRevert: true, healthCheck: 'manual' as const } }, "group 'g': update auto_revert needs a health check Nomad runs ('checks' or 'task_states'), not 'manual'"],
    [{ ports: [{ label: 'http' }, { label: 'http' }] }, "group 'g': port label 'http' is defined twice"],
    [{ ports: [{ label: 'http', static: 70000 }] }, "group 'g': port 'http' static must be a whole number of at least 1 and at most 65535, got 70000"],
    // Nomad 1.6.3 TaskGroup.validateNetworks: "Static port 8080 already reserved by taskgroup network:http".
    [{ ports: [{ label: 'http', static: 8080 }, { label: 'admin', static: 8080 }] }, "group 'g': static port 8080 is reserved twice ('http' and 'admin')"],
    // UpdateStrategy.Validate compares with Nomad's own default min_healthy_time (10s):
    // "Minimum healthy time must be less than healthy deadline: 10s > 5s".
    [{ update: { healthyDeadline: Duration.seconds(5), progressDeadline: Duration.seconds(20) } }, "group 'g': update min_healthy_time 10s (Nomad's default) must be shorter than healthy_deadline 5s"],
    // And "Healthy deadline must be greater than zero" is the same rule at 0s.
    [{ update: { healthyDeadline: Duration.seconds(0) } }, "group 'g': update min_healthy_time 10s (Nomad's default) must be shorter than healthy_deadline 0s"],
    // UpdateStrategy.Validate: "Auto Promote requires a Canary count greater than zero".
    [{ update: { autoPromote: true } }, "group 'g': update auto_promote needs canaries (a canary count greater than zero)"],
  ])('refuses %j: %s', (props, message) => {
    const { job } = newJob();
    expect(() => new TaskGroup(job, 'g', { name: 'g', ...props })).toThrow(message);
  });
});

describe('NomadJob', () => {
  it('registers as JSON through nomad_job.<job ID>, with Nomad interpolations escaped for Terraform', () => {
    const { stack, job } = newJob({ jobId: 'rails' });
    const group = new TaskGroup(job, 'g', { name: 'g', constraints: [Constraint.notOnNode('n1')] });
    new DockerTask(group, 't', task());
    const resource = JSON.parse(Testing.synth(stack, true)).resource.nomad_job.rails;
    expect(resource.json).toBe(true);
    expect(resource.jobspec).toContain('"LTarget":"$${node.unique.name}"');
    expect(resource.jobspec).not.toMatch(/[^$]\$\{node/);
  });

  it('a group added after the job was built, and a task added to it later still, are in the synthesized jobspec', () => {
    const { stack, job } = newJob();
    new DockerTask(new TaskGroup(job, 'early', { name: 'early' }), 't', task());
    const late = new TaskGroup(job, 'late', { name: 'late' });
    new DockerTask(late, 'a', task({ name: 'a' }));
    new DockerTask(late, 'b', task({ name: 'b' }));
    const jobspec = JSON.parse(JSON.parse(Testing.synth(stack)).resource.nomad_job.app.jobspec);
    expect(jobspec.Job.TaskGroups.map((g: { Name: string; Tasks: { Name: string }[] }) => [g.Name, g.Tasks.map((t) => t.Name)])).toEqual([
      ['early', ['app']],
      ['late', ['a', 'b']],
    ]);
  });

  it('waitForDeployment makes the apply wait for the deployment (detach = false), for that long', () => {
    const { stack, job } = newJob({ waitForDeployment: Duration.minutes(20) });
    new DockerTask(new TaskGroup(job, 'g', { name: 'g' }), 't', task());
    const resource = JSON.parse(Testing.synth(stack)).resource.nomad_job.app;
    expect([resource.detach, resource.timeouts]).toEqual([false, { create: '20m', update: '20m' }]);
    const detached = newJob();
    new DockerTask(new TaskGroup(detached.job, 'g', { name: 'g' }), 't', task());
    expect(JSON.parse(Testing.synth(detached.stack)).resource.nomad_job.app.detach).toBeUndefined();
  });

  it.each([
    [Duration.minutes(10), {}, "job 'app': waiting 10m for a deployment is not longer than group 'g''s progress deadline 10m: Terraform would give up before Nomad decides"],
    [Duration.minutes(3), { progressDeadline: Duration.minutes(4), healthyDeadline: Duration.minutes(2) }, "job 'app': waiting 3m for a deployment is not longer than group 'g''s progress deadline 4m"],
    [Duration.minutes(30), { progressDeadline: Duration.seconds(0), healthyDeadline: Duration.minutes(2) }, "job 'app': waiting 30m for a deployment is not longer than group 'g''s progress deadline 0s (none)"],
  ])('refuses waiting %s for a group whose progress deadline is %j', (wait, update, message) => {
    const { stack, job } = newJob({ waitForDeployment: wait });
    new DockerTask(new TaskGroup(job, 'g', { name: 'g', update: { ...update, healthCheck: 'task_states' } }), 't', task());
    expect(validationErrors(stack).join('\n')).toContain(message);
  });

  it('preventDestroy sets the Terraform lifecycle guard', () => {
    const { stack, job } = newJob({ preventDestroy: true });
    new DockerTask(new TaskGroup(job, 'g', { name: 'g' }), 't', task());
    expect(JSON.parse(Testing.synth(stack)).resource.nomad_job.app.lifecycle).toEqual({ prevent_destroy: true });
  });

  it('reports a job with no group, duplicate group names and a service registered twice', () => {
    const empty = newJob();
    expect(validationErrors(empty.stack)).toEqual(["job 'app' has no task group"]);

    const { stack, job } = newJob();
    for (const id of ['a', 'b']) {
      const g = new TaskGroup(job, id, { name: 'workers', services: [new ConnectService({ name: 'svc' })] });
      new DockerTask(g, 't', task());
    }
    expect(validationErrors(stack)).toEqual([
      "job 'app': group name 'workers' is used twice",
      "job 'app': service name 'svc' is registered by two groups (Consul would merge them)",
    ]);
  });

  it('reports an update strategy in a batch job (Nomad 1.6.3 TaskGroup.Validate: "Job type \\"batch\\" does not allow update block")', () => {
    const { stack } = newJob();
    const job = new NomadJob(stack, 'once', { jobId: 'once', datacenters: ['dc1'], type: 'batch' });
    new DockerTask(new TaskGroup(job, 'g', { name: 'g', update: { healthCheck: 'task_states' } }), 't', task());
    expect(validationErrors(stack)).toContain("job 'once': group 'g' has an update strategy, which a batch job cannot have (it has no deployments)");
  });

  it('fails synth, naming the construct path and the rule', () => {
    const { stack, job } = newJob();
    new DockerTask(new TaskGroup(job, 'web', { name: 'web' }), 't', task({ ports: ['http'] }));
    expect(() => Testing.synth(stack, true)).toThrow(/\[test\/job\/web\] group 'web': task 'app' publishes port label 'http'/);
  });

  it.each([
    [{ jobId: 'my job' }, "job ID 'my job' must start with a letter or digit"],
    [{ datacenters: [] }, "job 'app': datacenters must name at least one datacenter"],
  ])('refuses %j', (props, message) => {
    expect(() => newJob(props)).toThrow(message);
  });
});
