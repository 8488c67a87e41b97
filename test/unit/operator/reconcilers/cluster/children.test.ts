import { describe, expect, it } from '@jest/globals';
import type { Container, EnvVar } from 'kubernetes-types/core/v1.js';
import { loadBrokerConfig } from '../../../../../src/broker/config.ts';
import { parsePropertiesText } from '../../../../../src/common/properties.ts';
import {
  BROKER_PATHS,
  CONFIG_FILE_KEY,
  CONFIG_HASH_ANNOTATION,
  desiredChildren,
  withAdminToken,
} from '../../../../../src/operator/reconcilers/cluster/children.ts';
import { childLabels, selectorLabels } from '../../../../../src/operator/reconcilers/cluster/names.ts';
import { options, storedCluster, UID } from './fixtures.ts';

const brokerOf = (c: ReturnType<typeof desiredChildren>): Container =>
  c.statefulSet.spec!.template.spec!.containers[0];

/**
 * What the kubelet makes of a container's env for a pod (the downward API's fieldRefs and `$(VAR)`
 * expansion), so the broker's own config loader can be run on it.
 */
function kubeletEnv(env: readonly EnvVar[], pod: { name: string; labels: Record<string, string> }) {
  const out: Record<string, string> = {};
  for (const e of env) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    if (path === 'metadata.name') out[e.name] = pod.name;
    else if (path === 'status.podIP') out[e.name] = POD_IP;
    else if (path !== undefined) {
      const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
      if (!label) throw new Error(`this stand-in does not resolve ${path}`);
      out[e.name] = pod.labels[label[1]] ?? '';
    } else {
      out[e.name] = (e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => out[v] ?? m);
    }
  }
  return out;
}

const POD_IP = '10.1.2.3';

/** The broker's configuration as `tributary broker` would load it in broker pod `ordinal`. */
function brokerConfigIn(
  children: ReturnType<typeof desiredChildren>,
  ordinal: number,
  labels: Record<string, string> = {},
) {
  const container = brokerOf(children);
  const args = container.args!;
  const flag = (name: string) => args[args.indexOf(name) + 1];
  expect(container.command).toEqual(['tributary']);
  expect(args[0]).toBe('broker');
  expect(flag('--config')).toBe(BROKER_PATHS.configFile);
  const env = kubeletEnv(container.env!, {
    name: `demo-broker-${ordinal}`,
    labels: { ...labels, 'apps.kubernetes.io/pod-index': String(ordinal) },
  });
  return loadBrokerConfig({
    file: parsePropertiesText(children.configMap.data![CONFIG_FILE_KEY]),
    env,
    flags: new Map([
      ['log.dirs', flag('--data-dir')],
      ['listeners', flag('--listen')],
      ['admin.listener', flag('--admin-listen')],
    ]),
  });
}

