/** The pool against fake connections plugged in at its factory seam: no sockets. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/providers/apns/clock.ts';
import type { ConnectionListener, ConnectionState, PoolConnection, StreamOutcome, WireRequest } from '../../../src/providers/apns/connection.ts';
import { ConnectionPool, type ConnectionPoolOptions } from '../../../src/providers/apns/pool.ts';
import { PushkeeperError } from '../../../src/errors.ts';

class FakeConnection implements PoolConnection {
  state: ConnectionState = 'connecting';
  everConnected = false;
  everResponded = false;
  error: PushkeeperError | undefined;
  limit = 1;
  readonly open: { request: WireRequest; resolve: (o: StreamOutcome) => void }[] = [];
  readonly id: number;
  readonly listener: ConnectionListener;
  constructor(id: number, listener: ConnectionListener) {
    this.id = id;
    this.listener = listener;
  }
  get activeStreams() {
    return this.open.length;
  }
  available() {
    return this.state === 'ready' ? Math.max(0, this.limit - this.open.length) : 0;
  }
  request(request: WireRequest, done: (outcome: StreamOutcome) => void): void {
    if (this.available() <= 0) throw new Error(`connection ${this.id} over its limit`);
    this.open.push({ request, resolve: done });
  }
  ready(limit: number) {
    this.state = 'ready';
    this.everConnected = true;
    this.limit = limit;
    this.listener.onCapacity(this);
  }
  answer(count = this.open.length) {
    for (const stream of this.open.splice(0, count)) {
      this.everResponded = true;
      stream.resolve({ kind: 'response', status: 200, headers: {}, body: Buffer.alloc(0), connectionId: this.id });
    }
    if (this.state === 'ready') this.listener.onCapacity(this);
  }
  fail(error = new PushkeeperError('PK_ERR_APNS_TLS')) {
    this.error = error;
    this.state = 'closed';
    this.listener.onDraining(this);
    this.listener.onClosed(this);
  }
  async close() {
    this.answer();
    this.state = 'closed';
    this.listener.onDraining(this);
    this.listener.onClosed(this);
  }
  destroy() {
    for (const stream of this.open.splice(0)) stream.resolve({ kind: 'ambiguous', cause: 'connection-lost' });
    this.state = 'closed';
    this.listener.onDraining(this);
    this.listener.onClosed(this);
  }
}

function manualClock(): Clock & { advance(ms: number): Promise<void> } {
  let now = 0;
  const sleepers: { at: number; resolve: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => sleepers.push({ at: now + ms, resolve })),
    async advance(ms) {
      now += ms;
      for (const sleeper of sleepers.filter((s) => s.at <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
      await new Promise((r) => setImmediate(r));
    },
  };
}

const request: WireRequest = { headers: {}, payload: Buffer.alloc(1), timeoutMs: 1000 };
const flush = () => new Promise((r) => setImmediate(r));

let pool: ConnectionPool | undefined;
afterEach(() => pool?.destroy());

function makePool(size: number, clock = manualClock(), extra: Partial<ConnectionPoolOptions> = {}) {
  const made: FakeConnection[] = [];
  pool = new ConnectionPool({
    ...extra,
    size,
    clock,
    random: () => 1,
    factory: (id, listener) => {
      const connection = new FakeConnection(id, listener);
      made.push(connection);
      return connection;
    },
  });
  return { pool, made, clock };
}

describe('ConnectionPool', () => {
  it('opens connections lazily: none before work, one for one request', async () => {
    const { pool, made } = makePool(4);
    expect(made.length).toBe(0);
    const result = pool.dispatch(request);
    expect(made.length).toBe(1);
    made[0]!.ready(10);
    made[0]!.answer();
    expect((await result).kind).toBe('response');
    expect(made.length).toBe(1);
  });

  it('never exceeds a connection advertised limit and spreads a burst over up to N connections', async () => {
    const { pool, made } = makePool(3);
    const results = Array.from({ length: 100 }, () => pool.dispatch(request));
    expect(made.length).toBe(3);
    for (const connection of made) connection.ready(1);
    // one stream each until the server raises its limit
    expect(made.map((c) => c.activeStreams)).toEqual([1, 1, 1]);
    made[0]!.limit = 10;
    made[0]!.listener.onCapacity(made[0]!);
    expect(made[0]!.activeStreams).toBe(10);
    expect(pool.stats().queued).toBe(100 - 10 - 1 - 1);
    while (made.some((c) => c.activeStreams > 0)) for (const c of made) c.answer();
    await Promise.all(results);
    expect(pool.stats().queued).toBe(0);
    expect(made.length).toBe(3);
  });

  it('backs off exponentially after connections that fail before answering, and hands waiters back', async () => {
    const { pool, made, clock } = makePool(2);
    const first = pool.dispatch(request);
    made[0]!.fail();
    const outcome = await first;
    expect(outcome).toMatchObject({ kind: 'not-processed', cause: 'connect-failed' });
    if (outcome.kind === 'not-processed') expect(outcome.error?.code).toBe('PK_ERR_APNS_TLS');
    // next dispatch waits for the back-off (250 ms with random()=1)
    const second = pool.dispatch(request);
    expect(made.length).toBe(1);
    await clock.advance(249);
    expect(made.length).toBe(1);
    await clock.advance(1);
    expect(made.length).toBe(2);
    made[1]!.fail();
    await second;
    const third = pool.dispatch(request);
    await clock.advance(499);
    expect(made.length).toBe(2);
    await clock.advance(1);
    expect(made.length).toBe(3);
    made[2]!.ready(5);
    made[2]!.answer();
    expect((await third).kind).toBe('response');
    // a connection that answered resets the back-off
    await made[2]!.close();
    const fourth = pool.dispatch(request);
    expect(made.length).toBe(4);
    made[3]!.ready(1);
    made[3]!.answer();
    await fourth;
  });

  it('replaces a drained connection when work waits', async () => {
    const { pool, made } = makePool(1);
    // a first request answered: this connection is a healthy one (no reconnect back-off)
    const warmUp = pool.dispatch(request);
    made[0]!.ready(1);
    made[0]!.answer();
    await warmUp;
    const a = pool.dispatch(request);
    const b = pool.dispatch(request);
    expect(pool.stats().queued).toBe(1);
    // GOAWAY-like: the connection stops taking streams while `a` is still open on it
    made[0]!.state = 'draining';
    made[0]!.listener.onDraining(made[0]!);
    expect(made.length).toBe(2);
    made[0]!.answer();
    await a;
    expect(made[0]!.activeStreams).toBe(0);
    made[1]!.ready(1);
    made[1]!.answer();
    await b;
    expect(made.length).toBe(2);
  });

  it('close() sends what is queued, then closes; destroy() resolves waiters as pool-closed', async () => {
    const { pool, made } = makePool(1);
    const a = pool.dispatch(request);
    const b = pool.dispatch(request);
    const closing = pool.close();
    made[0]!.ready(1);
    made[0]!.answer();
    await flush();
    made[0]!.answer();
    await closing;
    expect((await a).kind).toBe('response');
    expect((await b).kind).toBe('response');
    expect(await pool.dispatch(request)).toEqual({ kind: 'not-processed', cause: 'pool-closed' });
    const other = makePool(1).pool;
    const waiting = other.dispatch(request);
    other.destroy();
    expect(await waiting).toEqual({ kind: 'not-processed', cause: 'pool-closed' });
  });

  it('fails waiters with no-streams once every connection offered zero streams for noStreamsTimeoutMs, and replaces the connection', async () => {
    const { pool, made, clock } = makePool(1, undefined, { noStreamsTimeoutMs: 1000 });
    let settled: StreamOutcome | undefined;
    void pool.dispatch(request).then((outcome) => {
      settled = outcome;
    });
    // RFC 9113 §6.5.2: MAX_CONCURRENT_STREAMS 0 is a legal setting; the request never reaches a wire.
    made[0]!.ready(0);
    await clock.advance(999);
    expect(settled).toBeUndefined();
    await clock.advance(1);
    expect(settled).toMatchObject({ kind: 'not-processed', cause: 'no-streams' });
    if (settled?.kind === 'not-processed') expect(settled.error?.code).toBe('PK_ERR_APNS_NO_STREAMS');
    expect(made[0]!.state).toBe('closed');
    // The replacement comes after the back-off of a connection that never answered (250 ms here).
    const next = pool.dispatch(request);
    await clock.advance(250);
    expect(made.length).toBe(2);
    made[1]!.ready(5);
    made[1]!.answer();
    expect((await next).kind).toBe('response');
  });

  it('never times out waiters while a connection has streams in use: they free up', async () => {
    const { pool, made, clock } = makePool(1, undefined, { noStreamsTimeoutMs: 1000 });
    const first = pool.dispatch(request);
    let second: StreamOutcome | undefined;
    void pool.dispatch(request).then((outcome) => {
      second = outcome;
    });
    made[0]!.ready(1);
    await clock.advance(10_000);
    expect(second).toBeUndefined();
    expect(pool.stats().queued).toBe(1);
    made[0]!.answer();
    made[0]!.answer();
    expect((await first).kind).toBe('response');
    await flush();
    expect(second?.kind).toBe('response');
  });
});
