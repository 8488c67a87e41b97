/**
 * The generated CRDs (crds/*.yaml) on a real kube-apiserver: they are accepted and Established,
 * store every field, default as the validator does, judge the shared cases exactly as the validator
 * does (CEL rules and their TypeScript twins agree), keep status behind its subresource, and show
 * their printer columns, short names and category in kubectl.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ClusterResource,
  ConsumerGroupResource,
  GROUP,
  RESOURCES,
  TopicResource,
  VERSION,
  withDefaults,
  type ResourceDefinition,
} from '../../src/operator/api/index.ts';
import { crdFileName } from '../../hack/gen-crds.ts';
import { CASES } from '../unit/operator/api/cases.ts';
import {
  FULL_STATUS,
  fullCluster,
  fullConsumerGroup,
  fullTopic,
  minimalCluster,
  minimalConsumerGroup,
  minimalTopic,
} from '../unit/operator/api/fixtures.ts';
import { parseYaml } from '../unit/operator/api/parse-yaml.ts';
import type { KubeResponse } from './harness.ts';
import { REPO, installCrds, kubectl as kubectlOn } from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

const NAMESPACE = 'default';

const plane = useControlPlane({}, { setup: installCrds });

const kubectl = (args: string[], input?: string): string => kubectlOn(plane(), args, input);

/** kubectl's stderr when it fails (and fails the test when it does not). */
function kubectlFails(args: string[], input?: string): string {
  try {
    kubectl(args, input);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded`);
}

function crdName(r: ResourceDefinition): string {
  return `${r.plural}.${GROUP}`;
}

function collection(r: ResourceDefinition): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/${r.plural}`;
}

// As kubectl does since 1.27: unknown fields are errors, not silently pruned.
const STRICT = '?fieldValidation=Strict';

interface Stored {
  metadata: { name: string; resourceVersion: string; generation: number };
  spec: unknown;
  status?: unknown;
}

async function create(r: ResourceDefinition, object: object): Promise<KubeResponse> {
  return plane().request('POST', collection(r) + STRICT, object);
}

async function createOk(r: ResourceDefinition, object: object): Promise<Stored> {
  const res = await create(r, object);
  expect({ status: res.status, body: res.json }).toMatchObject({ status: 201 });
  return res.json as Stored;
}

async function get(r: ResourceDefinition, name: string): Promise<Stored> {
  const res = await plane().request('GET', `${collection(r)}/${name}`);
  expect(res.status).toBe(200);
  return res.json as Stored;
}

/** PUT `object` over the stored one (at its resourceVersion), to the resource or a subresource. */
async function replace(r: ResourceDefinition, object: object, subresource = ''): Promise<KubeResponse> {
  const name = (object as Stored).metadata.name;
  const current = await get(r, name);
  const body = {
    ...object,
    metadata: { ...(object as Stored).metadata, resourceVersion: current.metadata.resourceVersion },
  };
  return plane().request('PUT', `${collection(r)}/${name}${subresource}${STRICT}`, body);
}

/** The fields the API server named, with their messages. */
function rejections(res: KubeResponse): { field: string; message: string }[] {
  const status = res.json as {
    message?: string;
    details?: { causes?: { field?: string; message?: string }[] };
  };
  const causes = (status.details?.causes ?? []).map((c) => ({
    field: c.field ?? '',
    message: c.message ?? '',
  }));
  // Strict field validation answers 400 with `unknown field "spec.x"` in the message.
  for (const m of (status.message ?? '').matchAll(/unknown field "([^"]+)"/g)) {
    causes.push({ field: m[1], message: 'unknown field' });
  }
  return causes;
}