describe('cluster children > ownership and labels', () => {
  it('makes every child owned by the Cluster and labelled as the operator’s', () => {
    const children = desiredChildren(storedCluster(), options);
    expect(Object.keys(children).sort()).toEqual([
      'adminSecret',
      'bootstrapService',
      'configMap',
      'headlessService',
      'podDisruptionBudget',
      'statefulSet',
    ]);
    for (const child of Object.values(children)) {
      expect(child.metadata?.namespace).toBe('streams');
      expect(child.metadata?.ownerReferences).toEqual([
        {
          apiVersion: 'tributary.dev/v1alpha1',
          kind: 'Cluster',
          name: 'demo',
          uid: UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(child.metadata?.labels).toEqual(childLabels('demo'));
    }
  });

  it('names the children after the Cluster', () => {
    const c = desiredChildren(storedCluster(), options);
    expect({
      sts: c.statefulSet.metadata?.name,
      headless: c.headlessService.metadata?.name,
      bootstrap: c.bootstrapService.metadata?.name,
      cm: c.configMap.metadata?.name,
      secret: c.adminSecret.metadata?.name,
      pdb: c.podDisruptionBudget.metadata?.name,
    }).toEqual({
      sts: 'demo-broker',
      headless: 'demo-brokers',
      bootstrap: 'demo-bootstrap',
      cm: 'demo-broker-config',
      secret: 'demo-admin-token',
      pdb: 'demo-broker',
    });
  });
});

describe('cluster children > StatefulSet', () => {
  it('runs one broker per replica, in parallel, restarted only by the operator', () => {
    const spec = desiredChildren(storedCluster({ replicas: 5 }), options).statefulSet.spec!;
    expect(spec.replicas).toBe(5);
    expect(spec.podManagementPolicy).toBe('Parallel');
    expect(spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(spec.serviceName).toBe('demo-brokers');
    expect(spec.selector).toEqual({ matchLabels: selectorLabels('demo') });
    expect(spec.template.metadata?.labels).toMatchObject(selectorLabels('demo'));
  });

  it('gives each broker a volume of storage.size, kept or deleted with the Cluster as deleteClaim says', () => {
    const kept = desiredChildren(
      storedCluster({ storage: { size: '50Gi', storageClassName: 'fast' } }),
      options,
    );
    expect(kept.statefulSet.spec?.volumeClaimTemplates).toEqual([
      {
        metadata: { name: 'data', labels: childLabels('demo') },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '50Gi' } },
          storageClassName: 'fast',
        },
      },
    ]);
    expect(kept.statefulSet.spec?.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    const deleted = desiredChildren(storedCluster({ storage: { size: '1Gi', deleteClaim: true } }), options);
    expect(deleted.statefulSet.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted).toBe('Delete');
    expect(brokerOf(deleted).volumeMounts).toContainEqual({ name: 'data', mountPath: BROKER_PATHS.volume });
  });

  it('keeps the volume size of an existing StatefulSet, which the API server never lets change', () => {
    const existing = desiredChildren(storedCluster({ storage: { size: '10Gi' } }), options).statefulSet;
    const grown = desiredChildren(storedCluster({ storage: { size: '20Gi' } }), options, existing);
    expect(grown.statefulSet.spec?.volumeClaimTemplates?.[0].spec?.resources?.requests).toEqual({
      storage: '10Gi',
    });
  });

  it('probes readiness on /readyz and liveness on /healthz, on the admin port, after a long start-up allowance', () => {
    const broker = brokerOf(
      desiredChildren(storedCluster({ ports: { kafka: 19092, admin: 19644 } }), options),
    );
    expect(broker.ports).toEqual([
      { name: 'kafka', containerPort: 19092, protocol: 'TCP' },
      { name: 'admin', containerPort: 19644, protocol: 'TCP' },
    ]);
    expect(broker.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(broker.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(broker.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(
      broker.startupProbe!.periodSeconds! * broker.startupProbe!.failureThreshold!,
    ).toBeGreaterThanOrEqual(600);
  });

  it('uses the Cluster’s image, or the operator’s when it names none', () => {
    expect(brokerOf(desiredChildren(storedCluster(), options)).image).toBe(options.image);
    const own = desiredChildren(storedCluster({ image: 'mine:2', imagePullPolicy: 'Always' }), options);
    expect(brokerOf(own)).toMatchObject({ image: 'mine:2', imagePullPolicy: 'Always' });
  });

  it('passes resources through, quantities as strings', () => {
    const broker = brokerOf(
      desiredChildren(
        storedCluster({ resources: { requests: { cpu: 2, memory: '4Gi' }, limits: { memory: '8Gi' } } }),
        options,
      ),
    );
    expect(broker.resources).toEqual({ requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '8Gi' } });
  });

  it('changes the pod template’s config hash when, and only when, the config changes', () => {
    const hash = (config: Record<string, string>) =>
      desiredChildren(storedCluster({ config }), options).statefulSet.spec?.template.metadata?.annotations?.[
        CONFIG_HASH_ANNOTATION
      ];
    expect(hash({ 'num.partitions': '3' })).toBe(hash({ 'num.partitions': '3' }));
    expect(hash({ 'num.partitions': '3' })).not.toBe(hash({ 'num.partitions': '4' }));
  });

  it('announces metrics to Prometheus unless they are turned off', () => {
    const annotations = (enabled: boolean) =>
      desiredChildren(storedCluster({ metrics: { enabled } }), options).statefulSet.spec?.template.metadata
        ?.annotations;
    expect(annotations(true)).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9644' });
    expect(annotations(false)?.['prometheus.io/scrape']).toBeUndefined();
  });
});

describe('cluster children > pod template overrides', () => {
  it('adds the template’s labels, annotations, tolerations, node selector, priority class and pull secrets', () => {
    const pod = desiredChildren(
      storedCluster({
        template: {
          pod: {
            metadata: {
              labels: { team: 'data', 'app.kubernetes.io/component': 'not-a-broker' },
              annotations: { note: 'x' },
            },
            tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'kafka', effect: 'NoSchedule' }],
            nodeSelector: { disk: 'ssd' },
            priorityClassName: 'streaming',
            imagePullSecrets: [{ name: 'registry' }],
          },
        },
      }),
      options,
    ).statefulSet.spec!.template;
    // The selector's labels win: a template label cannot take a pod out of its StatefulSet.
    expect(pod.metadata?.labels).toEqual({ team: 'data', ...childLabels('demo') });
    expect(pod.metadata?.annotations?.note).toBe('x');
    expect(pod.spec).toMatchObject({
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'kafka', effect: 'NoSchedule' }],
      nodeSelector: { disk: 'ssd' },
      priorityClassName: 'streaming',
      imagePullSecrets: [{ name: 'registry' }],
    });
  });

  it('spreads the brokers across nodes and zones, and a given affinity replaces the spreading across nodes', () => {
    const keys = (spec: Parameters<typeof storedCluster>[0]) =>
      desiredChildren(
        storedCluster(spec),
        options,
      ).statefulSet.spec!.template.spec!.topologySpreadConstraints!.map((t) => [
        t.topologyKey,
        t.whenUnsatisfiable,
        t.labelSelector,
      ]);
    const selector = { matchLabels: selectorLabels('demo') };
    expect(keys({})).toEqual([
      ['kubernetes.io/hostname', 'ScheduleAnyway', selector],
      ['topology.kubernetes.io/zone', 'ScheduleAnyway', selector],
    ]);
    expect(keys({ rack: { topologyKey: 'example.com/rack' } })).toEqual([
      ['kubernetes.io/hostname', 'ScheduleAnyway', selector],
      ['example.com/rack', 'ScheduleAnyway', selector],
    ]);
    const affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } };
    expect(keys({ template: { pod: { affinity } } })).toEqual([
      ['topology.kubernetes.io/zone', 'ScheduleAnyway', selector],
    ]);
  });

  it('runs as a non-root user by default, and as the template’s security context when given', () => {
    const pod = (securityContext?: object) =>
      desiredChildren(
        storedCluster(securityContext ? { template: { pod: { securityContext } } } : {}),
        options,
      ).statefulSet.spec!.template.spec!;
    expect(pod().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    expect(pod({ runAsUser: 4242 }).securityContext).toEqual({ runAsUser: 4242 });
    // Brokers never call the API; Service links would read as TRIBUTARY_* properties.
    expect(pod()).toMatchObject({ automountServiceAccountToken: false, enableServiceLinks: false });
  });
});

