/**
 * Entry point of `npm run -s ops -- <command> [options]` (see program.ts; `ops help` lists the
 * commands, `ops help <command>` explains one).
 */
import { main } from './program';

// This machine's Node 20 makes the AWS SDK print a notice about Node 22 on every call: not what
// the person must read on stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export { main };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ops: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