describe('CRDs on a real API server', () => {
  it.each(RESOURCES.map((r) => [r.kind, r] as const))(
    '%s is Established, its schema stored unchanged',
    async (_k, r) => {
      const res = await plane().request(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName(r)}`,
      );
      expect(res.status).toBe(200);
      const stored = res.json as {
        spec: { versions: { schema: unknown }[] };
        status: { conditions: { type: string; status: string }[] };
      };
      const condition = (type: string) => stored.status.conditions.find((c) => c.type === type)?.status;
      expect(condition('Established')).toBe('True');
      expect(condition('NamesAccepted')).toBe('True');
      const file = parseYaml(readFileSync(join(REPO, 'crds', crdFileName(r.plural)), 'utf8')) as {
        spec: { versions: { schema: unknown }[] };
      };
      expect(stored.spec.versions[0].schema).toEqual(file.spec.versions[0].schema);
    },
  );

  describe('judges each case as the validator does', () => {
    describe.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      it(c.rejected ? `is rejected, naming ${c.rejected.path}` : 'is accepted', async () => {
        if (c.old) await createOk(c.definition, c.old);
        const res = c.old ? await replace(c.definition, c.object) : await create(c.definition, c.object);
        if (!c.rejected) {
          expect({ status: res.status, body: res.json }).toMatchObject({ status: c.old ? 200 : 201 });
          return;
        }
        expect([400, 422]).toContain(res.status);
        const { path, message } = c.rejected;
        // The API server writes a map key as `config[key]` in CEL errors, as `config.key` in
        // schema errors; the validator always brackets it. Compare without the brackets.
        const unbracket = (p: string): string => p.replace(/\[([^\]]*[^\]0-9][^\]]*)\]/g, '.$1');
        const causes = rejections(res).map((r) => ({ ...r, field: unbracket(r.field) }));
        const field = unbracket(path);
        const expected = message ? { field, message: expect.stringContaining(message) } : { field };
        expect(causes).toContainEqual(expect.objectContaining(expected));
      });
    });
  });

  it.each([
    ['Cluster', ClusterResource, fullCluster('stored-cluster')],
    ['Topic', TopicResource, fullTopic('stored-topic')],
    ['ConsumerGroup', ConsumerGroupResource, fullConsumerGroup('stored-group')],
  ] as const)('stores every field of a full %s as written', async (_k, r, object) => {
    const created = await createOk(r, object);
    expect(created.spec).toEqual(object.spec);
    expect((await get(r, object.metadata.name)).spec).toEqual(object.spec);
  });

  it.each([
    ['Cluster', ClusterResource, minimalCluster('defaulted-cluster')],
    ['Topic', TopicResource, minimalTopic('defaulted-topic')],
    ['ConsumerGroup', ConsumerGroupResource, minimalConsumerGroup('defaulted-group')],
  ] as const)('fills in the defaults of a minimal %s as the validator does', async (_k, r, object) => {
    const created = await createOk(r, object);
    expect(created.spec).toEqual(withDefaults(r, object).spec);
  });

  it.each([
    ['Cluster', ClusterResource, fullCluster('status-cluster'), FULL_STATUS.cluster],
    ['Topic', TopicResource, fullTopic('status-topic'), FULL_STATUS.topic],
    ['ConsumerGroup', ConsumerGroupResource, fullConsumerGroup('status-group'), FULL_STATUS.consumerGroup],
  ] as const)(
    'writes a %s status only through /status, storing every field',
    async (_k, r, object, status) => {
      await createOk(r, object);

      const written = await replace(r, { ...object, status }, '/status');
      expect(written.status).toBe(200);
      const afterStatus = await get(r, object.metadata.name);
      expect(afterStatus.status).toEqual(status);
      expect(afterStatus.spec).toEqual(object.spec);
      expect(afterStatus.metadata.generation).toBe(1);

      // Through the main resource a status is ignored and a spec change bumps the generation.
      const changed = structuredClone(object) as {
        spec: { clusterRef?: unknown; replicas?: number; partitions?: number };
      };
      if (r === ClusterResource) changed.spec.replicas = 4;
      else if (r === TopicResource) changed.spec.partitions = 16;
      else delete (changed.spec as { offsetReset?: unknown }).offsetReset;
      const res = await replace(r, { ...changed, status: { observedGeneration: 99 } });
      expect(res.status).toBe(200);
      const afterSpec = await get(r, object.metadata.name);
      expect(afterSpec.status).toEqual(status);
      expect(afterSpec.spec).toEqual(changed.spec);
      expect(afterSpec.metadata.generation).toBe(2);
    },
  );

  it('rejects a malformed status', async () => {
    const topic = minimalTopic('bad-status');
    await createOk(TopicResource, topic);
    const res = await replace(
      TopicResource,
      { ...topic, status: { conditions: [{ type: 'Ready', status: 'Yes' }] } },
      '/status',
    );
    expect(res.status).toBe(422);
    expect(rejections(res).map((r) => r.field)).toEqual(
      expect.arrayContaining(['status.conditions[0].status', 'status.conditions[0].reason']),
    );
  });

  describe('in kubectl', () => {
    beforeAll(async () => {
      const objects = [
        [ClusterResource, fullCluster('kc'), FULL_STATUS.cluster],
        [TopicResource, fullTopic('kc-orders'), FULL_STATUS.topic],
        [ConsumerGroupResource, fullConsumerGroup('kc-billing'), FULL_STATUS.consumerGroup],
      ] as const;
      for (const [r, object, status] of objects) {
        await createOk(r, object);
        expect((await replace(r, { ...object, status }, '/status')).status).toBe(200);
      }
    }, 30_000);

    /** `kubectl get` as rows of cells (columns are separated by at least two spaces). */
    const table = (...args: string[]): string[][] =>
      kubectl(['get', ...args])
        .trimEnd()
        .split('\n')
        .map((line) => line.trim().split(/\s{2,}/));

    it('shows the printer columns of a Cluster', () => {
      const [header, row] = table('clusters.tributary.dev', 'kc');
      expect(header).toEqual(['NAME', 'BROKERS', 'READY', 'BOOTSTRAP', 'AGE']);
      expect(row.slice(0, 4)).toEqual(['kc', '3', '2', 'full-bootstrap.default.svc:9092']);
      const [wide] = table('clusters.tributary.dev', 'kc', '-o', 'wide');
      expect(wide).toEqual(['NAME', 'BROKERS', 'READY', 'BOOTSTRAP', 'STATUS', 'CLUSTER ID', 'AGE']);
    });

    it('shows the printer columns of a Topic', () => {
      const [header, row] = table('topics.tributary.dev', 'kc-orders');
      expect(header).toEqual([
        'NAME',
        'CLUSTER',
        'PARTITIONS',
        'REPLICAS',
        'UNDER-REPLICATED',
        'READY',
        'AGE',
      ]);
      expect(row.slice(0, 6)).toEqual(['kc-orders', 'full', '12', '3', '2', 'True']);
    });

    it('shows the printer columns of a ConsumerGroup', () => {
      const [header, row] = table('consumergroups.tributary.dev', 'kc-billing');
      expect(header).toEqual(['NAME', 'CLUSTER', 'STATE', 'MEMBERS', 'LAG', 'READY', 'AGE']);
      expect(row.slice(0, 6)).toEqual(['kc-billing', 'full', 'Stable', '2', '15', 'True']);
    });

    it('knows the short names', () => {
      expect(kubectl(['get', 'tc', 'kc', '-o', 'name']).trim()).toBe('cluster.tributary.dev/kc');
      expect(kubectl(['get', 'ttopic', 'kc-orders', '-o', 'name']).trim()).toBe(
        'topic.tributary.dev/kc-orders',
      );
      expect(kubectl(['get', 'tcg', 'kc-billing', '-o', 'name']).trim()).toBe(
        'consumergroup.tributary.dev/kc-billing',
      );
    });

    it('lists every kind under the category tributary', () => {
      const names = kubectl(['get', 'tributary', '-o', 'name']).trim().split('\n');
      expect(names).toEqual(
        expect.arrayContaining([
          'cluster.tributary.dev/kc',
          'topic.tributary.dev/kc-orders',
          'consumergroup.tributary.dev/kc-billing',
        ]),
      );
    });

    it('shows a CEL message to a user applying a bad Topic', () => {
      const bad = fullTopic('kc-bad');
      bad.spec.topicName = 'orders/eu';
      const stderr = kubectlFails(['apply', '-f', '-'], JSON.stringify(bad));
      expect(stderr).toContain('spec.topicName');
      expect(stderr).toContain('a Kafka topic name is 1 to 249 characters');
    });

    it('refuses, through kubectl, to shrink a Topic', () => {
      const topic = fullTopic('kc-orders');
      topic.spec.partitions = 3;
      const stderr = kubectlFails(
        ['apply', '--server-side', '--force-conflicts', '-f', '-'],
        JSON.stringify(topic),
      );
      expect(stderr).toContain('partitions cannot decrease');
    });
  });
});