describe('cluster children > the broker’s identity from its pod', () => {
  it('gives broker N node id N, its per-pod DNS name as advertised address, and the pod’s zone as rack', () => {
    const children = desiredChildren(storedCluster({ config: { 'num.partitions': '6' } }), options);
    const { config, warnings } = brokerConfigIn(children, 2, { 'topology.kubernetes.io/zone': 'eu-west-1b' });
    expect(warnings).toEqual([]);
    expect(config.nodeId).toBe(2);
    expect(config.advertised).toEqual({
      host: 'demo-broker-2.demo-brokers.streams.svc.cluster.local',
      port: 9092,
    });
    expect(config.listener).toEqual({ host: '0.0.0.0', port: 9092 });
    expect(config.adminListener).toEqual({ host: '0.0.0.0', port: 9644 });
    expect(config.rack).toBe('eu-west-1b');
    expect(config.dataDir).toBe(BROKER_PATHS.dataDir);
    expect(config.numPartitions).toBe(6);
  });

  it('leaves the rack unset when the pod carries no zone label (Kubernetes before 1.35)', () => {
    expect(brokerConfigIn(desiredChildren(storedCluster(), options), 0).config.rack).toBeNull();
  });

  it('reads a region as the rack when the topology key is the region', () => {
    const children = desiredChildren(
      storedCluster({ rack: { topologyKey: 'topology.kubernetes.io/region' } }),
      options,
    );
    const { config } = brokerConfigIn(children, 1, { 'topology.kubernetes.io/region': 'eu-west-1' });
    expect(config.rack).toBe('eu-west-1');
  });

  it('passes no rack for a topology key Kubernetes does not copy onto pods', () => {
    const children = desiredChildren(storedCluster({ rack: { topologyKey: 'example.com/rack' } }), options);
    expect(brokerOf(children).env?.map((e) => e.name)).not.toContain('TRIBUTARY_BROKER_RACK');
  });

  it('advertises the Cluster’s Kafka port in the configured cluster domain', () => {
    const children = desiredChildren(storedCluster({ ports: { kafka: 19092, admin: 19644 } }), {
      ...options,
      clusterDomain: 'corp.example',
    });
    const { config } = brokerConfigIn(children, 0);
    expect(config.advertised).toEqual({
      host: 'demo-broker-0.demo-brokers.streams.svc.corp.example',
      port: 19092,
    });
    expect(config.listener.port).toBe(19092);
    expect(config.adminListener.port).toBe(19644);
  });

  it('advertises the pod IP when asked to (clusters without DNS for pods)', () => {
    const children = desiredChildren(storedCluster(), { ...options, advertise: 'pod-ip' });
    expect(brokerConfigIn(children, 1).config.advertised).toEqual({ host: POD_IP, port: 9092 });
  });

  it('points the broker at the operator’s controller, with the admin token as its credential', () => {
    expect(brokerConfigIn(desiredChildren(storedCluster(), options), 0).config.controllerAddress).toBeNull();
    const children = desiredChildren(storedCluster(), {
      ...options,
      controllerAddress: 'tributary-operator-controller.tributary-system.svc:9643',
    });
    const { config } = brokerConfigIn(children, 0);
    expect(config.controllerAddress).toEqual([
      { host: 'tributary-operator-controller.tributary-system.svc', port: 9643 },
    ]);
    expect(config.controllerTokenFile).toBe(`${BROKER_PATHS.adminDir}/token`);
  });

  it('mounts the config and the admin token read-only', () => {
    const broker = brokerOf(desiredChildren(storedCluster(), options));
    expect(broker.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'config', mountPath: BROKER_PATHS.configDir, readOnly: true },
        { name: 'admin-token', mountPath: BROKER_PATHS.adminDir, readOnly: true },
      ]),
    );
  });
});

