#!/usr/bin/env node
/**
 * `tributary <command>`: the one entry point of the package. Only code under src/cli/ talks to the
 * terminal or exits the process.
 */
interface Command {
  summary: string;
  /**
   * Loads the role's code and runs it. Each role is imported only when chosen: an operator process
   * never loads the broker (or the other way round), which keeps its memory down (bench/operator.ts).
   */
  run: (args: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  dev: {
    summary: 'run brokers and the controller on this machine, without Kubernetes (the default)',
    run: async (args) => (await import('./dev.ts')).runDev(args),
  },
  broker: {
    summary: 'run one broker (Kafka protocol on 9092, admin HTTP on its own port)',
    run: async (args) => (await import('./broker.ts')).runBroker('broker', args),
  },
  controller: {
    summary: 'run the metadata controller on its own (brokers join it with controller.address)',
    run: async (args) => (await import('./controller.ts')).runController(args),
  },
  operator: {
    summary: 'run the Kubernetes operator and metadata controller',
    run: async (args) => (await import('./operator.ts')).runOperator(args),
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
  return command.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
