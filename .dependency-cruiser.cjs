/**
 * The layer rule of ARCHITECTURE.md, enforced: imports point down only.
 *   pure:     domain/, errors.ts, config/
 *   adapters: providers/{apns,...}/, feedback/, store/, queue/   (none imports another)
 *   http2/:   our HTTP/2 client, shared by the providers; imports only the pure layer
 *   service/: the pipeline; knows adapters' contracts
 *   edges:    http/, cli/   (cli may wire http)
 *   testing/: the mock APNs servers; imports only domain/ and errors.ts (an independent oracle)
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'pure-layer-is-pure',
      comment: 'domain/, errors.ts and config/ import nothing above them',
      severity: 'error',
      from: { path: '^src/(domain/|errors\\.ts|config/)' },
      to: { path: '^src/(providers|http2|feedback|store|queue|service|http|cli|testing)/' },
    },
    {
      name: 'domain-has-no-io',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|tls|http|http2|child_process|dgram|dns)$' },
    },
    {
      name: 'providers-do-not-import-each-other',
      comment: 'Providers are peers behind one seam: each may use http2/ and the pure layer, never another provider',
      severity: 'error',
      from: { path: '^src/providers/([^/]+)/' },
      to: { path: '^src/providers/', pathNot: '^src/providers/$1/' },
    },
    {
      name: 'providers-are-adapters',
      severity: 'error',
      from: { path: '^src/providers/' },
      to: { path: '^src/(feedback|store|queue|service|http|cli|testing)/' },
    },
    {
      name: 'http2-is-below-providers',
      severity: 'error',
      from: { path: '^src/http2/' },
      to: { path: '^src/(providers|feedback|store|queue|service|http|cli|testing)/' },
    },
    {
      name: 'feedback-is-an-adapter',
      severity: 'error',
      from: { path: '^src/feedback/' },
      to: { path: '^src/(providers|http2|store|queue|service|http|cli|testing)/' },
    },
    {
      name: 'store-is-an-adapter',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(providers|http2|feedback|queue|service|http|cli|testing)/' },
    },
    {
      name: 'queue-is-an-adapter',
      severity: 'error',
      from: { path: '^src/queue/' },
      to: { path: '^src/(providers|http2|feedback|store|service|http|cli|testing)/' },
    },
    {
      name: 'service-below-edges',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/(http|cli|testing)/' },
    },
    {
      name: 'http-below-cli',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(cli)/' },
    },
    {
      name: 'testing-is-an-independent-oracle',
      comment: 'The mock APNs server must not share code with the client it judges',
      severity: 'error',
      from: { path: '^src/testing/' },
      to: { path: '^src/(providers|http2|feedback|store|queue|service|http|cli|config)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
