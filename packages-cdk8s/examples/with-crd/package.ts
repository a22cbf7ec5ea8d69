/**
 * Example package `with-crd`: a CustomResourceDefinition (Widget) in the first
 * phase and two Widgets in the second, so the Widgets are applied only once the
 * apiserver serves their kind. Values: `size` (integer, in the large Widget) and
 * `color` (one of a list, in both).
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { definePackage, value } from '../../kit/index.ts';

const GROUP = 'examples.trellis.dev';

export default definePackage({
  name: 'with-crd',
  version: '1.0.0',
  description: 'A Widget CustomResourceDefinition and two Widgets, in two phases',
  values: {
    size: value.integer({ default: 10, minimum: 1, maximum: 100, description: 'Size of the large widget' }),
    color: value.enum(['red', 'green', 'blue'], { default: 'green', description: 'Color of every widget' }),
  },
  build(app, values) {
    const crds = app.phase('crds');
    const widgets = app.phase('widgets', { after: [crds] });

    new k8s.KubeCustomResourceDefinition(crds, 'widget-crd', {
      metadata: { name: `widgets.${GROUP}` },
      spec: {
        group: GROUP,
        scope: 'Namespaced',
        names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
        versions: [{
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openApiv3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['size', 'color'],
                  properties: {
                    size: { type: 'integer', minimum: 1 },
                    color: { type: 'string', enum: ['red', 'green', 'blue'] },
                  },
                },
              },
            },
          },
        }],
      },
    });

    const widget = (name: string, size: number): void => {
      new ApiObject(widgets, name, {
        apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name }, spec: { size, color: values.color },
      });
    };
    widget('small', 1);
    widget('large', values.size);
  },
});