describe('cluster children > Services, budget and Secret', () => {
  it('makes a headless Service that publishes brokers before they are ready, and a bootstrap Service', () => {
    const c = desiredChildren(storedCluster(), options);
    expect(c.headlessService.spec).toEqual({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels('demo'),
      ports: [
        { name: 'kafka', port: 9092, targetPort: 'kafka', protocol: 'TCP' },
        { name: 'admin', port: 9644, targetPort: 'admin', protocol: 'TCP' },
      ],
    });
    expect(c.bootstrapService.spec).toEqual({
      type: 'ClusterIP',
      selector: selectorLabels('demo'),
      ports: [{ name: 'kafka', port: 9092, targetPort: 'kafka', protocol: 'TCP' }],
    });
  });

  it('lets at most one broker be disrupted at a time', () => {
    expect(desiredChildren(storedCluster(), options).podDisruptionBudget.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels('demo') },
    });
  });

  it('states no token in the applied Secret: the token is only written when the Secret is created', () => {
    const secret = desiredChildren(storedCluster(), options).adminSecret;
    expect(secret).not.toHaveProperty('data');
    expect(withAdminToken(secret, 'abc').data).toEqual({ token: Buffer.from('abc').toString('base64') });
  });

  it('writes spec.config as the brokers’ server.properties', () => {
    const cm = desiredChildren(
      storedCluster({ config: { 'log.retention.hours': '72', 'num.partitions': '6' } }),
      options,
    ).configMap;
    expect([...parsePropertiesText(cm.data![CONFIG_FILE_KEY])]).toEqual([
      ['log.retention.hours', '72'],
      ['num.partitions', '6'],
    ]);
  });
});
