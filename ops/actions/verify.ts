import { ALLOW_NO_CHECKSUM_FLAG, verifyRdbFile } from '../../lambda/shared/rdb';
import { formatBytes, parseOptions, UsageError } from '../cli-kit';

export const usage = `verify <file.rdb> [${ALLOW_NO_CHECKSUM_FLAG}]
    Checks a local RDB: the REDIS magic, a format this project's Redis loads, the EOF opcode and
    the CRC64 trailer. Exit 0 when valid, 1 with the reason when not. An RDB without a checksum
    (all-zero trailer) is invalid unless ${ALLOW_NO_CHECKSUM_FLAG} (a Redis run with rdbchecksum no).`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    { 'allow-no-checksum': { type: 'boolean', default: false } },
    { positionals: 1 },
  );
  const file = positionals[0];
  if (file === undefined) throw new UsageError('the RDB file to verify is missing');
  try {
    const result = await verifyRdbFile(file, { allowMissingChecksum: values['allow-no-checksum'] });
    const checksum =
      result.checksum === 'verified'
        ? `CRC64 ${result.crc64} verified`
        : 'NO checksum (all-zero trailer, accepted by --allow-no-checksum): only the framing was checked';
    process.stdout.write(
      `OK ${file}: RDB format ${result.rdbVersion}, ${result.bytes} bytes (${formatBytes(result.bytes)}), ${checksum}\n`,
    );
    return 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? `${file}: no such file` : (error as Error).message;
    process.stderr.write(`INVALID ${reason}\n`);
    return 1;
  }
}
