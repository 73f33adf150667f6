import { Option } from 'commander';
import { wholeNumber } from '../cli-kit';
import type { CommandSpec } from '../command-spec';

export const copyDataCommand: CommandSpec = {
  name: 'copy-data',
  summary: 'copy every key from one Redis to another, empty one (the way back from ElastiCache), and verify',
  description: [
    "Copies the data of one Redis into another, key by key: the way back from ElastiCache for Valkey 8 to a stage's Redis 7.0, which cannot load Valkey's snapshots (RDB format 11). Every database that holds keys (or --db <n> alone), with SCAN in batches, pipelined, type by type: strings (binary-safe), lists (in order), hashes, sets, sorted sets (each score as the server's text), streams (entries with their ids, consumer groups, consumers, pending entries), and each key's TTL (as its absolute expiry time). Reads are sized in bytes (MEMORY USAGE, then what each read brought back), so memory stays bounded whatever the values' size. A key that expires during the copy is skipped.",
    'Never writes over or into a key: each collection (and each long string) is built under a temporary key (copy-data:tmp:...) and put in place with RENAMENX, a string with SET NX. A key the target holds already is not copied: one that is as on the source is counted (SCAN may return a key twice), one that differs (something wrote to the target) fails the run. The db0 key "ping" is skipped only when it is the health check\'s counter (a string holding an integer); else it is copied like any key.',
    'Refuses, and writes nothing, when the target holds keys in a database to copy (checked at the start and again right before the first write: empty it by hand if you mean it), when --from and --to are the same server (INFO run_id), when the target is a replica, when the source holds keys of a type it cannot copy (a module type: listed), or when the source\'s "ping" is data and the target has its health check counter under that name. Then it verifies: DBSIZE per database equal, every list, hash, set, sorted set and stream in full, and every string (a uniform sample of 10000 in a larger dataset), with the same type, value and TTL (within 2 s). Stop the producers and the Celery workers first. Ctrl-C stops at the next chunk; a second Ctrl-C exits at once. See docs/runbook/copy-data.md.',
  ].join('\n\n'),
  usage: '--from <url> --to <url> [--db <n> | --all-dbs] [options]',
  options: [
    new Option(
      '--from <url>',
      "the Redis to copy from, e.g. rediss://<ElastiCache primary endpoint>:6380 (the AUTH token, or the URL user's password, in REDIS_FROM_PASSWORD; no /<db> path: use --db); required",
    ),
    new Option(
      '--to <url>',
      'the Redis to copy into, empty: rediss://default@<host>:6380 or redis://default@<host>:6379 (password in REDIS_TO_PASSWORD); required',
    ),
    new Option('--db <n>', 'copy this database only (the others on the target may hold data)').argParser(
      wholeNumber(0),
    ),
    new Option('--all-dbs', 'copy every database that holds keys (the default)'),
    new Option(
      '--ca-file-from <path>',
      "with a rediss:// --from: the CA certificate (PEM) to verify it with (default: the system's trust store, which holds Amazon's roots for ElastiCache)",
    ),
    new Option(
      '--ca-file-to <path>',
      "with a rediss:// --to: the CA certificate (PEM) to verify it with, e.g. the stage's ca-bundle parameter (default: the system's trust store)",
    ),
    new Option('--yes', 'do not ask before copying (on a terminal it asks; without one --yes is required)'),
  ],
  examples: [
    '# the passwords in REDIS_FROM_PASSWORD and REDIS_TO_PASSWORD (read -rs, then export), never on the command line.',
    '# From an ElastiCache stage back to its new, empty Fargate Redis, on a host in the VPC (docs/runbook/copy-data.md):',
    'npm run -s ops -- copy-data --from rediss://master.prod-redis-back.abc123.euw1.cache.amazonaws.com:6380 --to rediss://default@redis.prod.emailclient.internal:6380 --ca-file-to ca.pem',
    '# one database only, without asking:',
    'npm run -s ops -- copy-data --from redis://app@127.0.0.1:6390 --to redis://default@127.0.0.1:6379 --db 1 --yes',
  ],
  environment: [
    ['REDIS_FROM_PASSWORD', 'password of the --from user (keeps it out of ps and your shell history)'],
    ['REDIS_TO_PASSWORD', 'password of the --to user'],
  ],
  exitCodes: [
    [0, 'copied and verified (what was copied, per database, on stdout)'],
    [
      1,
      'refused (the target is not empty, the same server, a type it cannot copy: nothing written), failed, or not verified: a key of the source not copied (the target held a different one), or differences (listed on stderr)',
    ],
    [2, 'wrong usage (and without a terminal: no --yes)'],
    [
      130,
      'interrupted (Ctrl-C; twice: at once): the target holds a partial copy to empty before another run',
    ],
  ],
  load: () => import('../actions/copy-data'),
};
