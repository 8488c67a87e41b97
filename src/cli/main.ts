#!/usr/bin/env node
/**
 * `tributary <command>`: the one entry point of the package. Only code under src/cli/ talks to the
 * terminal or exits the process.
 */
import { parseArgs } from 'node:util';
import { BROKER_USAGE, DEV_USAGE, runBroker } from './broker.ts';
import { OPERATOR_USAGE, runOperator } from './operator.ts';

interface Command {
  summary: string;
  usage: string;
  /** Set while the role is still being built: what exists instead, and where the work is tracked. */
  pending?: string;
  run?: (args: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  dev: {
    summary: 'run brokers and the controller on this machine, without Kubernetes (the default)',
    usage: DEV_USAGE,
    run: (args) => runBroker('dev', args),
  },
  broker: {
    summary: 'run one broker (Kafka protocol on 9092, admin HTTP on its own port)',
    usage: BROKER_USAGE,
    run: (args) => runBroker('broker', args),
  },
  operator: {
    summary: 'run the Kubernetes operator and metadata controller',
    usage: OPERATOR_USAGE,
    run: (args) => runOperator(args),
  },
};

function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'Tributary: event streaming on Kubernetes that speaks the Kafka protocol.',
    '',
    'Usage: tributary <command> [options]',
    '',
    'Commands:',
    ...rows,
    '',
    'Run `tributary <command> --help` for the options of one command.',
  ].join('\n');
}

function commandHelp(name: string, c: Command): string {
  const lines = [`tributary ${name}: ${c.summary}`, '', `Usage: ${c.usage}`];
  if (c.pending) lines.push('', `Not available yet: ${c.pending}.`);
  return lines.join('\n');
}

const NODE_MAJOR = 24;

async function main(argv: string[]): Promise<number> {
  if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
    console.error(`tributary: needs Node.js ${NODE_MAJOR} or newer; this is ${process.version}.`);
    console.error(
      'Run it through npm (`npm start`, `npx tributary`), which uses the Node 24 that `npm install` brought.',
    );
    return 1;
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(process.env['npm_package_version'] ?? '0.1.0');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`tributary: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}.`);
    console.error('Run `tributary --help` to see what each does.');
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: false,
  });
  if (values.help && (command.pending || !command.run)) {
    console.log(commandHelp(name, command));
    return 0;
  }
  if (command.pending || !command.run) {
    console.error(`tributary ${name}: not available yet — ${command.pending ?? 'not built'}.`);
    console.error('What works today is listed in README.md under "Status".');
    return 3;
  }
  return command.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
