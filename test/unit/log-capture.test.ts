import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, withLogCapture } from '../../src/logging/index.js';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}
const messages = (lines: string[]) => lines.map((line) => (JSON.parse(line) as { msg: string }).msg);

describe('log capture', () => {
  it("captures info and up inside withLogCapture whatever the output's level, and leaves the output as configured", async () => {
    const output = sink();
    const logger = createLogger('warn', output.stream).child({ module: 'test' });
    const captured: string[] = [];
    logger.info('outside, info');
    await withLogCapture(
      (line) => captured.push(line),
      async () => {
        logger.debug('inside, debug');
        logger.info({ password: 'never-shown' }, 'inside, info');
        await new Promise((resolve) => setImmediate(resolve));
        logger.warn('inside, warn');
      },
    );
    logger.warn('outside, warn');
    expect(messages(captured)).toEqual(['inside, info', 'inside, warn']);
    expect(captured.join('\n')).not.toContain('never-shown');
    expect(messages(output.lines)).toEqual(['inside, warn', 'outside, warn']);
  });

  it('captures from a silent logger, which writes nothing', async () => {
    const output = sink();
    const logger = createLogger('silent', output.stream);
    const captured: string[] = [];
    await withLogCapture(
      (line) => captured.push(line),
      async () => logger.error('kept for the job'),
    );
    expect(messages(captured)).toEqual(['kept for the job']);
    expect(output.lines).toEqual([]);
  });
});
