/** A fake connection for the pool's factory seam: no sockets, answers at once. */
import type { ConnectionListener, PoolConnection, StreamOutcome, WireRequest } from '../../../src/providers/apns/index.ts';

/** A connection that answers 200 at once (or as `answer` says) and records requests. */
export function fakeFactory(answer: (request: WireRequest) => StreamOutcome | undefined = () => undefined) {
  const seen: WireRequest[] = [];
  const state = { active: 0, maxActive: 0 };
  const factory = (id: number, listener: ConnectionListener): PoolConnection => {
    const connection: PoolConnection = {
      id,
      state: 'ready',
      everConnected: true,
      everResponded: true,
      error: undefined,
      get activeStreams() {
        return state.active;
      },
      available: () => 1000 - state.active,
      request(request, done) {
        seen.push(request);
        state.active += 1;
        state.maxActive = Math.max(state.maxActive, state.active);
        queueMicrotask(() => {
          state.active -= 1;
          done(
            answer(request) ?? {
              kind: 'response',
              status: 200,
              headers: { 'apns-id': request.headers['apns-id'] },
              body: Buffer.alloc(0),
              connectionId: id,
            },
          );
          listener.onCapacity(connection);
        });
      },
      close: async () => {},
      destroy: () => {},
    };
    queueMicrotask(() => listener.onCapacity(connection));
    return connection;
  };
  return { factory, seen, state };
}
