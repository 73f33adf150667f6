import { verifyRdbFile } from '../../lambda/shared/rdb';
import { formatBytes, type Options, terminal } from '../cli-kit';

export async function run(options: Options, [file]: readonly string[]): Promise<number> {
  const path = String(file);
  try {
    const result = await verifyRdbFile(path, { allowMissingChecksum: options.allowNoChecksum === true });
    const checksum =
      result.checksum === 'verified'
        ? `CRC64 ${result.crc64} verified`
        : 'NO checksum (all-zero trailer, accepted by --allow-no-checksum): only the framing was checked';
    process.stdout.write(
      `OK ${path}: RDB format ${result.rdbVersion}, ${result.bytes} bytes (${formatBytes(result.bytes)}), ${checksum}\n`,
    );
    return 0;
  } catch (error) {
    terminal.say(`INVALID ${describeFileError(path, error)}`);
    return 1;
  }
}

/** `EISDIR: illegal operation on a directory, read` says neither which path nor what to give. */
function describeFileError(path: string, error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `${path}: no such file`;
    case 'EISDIR':
      return `${path} is a directory: give the path of an .rdb file`;
    case 'ENOTDIR':
      return `${path}: a part of the path is not a directory`;
    case 'EACCES':
      return `${path}: permission denied`;
    default:
      return (error as Error).message;
  }
}
