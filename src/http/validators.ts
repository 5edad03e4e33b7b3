/**
 * Request validation: JSON bodies exactly as typed, everything else coerced.
 *
 * Path parameters, query strings and headers arrive as text, so `?limit=10` must become the number
 * 10 (Ajv's `coerceTypes`). A JSON body already carries its types: coercing it would store
 * `"alias": 42` as "42" and `"tags": "beta"` as ["beta"], accepting input the schema refuses.
 * Fastify's default compiler applies one Ajv configuration to every part of a request; this one
 * keeps two, and picks by part.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

/** Unknown fields are an error, not silently dropped: a typo in PATCH must not look like success. */
const COMMON = { removeAdditional: false, useDefaults: true, allErrors: false } as const;

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type BuildValidator = NonNullable<NonNullable<SchemaController['compilersFactory']>['buildValidator']>;

const fromPool = AjvCompiler();

// The server's own `ajv` option is not used: these two configurations are the whole of it.
const buildValidator: BuildValidator = (externalSchemas) => {
  const typed = fromPool(externalSchemas, { customOptions: { ...COMMON, coerceTypes: false } });
  const coerced = fromPool(externalSchemas, { customOptions: { ...COMMON, coerceTypes: 'array' } });
  return (route) => (route.httpPart === 'body' ? typed(route) : coerced(route));
};

export const requestValidation: SchemaController = { compilersFactory: { buildValidator } };
