import { describe, expect, it } from 'vitest';
import { runServices, service, ServiceStopError, type Service } from '../../src/daemon/services.js';

/** Services that record what happened to them in one shared list, in order. */
function recorder() {
  const log: string[] = [];
  const make = (name: string, failures: { start?: Error; stop?: Error } = {}): Service =>
    service(
      name,
      async () => {
        await Promise.resolve();
        log.push(`start ${name}`);
        if (failures.start !== undefined) throw failures.start;
      },
      () => {
        log.push(`stop ${name}`);
        if (failures.stop !== undefined) throw failures.stop;
      },
    );
  return { log, make };
}

describe('the daemon\'s services', () => {
  it('start in order, run the body, and stop in reverse', async () => {
    const { log, make } = recorder();
    const result = await runServices([make('log'), make('syncthing'), make('socket')], async () => {
      log.push('body');
      return 42;
    }, () => log.push('stop error'));
    expect(result).toBe(42);
    expect(log).toEqual(['start log', 'start syncthing', 'start socket', 'body', 'stop socket', 'stop syncthing', 'stop log']);
  });

  it('stop only the services that started when one fails to start, and rethrow its failure', async () => {
    const { log, make } = recorder();
    const broken = new Error('notify.json is corrupt');
    const run = runServices([make('log'), make('syncthing'), make('notifier', { start: broken }), make('socket')], async () => {
      log.push('body');
    }, () => log.push('stop error'));
    await expect(run).rejects.toBe(broken);
    expect(log).toEqual(['start log', 'start syncthing', 'start notifier', 'stop syncthing', 'stop log']);
  });

  it('stop everything that started when the body fails, and rethrow the body\'s failure', async () => {
    const { log, make } = recorder();
    const broken = new Error('Syncthing did not start');
    await expect(runServices([make('a'), make('b')], async () => Promise.reject(broken), () => log.push('stop error'))).rejects.toBe(broken);
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });

  it('go on stopping the others when a stop throws, report each failure, and reject with the first', async () => {
    const { log, make } = recorder();
    const reported: ServiceStopError[] = [];
    const run = runServices([make('a'), make('b', { stop: new Error('b stuck') }), make('c', { stop: new Error('c stuck') }), make('d')], async () => 'done', (error) => reported.push(error));
    const error = await run.then(() => undefined, (caught: unknown) => caught);
    expect(log).toEqual(['start a', 'start b', 'start c', 'start d', 'stop d', 'stop c', 'stop b', 'stop a']);
    expect(reported.map((failure) => [failure.service, failure.message])).toEqual([
      ['c', 'stopping c failed: c stuck'],
      ['b', 'stopping b failed: b stuck'],
    ]);
    expect(error).toBe(reported[0]);
  });

  it('keep a start-up failure as the reason when a stop fails too', async () => {
    const { log, make } = recorder();
    const broken = new Error('port taken');
    const reported: ServiceStopError[] = [];
    await expect(runServices([make('a', { stop: new Error('a stuck') }), make('b', { start: broken })], async () => undefined, (error) => reported.push(error))).rejects.toBe(broken);
    expect(log).toEqual(['start a', 'start b', 'stop a']);
    expect(reported.map((failure) => failure.service)).toEqual(['a']);
  });
});
