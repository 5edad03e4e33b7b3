/**
 * `POST /v1/apps/:app/devices:import`: bulk registration from an NDJSON body, streamed.
 *
 * The content-type parser hands the raw request stream to the handler (the JSON body limit does not
 * apply; each line has its own limit), the lines are split incrementally and fed to
 * store.devices.import, which commits in batches. Invalid lines are skipped and reported (the first
 * 100 of them); valid ones are registered. Fastify treats `:` as a parameter marker, so the literal
 * colon of the route is written `::` (Fastify docs, "Routes": "use `::` to escape a colon").
 */
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Problem, unknownDeviceField } from '../../domain/index.ts';
import type { DeviceInput } from '../../store/contract.ts';
import { ndjsonLines } from '../ndjson-lines.ts';
import { sendError, sendProblem } from '../problem-reply.ts';
import type { RoutePluginOptions } from '../route-context.ts';
import { AppParams, errorResponses, ImportResultSchema } from '../schemas.ts';

export const MAX_IMPORT_LINE_BYTES = 16 * 1024;
const REPORTED_REJECTIONS = 100;
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];
/** The path as the OpenAPI document spells it. */
export const IMPORT_PATH = '/v1/apps/{app}/devices:import';
export const IMPORT_LINE_DESCRIPTION =
  'One JSON object per line: {"token": "…", "environment": "production"|"sandbox", "alias": "42", "tags": ["beta"], "locale": "en_GB"}.';

interface RejectedLine {
  readonly line: number;
  readonly code: string;
  readonly message: string;
  readonly reason: string | null;
}

/** An import line's device, or why the line is not one (the same field list as PUT's body). */
function deviceInput(value: unknown): DeviceInput | Pick<Problem, 'message' | 'reason'> {
  if (value === undefined) return { message: 'The line is not valid JSON.', reason: 'invalid-json' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { message: 'The line is not a JSON object.', reason: 'not-object' };
  }
  const unknown = unknownDeviceField(value, ['token']);
  if (unknown !== undefined) {
    return { message: `"${unknown.slice(0, 64)}" is not a device field.`, reason: 'unknown-field' };
  }
  const record = value as Record<string, unknown>;
  const input: { -readonly [K in keyof DeviceInput]: DeviceInput[K] } = { token: record['token'] };
  if (record['environment'] !== undefined) input.environment = record['environment'];
  if (record['alias'] !== undefined) input.alias = record['alias'];
  if (record['tags'] !== undefined) input.tags = record['tags'];
  if (record['locale'] !== undefined) input.locale = record['locale'];
  return input;
}

export const deviceImportRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { context }) => {
  const { store } = context.deps;

  // Only NDJSON here: any other Content-Type is refused (415) before a byte of the body is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(NDJSON_TYPES, (_request, payload, done) => done(null, payload));

  app.post(
    '/v1/apps/:app/devices::import',
    {
      config: { access: 'server' },
      schema: {
        tags: ['devices'],
        summary:
          'Bulk register devices from NDJSON (one {"token", "environment", "alias", "tags", "locale"} per line), streamed.',
        consumes: NDJSON_TYPES,
        params: AppParams,
        response: { 200: ImportResultSchema, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const body = request.body as unknown as Readable;
      const rejectedLines: RejectedLine[] = [];
      let parseRejected = 0;
      // Line numbers of the store's rejections: input index i is line i + 1 + (lines skipped before it).
      const skippedBefore: number[] = [];
      let yielded = 0;
      const reject = (line: number, problem: Pick<Problem, 'code' | 'message' | 'reason'>) => {
        if (rejectedLines.length < REPORTED_REJECTIONS * 2) {
          rejectedLines.push({
            line,
            code: problem.code,
            message: problem.message,
            reason: problem.reason ?? null,
          });
        }
      };

      async function* inputs(): AsyncGenerator<DeviceInput> {
        for await (const line of ndjsonLines(body, MAX_IMPORT_LINE_BYTES)) {
          if (line.kind === 'too-long') {
            skippedBefore.push(yielded);
            parseRejected += 1;
            reject(line.number, {
              code: 'PK_ERR_IMPORT_LINE_INVALID',
              message: `The line is longer than ${MAX_IMPORT_LINE_BYTES} bytes.`,
              reason: 'line-too-long',
            });
            continue;
          }
          if (line.kind === 'invalid-utf8') {
            skippedBefore.push(yielded);
            parseRejected += 1;
            reject(line.number, {
              code: 'PK_ERR_IMPORT_LINE_INVALID',
              message: 'The line is not valid UTF-8.',
              reason: 'invalid-utf8',
            });
            continue;
          }
          if (line.text.trim() === '') {
            skippedBefore.push(yielded);
            continue;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(line.text);
          } catch {
            parsed = undefined;
          }
          const input = deviceInput(parsed);
          if (!('token' in input)) {
            skippedBefore.push(yielded);
            parseRejected += 1;
            reject(line.number, { code: 'PK_ERR_IMPORT_LINE_INVALID', ...input });
            continue;
          }
          yielded += 1;
          yield input;
        }
      }

      const lineOfInput = (index: number): number => {
        // skippedBefore is sorted: count the entries <= index by binary search.
        let low = 0;
        let high = skippedBefore.length;
        while (low < high) {
          const mid = (low + high) >>> 1;
          if (skippedBefore[mid]! <= index) low = mid + 1;
          else high = mid;
        }
        return index + 1 + low;
      };

      let result: Awaited<ReturnType<typeof store.devices.import>>;
      try {
        result = await store.devices.import(request.params.app, inputs(), {
          at: context.now(),
          onRejected: (index, problem) => reject(lineOfInput(index), problem),
        });
      } catch (error) {
        // A client that goes away mid-upload is not a server error; the committed batches stay.
        if (!request.raw.complete || body.destroyed) {
          request.log.info(
            { appId: request.params.app, linesRead: yielded },
            'device import aborted by the client',
          );
          return sendError(reply, 'PK_ERR_VALIDATION', 'The upload was interrupted.', {
            reason: 'aborted',
            linesRead: yielded,
          });
        }
        throw error;
      }
      if (!result.ok) return sendProblem(reply, result.error);
      rejectedLines.sort((a, b) => a.line - b.line);
      const counts = result.value;
      request.log.info(
        {
          appId: request.params.app,
          created: counts.created,
          updated: counts.updated,
          rejected: counts.rejected + parseRejected,
        },
        'devices imported',
      );
      return {
        created: counts.created,
        updated: counts.updated,
        rejected: counts.rejected + parseRejected,
        rejectedLines: rejectedLines.slice(0, REPORTED_REJECTIONS),
      };
    },
  );
};
