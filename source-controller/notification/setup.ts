/**
 * The notification module inside the source-controller process: the Receiver
 * controller and its webhook server, and the alert dispatcher with its
 * controllers. main.ts calls {@link setUpNotifications} once; the controllers
 * run on the leader only (they are added to the Manager), while the webhook
 * server listens on every replica and answers 404 on a standby (its table is
 * empty): the shipped Service routes webhooks to the leader.
 */
import type { Manager } from '../../runtime/manager.ts';
import type { HostPolicy } from '../net/host-policy.ts';
import { alertDispatcher, type DeliverySettings } from './alerts/dispatcher.ts';
import { receiverController } from './receiver/controller.ts';
import { ReceiverTable } from './receiver/index-table.ts';
import { startReceiverServer, type ReceiverServer } from './receiver/server.ts';

/** Settings of the notification module, from the source controller's flags. */
export interface NotificationSettings {
  /** Listen address of the webhook server; empty for none (Receivers are then not reconciled). */
  readonly receiverAddr: string;
  readonly receiverMaxBodyBytes: number;
  /** Run the alert dispatcher (Alerts and Providers). */
  readonly alerts: boolean;
  readonly watchNamespace?: string | undefined;
  /** The policy provider addresses must pass (the source-host policy). */
  readonly hostPolicy: HostPolicy;
  readonly delivery?: Partial<DeliverySettings> | undefined;
}

/** What {@link setUpNotifications} started; `close` stops the server. */
export interface Notifications {
  readonly receiverUrl: string | undefined;
  close(): Promise<void>;
}

/** Adds the notification controllers to `manager` and starts the webhook server. */
export async function setUpNotifications(manager: Manager, settings: NotificationSettings): Promise<Notifications> {
  const common = { client: manager.client, namespace: settings.watchNamespace, logger: manager.logger, metrics: manager.metrics };
  let server: ReceiverServer | undefined;
  if (settings.receiverAddr !== '') {
    const table = new ReceiverTable();
    manager.add(receiverController({ ...common, table }));
    server = await startReceiverServer({
      listen: settings.receiverAddr, table, client: manager.client, logger: manager.logger, events: manager.events,
      registry: manager.metrics.registry, maxBodyBytes: settings.receiverMaxBodyBytes,
    });
    manager.logger.info({ url: server.url }, 'serving webhook receivers');
  }
  if (settings.alerts) {
    manager.add(alertDispatcher({ ...common, events: manager.events, registry: manager.metrics.registry, hostPolicy: settings.hostPolicy, delivery: settings.delivery }));
  }
  return {
    receiverUrl: server?.url,
    close: async () => { await server?.close(); },
  };
}
