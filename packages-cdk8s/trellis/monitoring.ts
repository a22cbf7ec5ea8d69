/**
 * The monitoring part of Trellis's installation, off unless the package is
 * built with it (`trellisPackage({ monitoring })`, which `trellis install` and
 * `trellis bootstrap` do for `--monitoring`): the Grafana dashboard as a ConfigMap the Grafana
 * sidecar loads (label `grafana_dashboard: "1"`), and the alert rules as a
 * PrometheusRule, which needs prometheus-operator's CRD in the cluster. The
 * dashboard is docs/monitoring/grafana-dashboard.json itself; the rules are
 * docs/monitoring/prometheus-rule.yaml's `spec` (a unit test keeps the two equal).
 */
import { ApiObject, type Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import dashboard from '../../docs/monitoring/grafana-dashboard.json' with { type: 'json' };
import rules from './prometheus-rules.json' with { type: 'json' };

/** Which monitoring objects to install. */
export interface MonitoringOptions {
  readonly grafanaDashboard: boolean;
  readonly prometheusRule: boolean;
}

/** The name of the dashboard ConfigMap and of the PrometheusRule. */
export const MONITORING_NAME = 'trellis-monitoring';

/** Adds the monitoring objects the options ask for to `scope`. */
export function monitoringObjects(scope: Chart, namespace: string, labels: Record<string, string>, options: MonitoringOptions): void {
  if (options.grafanaDashboard) {
    new k8s.KubeConfigMap(scope, 'grafana-dashboard', {
      metadata: { name: `${MONITORING_NAME}-dashboard`, namespace, labels: { ...labels, grafana_dashboard: '1' } },
      data: { 'trellis.json': `${JSON.stringify(dashboard, null, 2)}\n` },
    });
  }
  if (options.prometheusRule) {
    new ApiObject(scope, 'prometheus-rule', {
      apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule',
      metadata: { name: MONITORING_NAME, namespace, labels },
      spec: rules,
    });
  }
}
