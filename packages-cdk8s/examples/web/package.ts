/**
 * Example package `web`: an nginx Deployment serving one page from a ConfigMap,
 * behind a Service. Values: `replicas` (integer), `image` (string), `message`
 * (string, inside the HTML page), `ingress` (an Ingress when `enabled`, for
 * `host`), and `extraConfigs` (a map: each entry becomes one ConfigMap with that
 * data, mounted under /etc/web/<name>).
 *
 * Build it with `trellis build packages-cdk8s/examples/web -o web.tgz`: the
 * program runs at install time, so it decides with the installed values.
 */
import { k8s } from 'cdk8s-plus-33';
import { definePackage, item, value } from '../../kit/index.ts';

const labels = { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'trellis-examples' };

export default definePackage({
  name: 'web',
  version: '1.0.0',
  description: 'A web server: an nginx Deployment serving a page from a ConfigMap, behind a Service',
  values: {
    replicas: value.integer({ default: 2, minimum: 0, maximum: 20, description: 'Number of web server Pods' }),
    image: value.string({ default: 'nginx:1.25.3', minLength: 1, description: 'Container image of the web server' }),
    message: value.string({ default: 'Hello from Trellis', maxLength: 200, description: 'The text of the page' }),
    ingress: value.object({
      enabled: value.boolean({ default: false, description: 'Route HTTP traffic for host to the Service with an Ingress' }),
      host: value.string({ default: 'web.example.com', format: 'hostname', description: 'The host name the Ingress answers' }),
    }, { description: 'An Ingress in front of the Service' }),
    extraConfigs: value.map(item.map(item.string()), {
      default: {}, keyPattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxProperties: 20,
      description: 'Extra configuration: each entry (name -> files) becomes the ConfigMap web-<name>, mounted at /etc/web/<name>',
    }),
  },
  build(app, values) {
    const config = app.phase('config');
    const apps = app.phase('apps', { after: [config] });

    new k8s.KubeConfigMap(config, 'content', {
      metadata: { name: 'web-content', labels },
      data: { 'index.html': `<!doctype html>\n<h1>${values.message}</h1>\n` },
    });

    const extras = Object.entries(values.extraConfigs);
    for (const [name, data] of extras) {
      new k8s.KubeConfigMap(config, `extra-${name}`, { metadata: { name: `web-${name}`, labels }, data: { ...data } });
    }

    new k8s.KubeDeployment(apps, 'web', {
      metadata: { name: 'web', labels },
      spec: {
        replicas: values.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: 'web',
              image: values.image,
              ports: [{ name: 'http', containerPort: 80 }],
              readinessProbe: { httpGet: { path: '/', port: k8s.IntOrString.fromString('http') }, periodSeconds: 5 },
              resources: { requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('32Mi') } },
              volumeMounts: [
                { name: 'content', mountPath: '/usr/share/nginx/html', readOnly: true },
                ...extras.map(([name]) => ({ name: `extra-${name}`, mountPath: `/etc/web/${name}`, readOnly: true })),
              ],
            }],
            volumes: [
              { name: 'content', configMap: { name: 'web-content' } },
              ...extras.map(([name]) => ({ name: `extra-${name}`, configMap: { name: `web-${name}` } })),
            ],
          },
        },
      },
    });

    new k8s.KubeService(apps, 'service', {
      metadata: { name: 'web', labels },
      spec: {
        selector: labels,
        ports: [{ name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http') }],
      },
    });

    if (values.ingress.enabled) {
      new k8s.KubeIngress(apps, 'ingress', {
        metadata: { name: 'web', labels },
        spec: {
          rules: [{
            host: values.ingress.host,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }] },
          }],
        },
      });
    }
  },
});
