import type { CommandSpec } from '../command-spec';
import { sharedOptions } from './options';

export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'check a local RDB file: magic, format, end marker and CRC64',
  description: [
    "Checks a local RDB file: the REDIS magic, a format this project's Redis loads, the EOF opcode and the CRC64 trailer. An RDB without a checksum (all-zero trailer) is invalid unless --allow-no-checksum.",
  ].join('\n\n'),
  usage: '<file.rdb> [--allow-no-checksum]',
  arguments: [['<file.rdb>', 'the RDB file (e.g. downloaded with aws s3 cp, or a dump.rdb)']],
  options: [sharedOptions.allowNoChecksum()],
  examples: ['npm run -s ops -- verify ./20261125T020000Z.rdb'],
  environment: [['(none)', 'verify reads only the file']],
  exitCodes: [
    [0, 'valid ("OK <file>: ..." on stdout)'],
    [1, 'invalid or unreadable ("INVALID <reason>" on stderr)'],
    [2, 'wrong usage'],
  ],
  load: () => import('../actions/verify'),
};
