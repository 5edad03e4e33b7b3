/**
 * Every error a client can provoke below our routes — Node's HTTP parser, Fastify's router, content
 * parsers and the docs' static files — answers the catalogue's `{"error": {code, message, details}}`
 * with a fitting 4xx status, over a real socket, and nothing of it is logged at error level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/errors.ts';
import { bearer, type CreatedApp, createApp, createHarness, type Harness, P8_KEY } from '../http/harness.ts';
import { exchange, type RawResponse } from './raw-http.ts';

let h: Harness;
let port: number;
let app: CreatedApp;

beforeAll(async () => {
  h = await createHarness({ bodyLimitBytes: 4096 });
  app = await createApp(h);
  port = Number(new URL(await h.app.listen({ host: '127.0.0.1', port: 0 })).port);
});
afterAll(async () => {
  await h.close();
});

function expectCatalogue(response: RawResponse | undefined, code: keyof typeof ERROR_CATALOGUE): void {
  expect(response, 'a response').toBeDefined();
  const body = JSON.parse(response!.body) as { error: { code: string; message: string; details: unknown } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error.code).toBe(code);
  expect(response!.status).toBe(ERROR_CATALOGUE[code].status);
  expect(response!.headers['content-type']).toMatch(/^application\/json/);
}

function errorLevelLines(from: number): string[] {
  return h.logLines.slice(from).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
}

const admin = () => `Authorization: Bearer ${h.adminToken}\r\n`;

interface Case {
  readonly name: string;
  readonly request: () => string | Buffer;
  readonly code: keyof typeof ERROR_CATALOGUE;
}

const jsonPost = (body: string | Buffer, contentType = 'application/json', length?: number): Buffer =>
  Buffer.concat([
    Buffer.from(
      `POST /v1/apps HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${admin()}Content-Type: ${contentType}\r\n` +
        `Content-Length: ${length ?? Buffer.byteLength(body)}\r\n\r\n`,
    ),
    typeof body === 'string' ? Buffer.from(body) : body,
  ]);

function validAppBodyWithName(name: Buffer): Buffer {
  const body = JSON.stringify({
    name: '@@NAME@@',
    topic: 'com.example.app',
    apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: P8_KEY },
  });
  const [before = '', after = ''] = body.split('@@NAME@@');
  return Buffer.concat([Buffer.from(before), name, Buffer.from(after)]);
}

const cases: Case[] = [
  { name: 'malformed JSON', request: () => jsonPost('{"name": '), code: 'PK_ERR_VALIDATION' },
  { name: 'an empty JSON body', request: () => jsonPost(''), code: 'PK_ERR_VALIDATION' },
  {
    name: 'a prototype-poisoning JSON body',
    request: () => jsonPost('{"__proto__": {"admin": true}}'),
    code: 'PK_ERR_VALIDATION',
  },
  {
    // A body that is valid in every other way: a lenient decoder would create an app named "A\uFFFD(".
    name: 'invalid UTF-8 in a JSON body',
    request: () => jsonPost(validAppBodyWithName(Buffer.from([0x41, 0xc3, 0x28]))),
    code: 'PK_ERR_VALIDATION',
  },
  {
    name: 'an unsupported media type',
    request: () => jsonPost('<app/>', 'text/xml'),
    code: 'PK_ERR_MEDIA_TYPE_UNSUPPORTED',
  },
  {
    name: 'a body over the limit',
    request: () => jsonPost(`"${'x'.repeat(5000)}"`),
    code: 'PK_ERR_BODY_TOO_LARGE',
  },
  {
    name: 'a declared Content-Length over the limit',
    request: () => jsonPost('{}', 'application/json', 1_000_000),
    code: 'PK_ERR_BODY_TOO_LARGE',
  },
  {
    name: 'bad percent-encoding in a path parameter',
    request: () => `GET /v1/apps/%E0%A4%A/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${admin()}\r\n`,
    code: 'PK_ERR_VALIDATION',
  },
  {
    name: 'a request line that is not HTTP',
    request: () => 'HELLO THERE\r\n\r\n',
    code: 'PK_ERR_VALIDATION',
  },
  {
    name: 'a header block over the size limit',
    request: () => `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    code: 'PK_ERR_HEADERS_TOO_LARGE',
  },
  {
    name: 'an unknown Transfer-Encoding',
    // RFC 9112 §6.3: a request whose last transfer coding is not chunked cannot be framed.
    request: () => `POST /v1/apps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n`,
    code: 'PK_ERR_VALIDATION',
  },
  {
    name: 'a static path climbing out (raw ..)',
    request: () => 'GET /docs/static/../../../package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    code: 'PK_ERR_NOT_FOUND',
  },
  {
    name: 'a static path climbing out (%2e%2e)',
    request: () =>
      'GET /docs/static/%2e%2e/%2e%2e/%2e%2e/package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    code: 'PK_ERR_NOT_FOUND',
  },
  {
    name: 'a static path with %00',
    request: () => 'GET /docs/static/index.html%00.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    code: 'PK_ERR_NOT_FOUND',
  },
  {
    name: 'a static dotfile',
    request: () => 'GET /docs/static/.env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    code: 'PK_ERR_NOT_FOUND',
  },
];

describe('errors below the routes answer from the catalogue', () => {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const logMark = h.logLines.length;
      const result = await exchange(port, testCase.request());
      expect(result.closedByServer).toBe(true);
      expect(result.responses).toHaveLength(1);
      expectCatalogue(result.responses[0], testCase.code);
      expect(result.trailing).toBe('');
      expect(errorLevelLines(logMark)).toEqual([]);
    });
  }

  it('a Content-Length shorter than the body: the rest is not a second request', async () => {
    // The first request reads 2 bytes ('{"'), which is not JSON; the remaining bytes are then parsed
    // as a request line and refused. Both answers come from the catalogue.
    const logMark = h.logLines.length;
    const body = '{"name":"x"}';
    const request =
      `POST /v1/apps HTTP/1.1\r\nHost: x\r\n${admin()}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n` +
      body;
    const result = await exchange(port, request);
    expect(result.closedByServer).toBe(true);
    expect(result.responses.length).toBeGreaterThanOrEqual(1);
    for (const response of result.responses) expectCatalogue(response, 'PK_ERR_VALIDATION');
    expect(result.trailing).toBe('');
    expect(errorLevelLines(logMark)).toEqual([]);
  });

  it('a route parameter longer than any valid one answers 414 from the catalogue', async () => {
    const result = await exchange(
      port,
      `GET /v1/apps/${app.id}/devices/${'a'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${admin()}\r\n`,
    );
    expectCatalogue(result.responses[0], 'PK_ERR_URI_TOO_LONG');
  });

  it('the docs themselves are still served', async () => {
    const result = await exchange(
      port,
      'GET /docs/static/swagger-ui.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(result.responses[0]?.status).toBe(200);
  });
});

describe('feedback-poll failures say what failed, not what the socket said', () => {
  it('a refused connection answers the catalogue code with no errno or cause', async () => {
    const throwing = await createHarness();
    try {
      const created = await createApp(throwing, 'F', { feedback: { host: '127.0.0.1', port: 9 } });
      const { PushkeeperError } = await import('../../src/errors.ts');
      throwing.feedback.pollNow = async () => {
        const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:9'), { code: 'ECONNREFUSED' });
        throw new PushkeeperError(
          'PK_ERR_FEEDBACK_CONNECT',
          'Could not connect to the feedback service: connect ECONNREFUSED 10.0.0.7:9',
          { host: '10.0.0.7', port: 9, phase: 'connect', cause: 'ECONNREFUSED' },
          { cause: refused },
        );
      };
      const response = await throwing.app.inject({
        method: 'POST',
        url: `/v1/apps/${created.id}/feedback:poll`,
        headers: bearer(created.apiKey),
      });
      expect(response.statusCode).toBe(502);
      expect(response.json().error.code).toBe('PK_ERR_FEEDBACK_CONNECT');
      expect(response.body).not.toMatch(/ECONNREFUSED|errno|10\.0\.0\.7|cause/);
    } finally {
      await throwing.close();
    }
  });
});
