/**
 * A broker given several controller addresses, as brokers on Kubernetes are given the operator's
 * replicas: the first answers 503 notController (a standby replica, served here by the same HTTP
 * API with a standby route), the second is a port nobody listens on, the third a real
 * `tributary controller`. The broker, a real `tributary broker` process, finds the controller in one
 * round, registers, and serves a kafkajs client.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../../../src/common/logger.ts';
import { buildControllerApp } from '../../../src/controller/http-server.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { freePortRange } from '../../helpers/dev-cluster.ts';
import { random } from './support.ts';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');
const TOKEN = random('token');

let dir: string;
let controller: ChildProcess;
let controllerPort: number;
let standby: FastifyInstance;
let standbyAsked = 0;
let deadPort: number;
let broker: BrokerProcess;

async function startController(): Promise<void> {
  controllerPort = await freePortRange(1);
  controller = spawn(
    process.execPath,
    [
      MAIN,
      'controller',
      '--data-dir',
      join(dir, 'controller'),
      '--listen',
      `127.0.0.1:${controllerPort}`,
      '--token-file',
      join(dir, 'token'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: tmpdir() } },
  );
  let out = '';
  controller.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    controller.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Controller listening')) resolve();
    });
    controller.once('exit', (code) => reject(new Error(`the controller exited (${code}):\n${out}`)));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-controller-addresses-'));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  await startController();
  standby = buildControllerApp({
    route: () => {
      standbyAsked++;
      return { standby: 'this operator replica is a standby' };
    },
    logger: createLogger({ level: 'silent' }),
  });
  await standby.listen({ host: '127.0.0.1', port: 0 });
  const hole = net.createServer();
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  deadPort = (hole.address() as AddressInfo).port;
  await new Promise<void>((resolve) => hole.close(() => resolve()));

  const standbyPort = (standby.server.address() as AddressInfo).port;
  broker = await spawnBroker({
    properties: {
      'node.id': '0',
      'controller.address': [standbyPort, deadPort, controllerPort].map((p) => `127.0.0.1:${p}`).join(','),
      'controller.token.file': join(dir, 'token'),
      'offsets.topic.replication.factor': '1',
      'group.initial.rebalance.delay.ms': '0',
    },
  });
}, 60_000);

afterAll(async () => {
  await broker?.remove();
  if (controller && controller.exitCode === null) {
    controller.kill('SIGTERM');
    await new Promise((resolve) => controller.once('exit', resolve));
  }
  await standby?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('controller.address > several addresses', () => {
  it('registers with the controller past a standby and a dead port, saying once where it is', () => {
    expect(standbyAsked).toBeGreaterThanOrEqual(1);
    const moves = broker
      .output()
      .split('\n')
      .filter((line) => line.includes('The controller is now at'));
    expect(moves).toHaveLength(1);
    expect(moves[0]).toContain(`The controller is now at 127.0.0.1:${controllerPort}`);
    expect(broker.output()).toContain('"msg":"Registered with the controller"');
  });

  it('serves a kafkajs producer and consumer with topics the controller created', async () => {
    const kafka = new Kafka({
      clientId: 'controller-addresses',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const topic = random('addresses');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: 'a', value: 'one' },
        { key: 'b', value: 'two' },
      ],
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: random('group') });
    await consumer.connect();
    const seen: string[] = [];
    let gotBoth!: () => void;
    const both = new Promise<void>((resolve) => (gotBoth = resolve));
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(String(message.value));
        if (seen.length === 2) gotBoth();
      },
    });
    await both;
    await consumer.disconnect();
    expect(seen.sort()).toEqual(['one', 'two']);
  }, 30_000);
});
