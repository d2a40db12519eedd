import * as net from 'node:net';

/**
 * A fault-injecting TCP proxy between a MySQL client and server (both on 127.0.0.1) for network
 * chaos tests. It reads the MySQL packet framing (3-byte little-endian length, 1-byte sequence id,
 * payload) far enough to recognise statements: COM_QUERY text, and COM_STMT_EXECUTE by mapping the
 * statement id from each COM_STMT_PREPARE's PREPARE_OK reply back to its SQL (per connection, as
 * ids are). Faults match that SQL. PREPARE itself is never matched: it runs nothing.
 *
 * Assumes a non-pipelining client (mysql2 sends the next command only after the previous reply),
 * no compression, no LOAD DATA LOCAL. A client that asks for TLS is passed through unparsed.
 */
export type Fault =
  /** Forward the statement, swallow the reply, then cut both sockets (client: RST): the server acted, the client never hears. */
  (
    | {
        kind: 'lose-reply';
        match: RegExp;
        times?: number /** Cut anyway if no reply came within this (default 2000 ms). */;
        waitMs?: number;
      }
    /** Forward the statement and its reply, then freeze the connection: nothing forwarded, no FIN/RST either way. */
    | { kind: 'partition-after-reply'; match: RegExp; times?: number }
    /** Cut the connection (client: RST) when the statement is seen; the server never gets it. */
    | { kind: 'reset'; match: RegExp; times?: number }
  ) & {
    /** Only where the connection's statement before it matched this (a COMMIT of one kind of transaction). */
    after?: RegExp;
  };

const COM_QUIT = 0x01;
const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const COM_STMT_SEND_LONG_DATA = 0x18;
const COM_STMT_CLOSE = 0x19;
const NO_REPLY = new Set([COM_QUIT, COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE]);
const CLIENT_SSL = 0x800;
const MAX_PAYLOAD = 0xffffff;
/** After the reply of a 'partition-after-reply' statement, this much server silence means the reply is complete. */
const REPLY_QUIET_MS = 100;

type Item = Buffer | (() => void);

/** One direction: chunks (and actions, such as ending the socket) delivered in order, `latency()` ms after they arrived. */
class Pipe {
  private queue: { at: number; item: Item }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  constructor(
    private readonly out: () => net.Socket | undefined,
    private readonly latency: () => number,
  ) {}

  push(item: Item): void {
    // Never earlier than the item before: lowering the latency must not reorder the stream.
    const at = Math.max(performance.now() + this.latency(), this.lastAt);
    this.lastAt = at;
    if (this.queue.length === 0 && at <= performance.now()) return this.deliver(item);
    this.queue.push({ at, item });
    this.schedule();
  }

  clear(): void {
    this.queue = [];
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        while (this.queue.length && this.queue[0].at <= performance.now()) this.deliver(this.queue.shift()!.item);
        this.schedule();
      },
      Math.max(0, Math.ceil(this.queue[0].at - performance.now())),
    );
  }

  private deliver(item: Item): void {
    if (typeof item === 'function') return item();
    const out = this.out();
    if (out && !out.destroyed) out.write(item);
  }
}

/** Splits the complete packets off the front of `buffer`. */
function splitPackets(buffer: Buffer): { packets: Buffer[]; rest: Buffer } {
  const packets: Buffer[] = [];
  let offset = 0;
  while (buffer.length - offset >= 4) {
    const end = offset + 4 + buffer.readUIntLE(offset, 3);
    if (end > buffer.length) break;
    packets.push(buffer.subarray(offset, end));
    offset = end;
  }
  return { packets, rest: buffer.subarray(offset) };
}

