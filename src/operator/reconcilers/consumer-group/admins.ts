/**
 * One Kafka admin client per Cluster, kept while its metadata controller is open on this replica
 * (it leads): the admin reads brokers and leaders from that controller's image. A controller that
 * closes and opens again (a new term) gets a new client; a Cluster whose controller is not open
 * has none.
 */
import type { Clock } from '../../../common/clock.ts';
import type { MetadataImage } from '../../../controller/image.ts';
import { KafkaAdmin } from '../../kafka/admin.ts';

/** What the admins need of MetadataHost (src/operator/metadata/host.ts). */
export interface MetadataAccess {
  service(clusterKey: string): { image(): MetadataImage } | undefined;
}

export interface ClusterConnection {
  readonly admin: KafkaAdmin;
  readonly image: () => MetadataImage;
}

export class ClusterAdmins {
  readonly #metadata: MetadataAccess;
  readonly #clock: Clock;
  readonly #open = new Map<string, { service: object; connection: ClusterConnection }>();

  constructor(metadata: MetadataAccess, clock: Clock) {
    this.#metadata = metadata;
    this.#clock = clock;
  }

  /** The Cluster's admin client, or undefined while its metadata controller is not open here. */
  get(clusterKey: string): ClusterConnection | undefined {
    const service = this.#metadata.service(clusterKey);
    const open = this.#open.get(clusterKey);
    if (open && open.service === service) return open.connection;
    if (open) this.close(clusterKey);
    if (!service) return undefined;
    const image = () => service.image();
    const connection = {
      admin: new KafkaAdmin({ image, clock: this.#clock, clientId: 'tributary-operator' }),
      image,
    };
    this.#open.set(clusterKey, { service, connection });
    return connection;
  }

  close(clusterKey: string): void {
    this.#open.get(clusterKey)?.connection.admin.close();
    this.#open.delete(clusterKey);
  }

  closeAll(): void {
    for (const key of [...this.#open.keys()]) this.close(key);
  }
}
