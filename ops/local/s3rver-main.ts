/**
 * An s3rver in a process of its own (ops/local/node-server.ts starts it): the benchmarks keep
 * its CPU and memory apart from the measured process's, and tests get OpenSSL's legacy provider
 * for its paginated listings. Args: <port> <directory> <bucket>. Prints "ready" when listening.
 */
// s3rver ships no type declarations.
const S3rver = require('s3rver');

const [port, directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: [{ name: bucket }],
});
server.run().then(() => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
