#!/usr/bin/env node
/**
 * trgwd's command line (yargs):
 *   trgwd [start] [--config FILE] [--set key=value ...]   run the gateway (the default command)
 *   trgwd check-config [--config FILE] [--set ...]        print the effective config, or every error
 *   trgwd h248 decode [--to pretty|compact|json] [FILE|-] / h248 encode [--to pretty|compact] [FILE|-]
 *   trgwd mgc --listen ADDR:PORT [--script FILE]          a minimal controller (docs/MGC.md)
 *   trgwd --version | --help
 * Exit codes: 0 ok; 1 bad configuration or bad input; 2 a port could not be bound at start;
 * 130 a second signal during shutdown.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { stringify as toYaml } from 'yaml';
import { formatIssues, loadConfig, type TrgwdConfig } from '../config/loader.js';
import { errorMessage, isTrgwdError } from './errors.js';
import { Gateway } from './gateway.js';
import { runDecode, runEncode } from './cli/h248.js';
import { runMgc } from './cli/mgc.js';
import { VERSION } from './version.js';

interface ConfigArgs {
  config?: string | undefined;
  set?: string[] | undefined;
}

const configOptions = <T>(y: Argv<T>) =>
  y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML config file (default: the embedded config/default.yaml)' })
    .option('set', {
      type: 'string',
      array: true,
      describe: 'Override one key: dotted path = YAML value, e.g. --set control.listen.port=3944 (repeatable)',
    });

/** Loads the config or prints every issue on stderr and returns undefined. */
function configOrReport(args: ConfigArgs): TrgwdConfig | undefined {
  const r = loadConfig({ file: args.config, sets: args.set ?? [] });
  if (r.ok) return r.config;
  process.stderr.write(`trgwd: invalid configuration (${r.source}):\n${formatIssues(r.issues)}\n`);
  return undefined;
}

async function runStart(args: ConfigArgs): Promise<void> {
  const config = configOrReport(args);
  if (!config) {
    process.exitCode = 1;
    return;
  }
  const gateway = new Gateway(config);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`trgwd: second ${sig}, exiting now\n`);
      process.exit(130);
    }
    // Bounded: if an orderly stop hangs, exit anyway (the parts are bounded too; this is the last net).
    const hard = setTimeout(() => process.exit(0), config.shutdownTimeoutMs + 1000);
    hard.unref();
    void gateway.stop(`signal ${sig}`).then(() => {
      gateway.log.flush?.();
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await gateway.start();
  } catch (e) {
    process.stderr.write(`trgwd: ${errorMessage(e)}\n`);
    process.exit(isTrgwdError(e, 'ERR_BIND') ? 2 : 1);
  }
}

function runCheckConfig(args: ConfigArgs): void {
  const config = configOrReport(args);
  if (!config) {
    process.exitCode = 1;
    return;
  }
  process.stdout.write(toYaml(config));
}

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('trgwd')
    .usage('$0 [command] [options]\n\nH.248-controlled media gateway (TrGW / IMS-AGW bearer plane).')
    .command(
      ['start', '$0'],
      'Run the gateway',
      (y) => configOptions(y),
      (a) => runStart(a),
    )
    .command(
      'check-config',
      'Validate the configuration and print the effective config (exit 1 and list every error if invalid)',
      (y) => configOptions(y),
      (a) => runCheckConfig(a),
    )
    .command('h248 <action> [file]', 'Decode or encode one H.248 text message (FILE or - for stdin)', (y) =>
      y
        .positional('action', { choices: ['decode', 'encode'] as const, describe: 'decode: text → text or JSON; encode: JSON → text', demandOption: true })
        .positional('file', { type: 'string', describe: 'input file, or - for stdin (default)' })
        .option('to', { choices: ['pretty', 'compact', 'json'] as const, describe: 'output form (encode: pretty or compact)', default: 'pretty' as const }),
      (a) => {
        if (a.action === 'decode') process.exitCode = runDecode(a.file, a.to);
        else if (a.to === 'json') {
          process.stderr.write('error: encode produces text: --to pretty or --to compact\n');
          process.exitCode = 1;
        } else process.exitCode = runEncode(a.file, a.to);
      },
    )
    .command(
      'mgc',
      "A minimal H.248 controller: answers the gateway's registration and plays a script (docs/MGC.md)",
      (y) =>
        y
          .option('listen', {
            type: 'string',
            demandOption: true,
            describe: "ADDR:PORT to listen on: the gateway's control.controllers entry (default config: 127.0.0.1:2945)",
          })
          .option('transport', { choices: ['udp', 'tcp'] as const, default: 'udp' as const, describe: 'Control transport (tcp: TPKT framing)' })
          .option('script', { type: 'string', describe: 'YAML script of transactions; without it, answer registration and Notify until Ctrl-C' })
          .option('encoding', { choices: ['pretty', 'compact'] as const, default: 'pretty' as const, describe: 'Text style of what mgc sends' })
          .option('timeout', { type: 'number', default: 5000, describe: 'ms to wait for each final reply (each Pending restarts the wait)' })
          .option('register-timeout', { type: 'number', default: 60000, describe: "ms to wait for the gateway's registration" }),
      async (a) => {
        process.exitCode = await runMgc({
          listen: a.listen,
          transport: a.transport,
          script: a.script,
          encoding: a.encoding,
          timeoutMs: a.timeout,
          registerTimeoutMs: a['register-timeout'],
        });
      },
    )
    .version(VERSION)
    .alias('v', 'version')
    .help()
    .alias('h', 'help')
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help() ? '' : ''}trgwd: ${msg}\nRun 'trgwd --help' for usage.\n`);
      process.exit(1);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch((e: unknown) => {
  process.stderr.write(`trgwd: ${errorMessage(e)}\n`);
  process.exit(1);
});