class Connection {
  server: net.Socket | undefined;
  readonly toServer: Pipe;
  readonly toClient: Pipe;
  /** Partitioned: everything either side sends is discarded, and neither side's FIN/RST is passed on. */
  frozen = false;
  closed = false;
  /** 'handshake': pass through until the server's first OK; 'off': TLS, never parsed. */
  private phase: 'handshake' | 'commands' | 'off' = 'handshake';
  /** The start of the client's first packet, for its capability flags. */
  private clientFirst: Buffer = Buffer.alloc(0);
  /** Client side, once parsing commands: an incomplete packet. */
  private clientBuffer: Buffer = Buffer.alloc(0);
  private clientContinues = false;
  /** Server side: the current packet's header and first payload bytes, and how much of it is left to skip. */
  private serverHead: Buffer = Buffer.alloc(0);
  private serverSkip = 0;
  private readonly statements = new Map<number, string>();
  /** The last statement this connection sent, for faults with `after`. */
  private previousSql: string | undefined;
  /** Commands sent whose reply has not started yet (SQL kept for PREPARE, to pair it with its id). */
  private readonly awaiting: { command: number; sql?: string }[] = [];
  private mode: 'normal' | 'lose-reply' | 'freeze-after-reply' = 'normal';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly proxy: FaultProxy,
    readonly client: net.Socket,
    latency: () => number,
  ) {
    this.toServer = new Pipe(() => this.server, latency);
    this.toClient = new Pipe(() => this.client, latency);
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    client.on('error', () => {});
    client.on('close', () => this.sideClosed(() => this.toServer.push(() => this.server?.end())));
  }

  connect(target: { host: string; port: number }): void {
    const server = net.connect(target);
    this.server = server;
    server.on('data', (chunk: Buffer) => this.fromServer(chunk));
    server.on('error', () => {});
    server.on('close', () => this.sideClosed(() => this.toClient.push(() => this.client.end())));
  }

  /** One side closed: pass its FIN on (after the data before it), unless frozen: a partition carries no FIN either. */
  private sideClosed(passOn: () => void): void {
    if (this.frozen || this.closed) return;
    if (this.client.destroyed && this.server?.destroyed) {
      this.closed = true;
      this.proxy.forget(this);
    } else passOn();
  }

  freeze(): void {
    this.frozen = true;
    clearTimeout(this.timer);
    // Bytes still in flight are lost, as a dropped packet is.
    this.toServer.clear();
    this.toClient.clear();
  }

  /** Cuts both sockets: the client gets an RST (ECONNRESET), the server a FIN. */
  kill(): void {
    if (this.closed) return;
    this.closed = true;
    this.freeze();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    this.server?.destroy();
    this.proxy.forget(this);
  }

  private fromClient(chunk: Buffer): void {
    if (this.frozen || this.closed || this.mode === 'lose-reply') return;
    // The client sends only after the whole reply arrived, so the reply is complete: freeze now.
    if (this.mode === 'freeze-after-reply') return this.freeze();
    if (this.phase === 'off') return this.toServer.push(chunk);
    if (this.phase === 'handshake') {
      // The client's first packet is its handshake response or, with TLS, an SSLRequest: both begin with the capability flags.
      if (this.clientFirst.length < 6) {
        this.clientFirst = Buffer.concat([this.clientFirst, chunk]);
        if (this.clientFirst.length >= 6 && this.clientFirst.readUInt16LE(4) & CLIENT_SSL) this.phase = 'off';
      }
      return this.toServer.push(chunk);
    }
    const { packets, rest } = splitPackets(Buffer.concat([this.clientBuffer, chunk]));
    this.clientBuffer = rest;
    for (const packet of packets) {
      if (this.mode !== 'normal' || this.closed) return; // a fault fired: whatever follows is not forwarded
      this.fromClientPacket(packet);
    }
  }

  private fromClientPacket(packet: Buffer): void {
    const payload = packet.subarray(4);
    const continuation = this.clientContinues;
    this.clientContinues = payload.length === MAX_PAYLOAD;
    // Commands start a sequence (id 0); other client packets (auth exchanges of COM_CHANGE_USER, the rest of a >16 MB packet) just pass.
    if (continuation || packet[3] !== 0 || payload.length === 0) return this.toServer.push(packet);
    const command = payload[0];
    let sql: string | undefined;
    if (command === COM_QUERY) sql = payload.toString('utf8', 1);
    if (command === COM_STMT_EXECUTE && payload.length >= 5) sql = this.statements.get(payload.readUInt32LE(1));
    if (command === COM_STMT_CLOSE && payload.length >= 5) this.statements.delete(payload.readUInt32LE(1));
    if (!NO_REPLY.has(command))
      this.awaiting.push({ command, sql: command === COM_STMT_PREPARE ? payload.toString('utf8', 1) : undefined });
    const fault = sql === undefined ? undefined : this.proxy.statementSeen(sql, this.previousSql);
    if (sql !== undefined) this.previousSql = sql;
    if (fault?.kind === 'reset') return this.kill();
    this.toServer.push(packet);
    if (fault?.kind === 'lose-reply') {
      this.mode = 'lose-reply';
      // Started once the statement is written to the server, so latency does not eat into the wait.
      this.toServer.push(() => (this.timer = setTimeout(() => this.kill(), fault.waitMs ?? 2000)));
    }
    if (fault?.kind === 'partition-after-reply') this.mode = 'freeze-after-reply';
  }

  private fromServer(chunk: Buffer): void {
    if (this.frozen || this.closed) return;
    // The reply exists, so the server has executed the statement (and committed, for COMMIT): cut.
    if (this.mode === 'lose-reply') return this.kill();
    if (this.phase !== 'off') this.scanServer(chunk);
    this.toClient.push(chunk);
    if (this.mode === 'freeze-after-reply') {
      // Once this chunk reached the client, a short silence from the server ends the reply.
      this.toClient.push(() => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.freeze(), REPLY_QUIET_MS);
      });
    }
  }

  /** Reads server packet headers (and up to 5 payload bytes) without buffering whole result sets. */
  private scanServer(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.serverSkip > 0) {
        const n = Math.min(this.serverSkip, chunk.length - offset);
        offset += n;
        this.serverSkip -= n;
        continue;
      }
      const want = this.serverHead.length < 4 ? 4 : 4 + Math.min(this.serverHead.readUIntLE(0, 3), 5);
      const n = Math.min(want - this.serverHead.length, chunk.length - offset);
      this.serverHead = Buffer.concat([this.serverHead, chunk.subarray(offset, offset + n)]);
      offset += n;
      if (this.serverHead.length < 4) continue;
      const length = this.serverHead.readUIntLE(0, 3);
      if (this.serverHead.length < 4 + Math.min(length, 5)) continue;
      this.fromServerPacket(this.serverHead[3], this.serverHead.subarray(4));
      this.serverSkip = length - Math.min(length, 5);
      this.serverHead = Buffer.alloc(0);
    }
  }

  private fromServerPacket(sequence: number, head: Buffer): void {
    if (this.phase === 'handshake') {
      // The greeting starts with 0x0a, auth switch with 0xfe, more-data with 0x01: the first 0x00 is the auth OK.
      if (sequence > 0 && head[0] === 0x00) this.phase = 'commands';
      return;
    }
    // A reply's first packet has sequence id 1 (the command had 0).
    if (sequence !== 1 || this.awaiting.length === 0) return;
    const { command, sql } = this.awaiting.shift()!;
    if (command === COM_STMT_PREPARE && head[0] === 0x00 && head.length >= 5)
      this.statements.set(head.readUInt32LE(1), sql!);
  }
}

