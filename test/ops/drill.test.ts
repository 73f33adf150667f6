import { compareDumps, type DrillReport, runDrill } from '../../ops/drill';
import type { KeyDump } from '../lambda/helpers/dataset';

// `npm run drill` as part of the test suite: back up, destroy, restore, prove the dataset identical,
// for both starting states of the data directory.
describe('the restore drill', () => {
  it.each([
    ['flushall', 'an existing appendonlydir (of the flushed dataset) that the restore must replace'],
    ['delete', 'an empty data directory'],
  ] as const)('%s: restores into %s, dataset identical', async (destroy, _startingState) => {
    const lines: string[] = [];
    const report: DrillReport = await runDrill({
      destroy,
      bulkMegabytes: 4,
      log: (line) => lines.push(line),
    });
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.keys).toBeGreaterThan(200);
    expect(report.steps.map((step) => step.name)).toEqual([
      'start Redis (production configuration)',
      'fill it with a varied dataset',
      'start the local S3 server',
      'back up to the local S3 server (runBackup)',
      destroy === 'flushall'
        ? 'destroy the data (FLUSHALL + stop)'
        : 'destroy the data (stop + delete the directory)',
      'restore with the install step',
      'start Redis again (production configuration)',
      'check the key count (as the restore state machine does)',
      'compare every key, value and TTL',
    ]);
    // The data the restore found (the flushed dataset's AOF) was moved aside, not deleted.
    if (destroy === 'flushall') expect(report.previousData).toMatch(/pre-restore-\d{8}T\d{6}Z$/);
    else expect(report.previousData).toBeUndefined();
    expect(report.recoveryMs).toBeGreaterThan(0);
    expect(report.recoveryMs).toBeLessThan(report.totalMs);
    expect(lines).toHaveLength(report.steps.length);
  });

  it('fails when the restored dataset differs', async () => {
    const report = await runDrill({
      destroy: 'flushall',
      tamper: async (redis) => {
        await redis.set('string:small', 'changed');
        await redis.persist('string:ttl');
        await redis.del('counter:7');
      },
    });
    expect(report.ok).toBe(false);
    expect(report.differences).toEqual(
      expect.arrayContaining([
        'db0: string:small has a different value',
        'db0: string:ttl lost its TTL',
        'db0: counter:7 is missing',
      ]),
    );
  });

  it('compares types, values and TTLs within a tolerance', () => {
    const dump = (entries: [string, KeyDump][]) => new Map(entries);
    const expected = dump([
      ['a', { type: 'string', value: 'x', pttl: -1 }],
      ['b', { type: 'hash', value: [['f', 'v']], pttl: 60_000 }],
    ]);
    expect(compareDumps(dump([...expected]), expected, 'db0')).toEqual([]);
    expect(
      compareDumps(
        dump([
          ['a', { type: 'list', value: ['x'], pttl: 5 }],
          ['b', { type: 'hash', value: [['f', 'v']], pttl: 59_000 }],
          ['c', { type: 'string', value: 'y', pttl: -1 }],
        ]),
        expected,
        'db0',
        500,
      ),
    ).toEqual([
      'db0: c should not exist',
      'db0: a is a list, was a string',
      'db0: a gained a TTL (5 ms)',
      'db0: b TTL 59000 ms, was 60000 ms',
    ]);
  });
});
