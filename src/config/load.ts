/**
 * Loads settings from an optional JSON/YAML file and the environment (environment wins), validates
 * every setting against the schema in one pass, reports all problems together, and freezes the
 * result. Only cli/ calls this; everything below receives the frozen Config.
 */
import { PushkeeperError } from '../errors.ts';
import { SETTINGS, type SettingName, type SettingSpec } from './schema.ts';

type SettingValue<S extends SettingSpec> = S['type'] extends { kind: 'integer' | 'number' }
  ? number
  : S['type'] extends { kind: 'boolean' }
    ? boolean
    : string;

type HasDefault<S extends SettingSpec> = S extends { default: unknown } ? true : false;

export type Config = {
  readonly [K in SettingName]: HasDefault<(typeof SETTINGS)[K]> extends true
    ? SettingValue<(typeof SETTINGS)[K]>
    : SettingValue<(typeof SETTINGS)[K]> | undefined;
};

export interface ConfigProblem {
  readonly setting: SettingName | string;
  readonly source: string;
  readonly message: string;
  /** For an unknown key: the setting that was probably meant. */
  readonly suggestion?: SettingName;
}

export interface ConfigSources {
  /** Usually process.env, passed in by the CLI. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The parsed config file (JSON or YAML object), keyed by setting name (camelCase). */
  readonly file?: Readonly<Record<string, unknown>>;
  readonly fileName?: string;
  /** Explicit overrides, e.g. from CLI flags; they win over everything. */
  readonly overrides?: Readonly<Partial<Record<SettingName, unknown>>>;
}

function coerce(spec: SettingSpec, raw: unknown, fromEnv: boolean): { value?: unknown; error?: string } {
  const type = spec.type;
  switch (type.kind) {
    case 'integer':
    case 'number': {
      const value = fromEnv && typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || Number.isNaN(value)) return { error: `must be a number, got ${JSON.stringify(raw)}` };
      if (type.kind === 'integer' && !Number.isInteger(value)) return { error: `must be a whole number, got ${value}` };
      if (value < type.min || value > type.max) return { error: `must be between ${type.min} and ${type.max}, got ${value}` };
      return { value };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { value: raw };
      if (raw === 'true' || raw === '1') return { value: true };
      if (raw === 'false' || raw === '0') return { value: false };
      return { error: `must be true or false, got ${JSON.stringify(raw)}` };
    }
    case 'enum': {
      if (typeof raw === 'string' && type.values.includes(raw)) return { value: raw };
      return { error: `must be one of ${type.values.join(', ')}, got ${JSON.stringify(raw)}` };
    }
    case 'url': {
      if (typeof raw !== 'string') return { error: 'must be a URL' };
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return { error: `is not a URL: ${JSON.stringify(raw)}` };
      }
      if (!type.protocols.includes(url.protocol)) return { error: `must use ${type.protocols.join(' or ')}` };
      return { value: raw };
    }
    case 'string': {
      if (typeof raw !== 'string' || raw === '') return { error: 'must be a non-empty string' };
      if (type.pattern && !type.pattern.test(raw)) {
        return { error: `must be ${type.patternHint ?? `like ${type.pattern}`}${spec.secret ? '' : `, got ${JSON.stringify(raw)}`}` };
      }
      return { value: raw };
    }
  }
}

/** Case and separators aside (`data_dir`, `DataDir`, `PUSHKEEPER_DATA_DIR` → datadir). */
function loose(name: string): string {
  return name
    .toLowerCase()
    .replace(/^pushkeeper_/, '')
    .replace(/[^a-z0-9]/g, '');
}

/** The setting an unknown key probably meant: the same name but for case and separators. */
function closestSetting(key: string): SettingName | undefined {
  const wanted = loose(key);
  const names = Object.keys(SETTINGS) as SettingName[];
  return names.find((name) => loose(name) === wanted || loose(SETTINGS[name].env) === wanted);
}

/** Names the unknown key and, when one is close, the setting that was probably meant. */
function unknownSettingMessage(key: string, fileName: string, match: SettingName | undefined): string {
  const hint = match === undefined ? 'the settings are listed in docs/configuration.md' : `did you mean \`${match}\`?`;
  return `${JSON.stringify(key)} (${fileName}) is not a known setting; ${hint}`;
}

/** Validates everything at once; throws one PK_ERR_CONFIG_INVALID listing every problem. */
export function loadConfig(sources: ConfigSources): Config {
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};
  const file = sources.file ?? {};
  const fileName = sources.fileName ?? 'config file';
  for (const key of Object.keys(file)) {
    if (!Object.hasOwn(SETTINGS, key)) {
      const suggestion = closestSetting(key);
      problems.push({
        setting: key,
        source: fileName,
        message: unknownSettingMessage(key, fileName, suggestion),
        ...(suggestion === undefined ? {} : { suggestion }),
      });
    }
  }
  const names = Object.keys(SETTINGS) as SettingName[];
  // Settings with static defaults first, derived defaults after, so derivations see final values.
  const ordered = [
    ...names.filter((n) => typeof (SETTINGS[n] as SettingSpec).default !== 'function'),
    ...names.filter((n) => typeof (SETTINGS[n] as SettingSpec).default === 'function'),
  ];
  for (const name of ordered) {
    const spec: SettingSpec = SETTINGS[name];
    const override = sources.overrides?.[name];
    // A fallback variable (PORT, set by many hosting platforms) counts only when ours is unset.
    const envName =
      spec.envFallback !== undefined && !sources.env?.[spec.env] && sources.env?.[spec.envFallback]
        ? spec.envFallback
        : spec.env;
    const envRaw = sources.env?.[envName];
    let raw: unknown;
    let source: string;
    let fromEnv = false;
    if (override !== undefined) {
      raw = override;
      source = 'command line';
    } else if (envRaw !== undefined && envRaw !== '') {
      raw = envRaw;
      source = envName;
      fromEnv = true;
    } else if (file[name] !== undefined) {
      raw = file[name];
      source = fileName;
    } else {
      if (typeof spec.default === 'function') out[name] = spec.default(out);
      else if (spec.default !== undefined) out[name] = spec.default;
      continue;
    }
    const coerced = coerce(spec, raw, fromEnv || typeof raw === 'string');
    if (coerced.error !== undefined) problems.push({ setting: name, source, message: `${name} (${source}) ${coerced.error}` });
    else out[name] = coerced.value;
  }
  if ((out['metricsHost'] === undefined) !== (out['metricsPort'] === undefined)) {
    problems.push({ setting: 'metricsPort', source: 'config', message: 'metricsHost and metricsPort are set together or not at all' });
  }
  if (problems.length > 0) {
    throw new PushkeeperError(
      'PK_ERR_CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
      { problems },
    );
  }
  return Object.freeze(out) as Config;
}