export class FaultProxy {
  readonly stats = { connections: 0, statements: 0, faultsFired: 0, firedLog: [] as { fault: string; sql: string }[] };
  private faults: { fault: Fault; left: number }[] = [];
  private readonly connections = new Set<Connection>();
  private partitioned = false;
  private resetting = false;
  private latencyMs = 0;
  private listenPort = 0;
  private readonly listener: net.Server;

  private constructor(private readonly target: { host: string; port: number }) {
    this.listener = net.createServer((client) => this.accept(client));
  }

  /** Listens on 127.0.0.1, on a free port. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.listener.once('error', reject);
      proxy.listener.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.listenPort = (proxy.listener.address() as net.AddressInfo).port;
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  /** `base` (a mysql:// URL) pointed at the proxy: host 127.0.0.1, the proxy's port, no ?socket=. */
  url(base: string): string {
    const url = new URL(base);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    url.searchParams.delete('socket');
    return url.toString();
  }

  /** Fires on the next `times` (default 1; Infinity: all) statements matching; the first armed fault that matches wins. */
  addFault(fault: Fault): void {
    this.faults.push({ fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Freezes every connection and leaves new ones accepted but never forwarded, as when a host's packets are dropped. */
  partition(): void {
    this.partitioned = true;
    for (const connection of this.connections) connection.freeze();
  }

  /**
   * New connections are forwarded again. Frozen connections (by partition() or 'partition-after-reply')
   * cannot resume, as bytes were lost mid-stream, so they are cut now: the client gets an RST, the
   * server a FIN (it rolls back and releases locks), as when TCP finally gives up after a partition.
   */
  heal(): void {
    this.partitioned = false;
    for (const connection of [...this.connections]) if (connection.frozen) connection.kill();
  }

  /**
   * Half-open connections: those open now go silent for good (no byte, no FIN, no RST either way)
   * while new connections work, as when a NAT or a firewall forgets a flow. Returns how many.
   */
  freezeOpenConnections(): number {
    for (const connection of this.connections) connection.freeze();
    return this.connections.size;
  }

  /** While on, every connection (current and new) is reset at once. */
  resetAll(on: boolean): void {
    this.resetting = on;
    if (on) for (const connection of [...this.connections]) connection.kill();
  }

  /** One-way delay added to each chunk in each direction (about 2 × ms per round trip), order kept. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  async close(): Promise<void> {
    for (const connection of [...this.connections]) connection.kill();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  /** @internal Counts a statement and returns the fault it fires, if any. */
  statementSeen(sql: string, previous: string | undefined): Fault | undefined {
    this.stats.statements++;
    const matches = (pattern: RegExp, text: string) => {
      pattern.lastIndex = 0; // a /g or /y pattern's test() is stateful
      return pattern.test(text);
    };
    const armed = this.faults.find(
      ({ fault }) =>
        matches(fault.match, sql) && (!fault.after || (previous !== undefined && matches(fault.after, previous))),
    );
    if (!armed) return undefined;
    if (--armed.left <= 0) this.faults.splice(this.faults.indexOf(armed), 1);
    this.stats.faultsFired++;
    this.stats.firedLog.push({ fault: `${armed.fault.kind} ${armed.fault.match}`, sql });
    return armed.fault;
  }

  /** @internal */
  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  private accept(client: net.Socket): void {
    this.stats.connections++;
    if (this.resetting) {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const connection = new Connection(this, client, () => this.latencyMs);
    this.connections.add(connection);
    // During a partition the TCP connect succeeds (the proxy accepts) but no greeting ever comes.
    if (this.partitioned) connection.frozen = true;
    else connection.connect(this.target);
  }
}

/** A TCP port free on 127.0.0.1 right now (for a server the test starts next). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
