/**
 * The device registry of one app (docs/api.md, "Devices"): register/refresh, read,
 * unregister, list with filters, aliases (logout on one device or everywhere).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type DeviceToken, parseDeviceToken, parseEnvironment } from '../../domain/index.ts';
import type { DeviceRegistration } from '../../service/devices.ts';
import type { DeviceFilter } from '../../store/contract.ts';
import { sendError, sendProblem } from '../problem-reply.ts';
import type { RouteContext, RoutePluginOptions } from '../route-context.ts';
import {
  AliasParams,
  DeviceListQuery,
  DeviceParams,
  DeviceSchema,
  errorResponses,
  PageQuery,
  pageOf,
  RegisterDeviceBody,
  RegistrationAcknowledgedSchema,
} from '../schemas.ts';
import { deviceView } from '../views.ts';

/** The path's token, normalised (lower-case hex), or a 400 PK_ERR_TOKEN_INVALID answer. */
function pathToken(reply: FastifyReply, raw: string): DeviceToken | null {
  const parsed = parseDeviceToken(raw);
  if (parsed.ok) return parsed.value;
  sendProblem(reply, parsed.error);
  return null;
}

/**
 * One registration, whatever route it came through: the publishable key's limits, then the
 * service's rules, then the answer's shape (the full device for a server key, an acknowledgement
 * that says nothing about the stored device for a publishable key).
 */
export async function registerDevice(
  context: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  registration: DeviceRegistration & { readonly token: DeviceToken },
): Promise<FastifyReply> {
  const appId = (request.params as { app: string }).app;
  const principal = request.principal;
  const registrant =
    principal?.kind === 'app' && principal.scope === 'publishable' ? 'publishable' : 'server';
  if (registrant === 'publishable') {
    const decision = context.registrationLimits.take(appId, request.ip, registration.token);
    if (!decision.allowed) {
      reply.header('retry-after', String(decision.retryAfterSeconds));
      return sendError(
        reply,
        'PK_ERR_RATE_LIMITED',
        `Too many registrations from this ${decision.scope}; retry later.`,
        {
          limit: `registrations-per-${decision.scope}`,
          retryAfterSeconds: decision.retryAfterSeconds,
        },
      );
    }
  }
  const registered = await context.devices.register(appId, registrant, registration);
  if (!registered.ok) return sendProblem(reply, registered.error);
  const outcome = registered.value;
  if (outcome.kind === 'acknowledged')
    return reply.code(202).send({ token: outcome.token, registered: true });
  return reply.code(outcome.created ? 201 : 200).send(deviceView(outcome.device));
}

export const deviceRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { context }) => {
  const { devices } = context;
  const DeviceList = pageOf(DeviceSchema);

  app.put(
    '/v1/apps/:app/devices/:token',
    {
      config: { access: 'publishable' },
      schema: {
        tags: ['devices'],
        summary:
          "Register or refresh a device. Absent fields keep their value; alias/locale null clears; tags replace. A publishable key binds an alias only with `aliasToken` and is answered 202 whatever the device's state.",
        params: DeviceParams,
        body: RegisterDeviceBody,
        response: {
          200: DeviceSchema,
          201: DeviceSchema,
          202: RegistrationAcknowledgedSchema,
          ...errorResponses(400, 403, 404, 409),
        },
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
      return registerDevice(context, request, reply, { ...request.body, token });
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
      const found = await devices.get(request.params.app, token);
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
      const deleted = await devices.unregister(request.params.app, token);
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
      const page = await devices.list(request.params.app, filter, { cursor, limit });
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
      const unbound = await devices.unbindAlias(request.params.app, token);
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
      const page = await devices.list(
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
      const unbound = await devices.unbindAllOfAlias(request.params.app, request.params.alias);
      if (!unbound.ok) return sendProblem(reply, unbound.error);
      return { alias: request.params.alias, unbound: unbound.value };
    },
  );
};
