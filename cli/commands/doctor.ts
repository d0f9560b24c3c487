import { runDoctor } from '../../src/report/doctor.js';
import type { Context } from '../context.js';
import { dim, green, red, yellow } from '../output.js';

export async function run(context: Context): Promise<number> {
  const report = await runDoctor(context.layout, context.env);
  context.out.result(report, () =>
    report.checks
      .map((check) => {
        const mark = check.status === 'ok' ? green('ok  ') : check.status === 'warn' ? yellow('warn') : red('FAIL');
        return `${mark} ${check.message}${check.fix === undefined ? '' : `\n     ${dim(`fix: ${check.fix}`)}`}`;
      })
      .join('\n'),
  );
  return report.ok ? 0 : 1;
}
