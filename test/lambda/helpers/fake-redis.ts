import { createServer, type Server, type Socket } from 'node:net';

/** What the fake does with one command (args[0] upper-cased). */
export type CommandHandler = (args: string[], socket: Socket) => void;

/**
 * A TCP server on 127.0.0.1 that parses RESP command arrays and hands each to `handler`: for
 * replication behaviours a real Redis will not produce on demand (a cut-off transfer, an error
 * header, silence, a mark split across packets).
 */
export class FakeRedis {
  static async start(handler: CommandHandler): Promise<FakeRedis> {
    const fake = new FakeRedis(handler);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  readonly commands: string[][] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(handler: CommandHandler) {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let buffer = Buffer.alloc(0);
      socket.on('data', (data: Buffer) => {
        buffer = Buffer.concat([buffer, data]);
        for (;;) {
          const parsed = parseCommand(buffer);
          if (!parsed) return;
          buffer = buffer.subarray(parsed.consumed);
          const args = [(parsed.args[0] ?? '').toUpperCase(), ...parsed.args.slice(1)];
          this.commands.push(args);
          handler(args, socket);
        }
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    return address.port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Answers AUTH and REPLCONF with +OK; SYNC goes to `onSync`. */
export function replicationHandler(onSync: (socket: Socket) => void): CommandHandler {
  return (args, socket) => {
    if (args[0] === 'SYNC') onSync(socket);
    else socket.write('+OK\r\n');
  };
}

function parseCommand(buffer: Buffer): { args: string[]; consumed: number } | undefined {
  let pos = 0;
  const line = (): string | undefined => {
    const end = buffer.indexOf('\r\n', pos);
    if (end < 0) return undefined;
    const text = buffer.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return text;
  };
  const header = line();
  if (header === undefined || !header.startsWith('*')) return undefined;
  const count = Number(header.slice(1));
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = line();
    if (len === undefined) return undefined;
    const n = Number(len.slice(1));
    if (buffer.length < pos + n + 2) return undefined;
    args.push(buffer.subarray(pos, pos + n).toString('latin1'));
    pos += n + 2;
  }
  return { args, consumed: pos };
}
