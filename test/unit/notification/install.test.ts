// What `trellis install` ships for notifications: the three CRDs, the webhook
// server on in the source controller, a Service that routes webhooks to the
// leader, the port open in the NetworkPolicy, and only the rights they need.
import test from 'ava';
import { renderInstall } from '../../../cli/install/render.ts';

type Obj = { kind: string; metadata: { name: string } } & Record<string, unknown>;

test('the installation carries the notification CRDs, the webhook Service and port, and narrow rights', (t) => {
  const objects = renderInstall().objects as unknown as Obj[];
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
  for (const name of ['receivers.notification.trellis.dev', 'providers.notification.trellis.dev', 'alerts.notification.trellis.dev']) t.true(crds.includes(name), name);

  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'source-controller') as unknown as
    { spec: { template: { spec: { containers: { args: string[]; ports: { name: string; containerPort: number }[] }[] } } } };
  const container = deployment.spec.template.spec.containers[0]!;
  t.true(container.args.includes('--receiver-addr=:9292'));
  t.true(container.ports.some((p) => p.name === 'webhooks' && p.containerPort === 9292));

  const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'webhook-receiver') as unknown as
    { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] } };
  t.is(service.spec.selector['source.trellis.dev/artifact-server'], 'leader', 'webhooks go to the leader, which holds the Receivers');
  t.like(service.spec.ports[0], { port: 80, targetPort: 'webhooks' });

  const policy = objects.find((o) => o.kind === 'NetworkPolicy') as unknown as { spec: { ingress: { from?: unknown[]; ports: { port: number }[] }[] } };
  t.true(policy.spec.ingress.some((rule) => rule.from === undefined && rule.ports.some((p) => p.port === 9292)), 'senders outside the cluster may reach 9292');

  const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'trellis-source-controller') as unknown as
    { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
  const verbsOn = (group: string, resource: string): string[] => role.rules
    .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs).sort();
  t.deepEqual(verbsOn('notification.trellis.dev', 'receivers'), ['get', 'list', 'watch']);
  t.deepEqual(verbsOn('notification.trellis.dev', 'providers/status'), ['get', 'patch', 'update']);
  t.deepEqual(verbsOn('events.k8s.io', 'events'), ['create', 'list', 'patch', 'watch']);
  t.deepEqual(verbsOn('apply.trellis.dev', 'packages'), ['get'], 'Packages are only read (for the revision an alert names)');
  t.deepEqual(verbsOn('', 'secrets'), ['get'], 'Secrets by name only, never listed');
});
