/**
 * The device registry of one app (docs/api.md, "Devices"): register/refresh, read,
 * unregister, list with filters, aliases (logout on one device or everywhere).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { type DeviceToken, parseDeviceToken, parseEnvironment } from '../../domain/index.ts';
import type { DeviceFilter, DeviceInput } from '../../store/contract.ts';
import { sendError, sendProblem } from '../problem-reply.ts';
import type { RoutePluginOptions } from '../route-context.ts';
import {
  AliasParams,
  DeviceListQuery,
  DeviceParams,
  DeviceSchema,
  errorResponses,
  PageQuery,
  pageOf,
  RegisterDeviceBody,
} from '../schemas.ts';
import { deviceView } from '../views.ts';

/** The path's token, normalised (lower-case hex), or a 400 PK_ERR_TOKEN_INVALID answer. */
function pathToken(reply: FastifyReply, raw: string): DeviceToken | null {
  const parsed = parseDeviceToken(raw);
  if (parsed.ok) return parsed.value;
  sendProblem(reply, parsed.error);
  return null;
}

export const deviceRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { context }) => {
  const { store } = context.deps;
  const DeviceList = pageOf(DeviceSchema);

  app.put(
    '/v1/apps/:app/devices/:token',
    {
      config: { access: 'publishable' },
      schema: {
        tags: ['devices'],
        summary:
          'Register or refresh a device (publishable keys allowed). Absent fields keep their value; alias/locale null clears; tags replace.',
        params: DeviceParams,
        body: RegisterDeviceBody,
        response: { 200: DeviceSchema, 201: DeviceSchema, ...errorResponses(400, 403, 404) },
      },
      // A refresh needs no body: an absent body means "keep every field".
      preValidation: (request, _reply, done) => {
        if (request.body === undefined || request.body === null) (request as { body: unknown }).body = {};
        done();
      },
    },
    async (request, reply) => {
      const token = pathToken(reply, request.params.token);
      if (token === null) return reply;
      const { app: appId } = request.params;
      const principal = request.principal;
      if (principal?.kind === 'app' && principal.scope === 'publishable') {
        // A publishable key ships inside the app and is public; limit how often one device re-registers.
        const decision = context.publishableRegistrationLimiter.take(`${appId}\u0000${token}`);
        if (!decision.allowed) {
          reply.header('retry-after', String(decision.retryAfterSeconds));
          return sendError(
            reply,
            'PK_ERR_RATE_LIMITED',
            'Too many registrations of this device; retry later.',
            {
              retryAfterSeconds: decision.retryAfterSeconds,
            },
          );
        }
      }
      const body = request.body;
      const input: { -readonly [K in keyof DeviceInput]: DeviceInput[K] } = { token };
      if (body.environment !== undefined) input.environment = body.environment;
      if (body.alias !== undefined) input.alias = body.alias;
      if (body.tags !== undefined) input.tags = body.tags;
      if (body.locale !== undefined) input.locale = body.locale;
      const registered = await store.devices.register(appId, input, context.now());
      if (!registered.ok) return sendProblem(reply, registered.error);
      return reply.code(registered.value.created ? 201 : 200).send(deviceView(registered.value.device));
    },
  );

  app.get(
    '/v1/apps/:app/devices/:token',
    {
      config: { access: 'server' },
      schema: {
        tags: ['devices'],
        summary: 'Read one device.',
        params: DeviceParams,
        response: { 200: DeviceSchema, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const token = pathToken(reply, request.params.token);
      if (token === null) return reply;
      const found = await store.devices.get(request.params.app, token);
      if (!found.ok) return sendProblem(reply, found.error);
      if (found.value === null) return sendError(reply, 'PK_ERR_DEVICE_NOT_FOUND');
      return deviceView(found.value);
    },
  );

  app.delete(
    '/v1/apps/:app/devices/:token',
    {
      config: { access: 'server' },
      schema: {
        tags: ['devices'],
        summary: 'Unregister a device.',
        params: DeviceParams,
        response: { 204: Type.Null({ description: 'Unregistered.' }), ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const token = pathToken(reply, request.params.token);
      if (token === null) return reply;
      const deleted = await store.devices.delete(request.params.app, token);
      if (!deleted.ok) return sendProblem(reply, deleted.error);
      if (!deleted.value) return sendError(reply, 'PK_ERR_DEVICE_NOT_FOUND');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/apps/:app/devices',
    {
      config: { access: 'server' },
      schema: {
        tags: ['devices'],
        summary: 'List devices, cursor-paginated; filter by one of alias, tag, environment.',
        params: Type.Object({ app: Type.String() }),
        querystring: DeviceListQuery,
        response: { 200: DeviceList, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const { alias, tag, environment, cursor, limit } = request.query;
      const given = [alias, tag, environment].filter((value) => value !== undefined).length;
      if (given > 1) {
        return sendError(
          reply,
          'PK_ERR_VALIDATION',
          'Filter by one of alias, tag or environment at a time.',
          {
            reason: 'one-filter',
          },
        );
      }
      let filter: DeviceFilter = { all: true };
      if (alias !== undefined) filter = { alias };
      else if (tag !== undefined) filter = { tag };
      else if (environment !== undefined) {
        const parsed = parseEnvironment(environment);
        if (!parsed.ok) return sendProblem(reply, parsed.error);
        filter = { environment: parsed.value };
      }
      const page = await store.devices.list(request.params.app, filter, { cursor, limit });
      if (!page.ok) return sendProblem(reply, page.error);
      return { items: page.value.items.map(deviceView), nextCursor: page.value.nextCursor };
    },
  );

  app.delete(
    '/v1/apps/:app/devices/:token/alias',
    {
      config: { access: 'server' },
      schema: {
        tags: ['aliases'],
        summary: 'Unbind the alias of one device (logout on that device).',
        params: DeviceParams,
        response: { 204: Type.Null({ description: 'Unbound.' }), ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const token = pathToken(reply, request.params.token);
      if (token === null) return reply;
      const unbound = await store.devices.unbindAlias(request.params.app, token);
      if (!unbound.ok) return sendProblem(reply, unbound.error);
      if (!unbound.value) return sendError(reply, 'PK_ERR_DEVICE_NOT_FOUND');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/apps/:app/aliases/:alias/devices',
    {
      config: { access: 'server' },
      schema: {
        tags: ['aliases'],
        summary: 'The devices of one alias (user), cursor-paginated.',
        params: AliasParams,
        querystring: PageQuery,
        response: { 200: DeviceList, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const page = await store.devices.list(
        request.params.app,
        { alias: request.params.alias },
        { cursor: request.query.cursor, limit: request.query.limit },
      );
      if (!page.ok) return sendProblem(reply, page.error);
      return { items: page.value.items.map(deviceView), nextCursor: page.value.nextCursor };
    },
  );

  app.delete(
    '/v1/apps/:app/aliases/:alias',
    {
      config: { access: 'server' },
      schema: {
        tags: ['aliases'],
        summary: 'Unbind every device of an alias (logout everywhere); answers how many.',
        params: AliasParams,
        response: {
          200: Type.Object({ alias: Type.String(), unbound: Type.Integer() }),
          ...errorResponses(400, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const unbound = await store.devices.unbindAllOfAlias(request.params.app, request.params.alias);
      if (!unbound.ok) return sendProblem(reply, unbound.error);
      return { alias: request.params.alias, unbound: unbound.value };
    },
  );
};
