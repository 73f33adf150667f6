import { verifyRdbFile } from '../../lambda/shared/rdb';
import { formatBytes, parseOptions, UsageError } from '../cli-kit';

export const usage = `verify <file.rdb>
    Checks a local RDB: the REDIS magic, a format this project's Redis loads, the EOF opcode and
    the CRC64 trailer. Exit 0 when valid, 1 with the reason when not.`;

export async function run(argv: readonly string[]): Promise<number> {
  const { positionals } = parseOptions(argv, {}, { positionals: 1 });
  const file = positionals[0];
  if (file === undefined) throw new UsageError('the RDB file to verify is missing');
  try {
    const result = await verifyRdbFile(file);
    const checksum =
      result.checksum === 'verified'
        ? `CRC64 ${result.crc64} verified`
        : 'checksum disabled (rdbchecksum no)';
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
