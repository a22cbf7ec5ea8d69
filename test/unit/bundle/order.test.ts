// orderStages: phases in declared order, unphased objects last, CRDs and
// Namespaces first in their phase, then a fixed kind order, then bundle order.
import test from 'ava';
import type { BundleObject } from '../../../apply-controller/bundle/object.ts';
import { objectId } from '../../../apply-controller/bundle/object-id.ts';
import { orderStages, type Stage } from '../../../apply-controller/bundle/order.ts';

function obj(apiVersion: string, kind: string, name: string, phase?: string): BundleObject {
  const object = {
    apiVersion, kind,
    metadata: { name, ...(phase === undefined ? {} : { annotations: { 'apply.trellis.dev/phase': phase } }) },
  };
  return { id: objectId(object), object, source: { file: 'x.yaml', document: 0 } };
}

/** `phase[+defs]: Kind/name ...` per stage. */
function show(stages: readonly Stage[]): string[] {
  return stages.map((s) => `${s.phase}${s.definitions ? '+defs' : ''}: ${s.objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`).join(' ')}`);
}

test('a plain folder: Namespaces and CRDs form the first stage, the rest follows in kind order, then bundle order', (t) => {
  const objects = [
    obj('example.com/v1', 'Widget', 'w'),
    obj('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'hook'),
    obj('apps/v1', 'Deployment', 'b-second'),
    obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
    obj('v1', 'Service', 'web'),
    obj('apps/v1', 'Deployment', 'a-first'),
    obj('v1', 'ConfigMap', 'cfg'),
    obj('batch/v1', 'Job', 'migrate'),
    obj('v1', 'Namespace', 'shop'),
    obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb'),
    obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'cr'),
    obj('v1', 'Secret', 'sec'),
    obj('v1', 'ServiceAccount', 'sa'),
    obj('networking.k8s.io/v1', 'Ingress', 'ing'),
    obj('apps/v1', 'StatefulSet', 'db'),
    obj('v1', 'PersistentVolumeClaim', 'data'),
  ];
  t.deepEqual(show(orderStages(objects)), [
    'default+defs: Namespace/shop CustomResourceDefinition/widgets.example.com',
    'default: ServiceAccount/sa Secret/sec ConfigMap/cfg PersistentVolumeClaim/data ClusterRole/cr RoleBinding/rb Service/web '
      + 'Deployment/b-second Deployment/a-first StatefulSet/db Job/migrate Ingress/ing Widget/w ValidatingWebhookConfiguration/hook',
  ]);
});

test('declared phases run in order; objects without a phase go last; every phase puts its CRDs and Namespaces first', (t) => {
  const objects = [
    obj('v1', 'ServiceAccount', 'unphased'),
    obj('example.com/v1', 'Widget', 'w', 'apps'),
    obj('apps/v1', 'Deployment', 'web', 'apps'),
    obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com', 'crds'),
    obj('v1', 'ConfigMap', 'cfg', 'config'),
    obj('v1', 'Namespace', 'late-ns', 'apps'),
  ];
  t.deepEqual(show(orderStages(objects, ['crds', 'config', 'apps'])), [
    'crds+defs: CustomResourceDefinition/widgets.example.com',
    'config: ConfigMap/cfg',
    'apps+defs: Namespace/late-ns',
    'apps: Deployment/web Widget/w',
    'default: ServiceAccount/unphased',
  ]);
});

test('declaring the phase "default" places the unphased objects there instead of last', (t) => {
  const objects = [obj('v1', 'ConfigMap', 'unphased'), obj('v1', 'ConfigMap', 'late', 'post'), obj('v1', 'ConfigMap', 'early', 'pre')];
  t.deepEqual(show(orderStages(objects, ['pre', 'default', 'post'])), [
    'pre: ConfigMap/early', 'default: ConfigMap/unphased', 'post: ConfigMap/late',
  ]);
});

test('phases and stages without objects are left out', (t) => {
  const stages = orderStages([obj('v1', 'ConfigMap', 'only', 'b')], ['a', 'b', 'c']);
  t.deepEqual(show(stages), ['b: ConfigMap/only']);
  t.deepEqual(orderStages([], ['a']), []);
});

test('kinds are told apart by group: a custom "Service" is not ranked as the core Service', (t) => {
  const objects = [
    obj('serving.knative.dev/v1', 'Service', 'knative'),
    obj('v1', 'ConfigMap', 'cfg'),
    obj('v1', 'Service', 'core'),
  ];
  t.deepEqual(show(orderStages(objects)), ['default: ConfigMap/cfg Service/core Service/knative']);
});
