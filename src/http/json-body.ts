/**
 * The JSON body parser: strict UTF-8, then Fastify's own parser (which refuses `__proto__` and
 * `constructor.prototype` keys). RFC 8259 §8.1 requires JSON exchanged between systems to be UTF-8;
 * a lenient decoder would turn invalid bytes into U+FFFD and store an alias or a payload nobody
 * sent, so invalid bytes are a 400 instead (WHATWG Encoding, "fatal" error mode).
 */
import type { FastifyInstance } from 'fastify';
import { PushkeeperError } from '../errors.ts';

const JSON_TYPE = 'application/json';

export function useStrictJsonParser(app: FastifyInstance): void {
  const parseText = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(JSON_TYPE);
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      // A decoder per call: a fatal decoder that threw keeps no state, but one per body is simplest.
      text = new TextDecoder('utf-8', { fatal: true }).decode(body as Buffer);
    } catch {
      done(
        new PushkeeperError('PK_ERR_VALIDATION', 'The body is not valid UTF-8.', { reason: 'invalid-utf8' }),
        undefined,
      );
      return;
    }
    parseText(request, text, done);
  });
}
