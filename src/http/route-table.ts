/**
 * Every route the app serves, as registered, with the access rule it declared. The security tests
 * walk this table (test/security/isolation-matrix.test.ts), so a route added later is checked for
 * tenant isolation without anyone remembering to list it, and one added without an access rule
 * fails there.
 */
import type { FastifyInstance } from 'fastify';
import type { Access } from './access.ts';

export interface RouteEntry {
  readonly method: string;
  /** The path pattern as registered, e.g. `/v1/apps/:app/devices/:token`. */
  readonly url: string;
  /** `config.access` as the route declared it; undefined when it declared none. */
  readonly access: Access | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Filled as routes register; complete once the app is ready. */
    readonly routeTable: readonly RouteEntry[];
  }
}

/** Call before any route is registered: the onRoute hook sees the routes registered after it. */
export function recordRouteTable(app: FastifyInstance): void {
  const routes: RouteEntry[] = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const access = (route.config as { access?: Access } | undefined)?.access;
    for (const method of methods) routes.push({ method, url: route.url, access });
  });
}
