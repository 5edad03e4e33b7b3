/**
 * RFC 7541 Appendix C: header lists and their encodings, shared by the decoder and encoder tests.
 * Each sequence is one connection: its blocks are decoded (or encoded) in order by one instance.
 */

export interface VectorBlock {
  readonly fields: readonly string[];
  readonly hex: string;
}

export interface VectorSequence {
  readonly section: string;
  /** SETTINGS_HEADER_TABLE_SIZE on that connection. */
  readonly tableSize: number;
  readonly blocks: readonly VectorBlock[];
}

const REQUEST_1 = [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'];
const REQUEST_2 = [...REQUEST_1, 'cache-control', 'no-cache'];
const REQUEST_3 = [
  ':method',
  'GET',
  ':scheme',
  'https',
  ':path',
  '/index.html',
  ':authority',
  'www.example.com',
  'custom-key',
  'custom-value',
];

const RESPONSE_TAIL = [
  'cache-control',
  'private',
  'date',
  'Mon, 21 Oct 2013 20:13:21 GMT',
  'location',
  'https://www.example.com',
];
const RESPONSE_1 = [':status', '302', ...RESPONSE_TAIL];
const RESPONSE_2 = [':status', '307', ...RESPONSE_TAIL];
const RESPONSE_3 = [
  ':status',
  '200',
  'cache-control',
  'private',
  'date',
  'Mon, 21 Oct 2013 20:13:22 GMT',
  'location',
  'https://www.example.com',
  'content-encoding',
  'gzip',
  'set-cookie',
  'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
];

/** C.2: single representations, each on a fresh connection. */
export const C2_BLOCKS: readonly (VectorBlock & { section: string; tableSizeAfter: number })[] = [
  {
    section: 'C.2.1 literal with indexing',
    fields: ['custom-key', 'custom-header'],
    hex: '400a637573746f6d2d6b65790d637573746f6d2d686561646572',
    tableSizeAfter: 55,
  },
  {
    section: 'C.2.2 literal without indexing',
    fields: [':path', '/sample/path'],
    hex: '040c2f73616d706c652f70617468',
    tableSizeAfter: 0,
  },
  {
    section: 'C.2.3 literal never indexed',
    fields: ['password', 'secret'],
    hex: '100870617373776f726406736563726574',
    tableSizeAfter: 0,
  },
  { section: 'C.2.4 indexed', fields: [':method', 'GET'], hex: '82', tableSizeAfter: 0 },
];

export const SEQUENCES: readonly VectorSequence[] = [
  {
    section: 'C.3 requests without Huffman',
    tableSize: 4096,
    blocks: [
      { fields: REQUEST_1, hex: '828684410f7777772e6578616d706c652e636f6d' },
      { fields: REQUEST_2, hex: '828684be58086e6f2d6361636865' },
      { fields: REQUEST_3, hex: '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565' },
    ],
  },
  {
    section: 'C.4 requests with Huffman',
    tableSize: 4096,
    blocks: [
      { fields: REQUEST_1, hex: '828684418cf1e3c2e5f23a6ba0ab90f4ff' },
      { fields: REQUEST_2, hex: '828684be5886a8eb10649cbf' },
      { fields: REQUEST_3, hex: '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf' },
    ],
  },
  {
    section: 'C.5 responses without Huffman (table 256, evictions)',
    tableSize: 256,
    blocks: [
      {
        fields: RESPONSE_1,
        hex:
          '4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d54' +
          '6e1768747470733a2f2f7777772e6578616d706c652e636f6d',
      },
      { fields: RESPONSE_2, hex: '4803333037c1c0bf' },
      {
        fields: RESPONSE_3,
        hex:
          '88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d' +
          '4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b207665' +
          '7273696f6e3d31',
      },
    ],
  },
  {
    section: 'C.6 responses with Huffman (table 256, evictions)',
    tableSize: 256,
    blocks: [
      {
        fields: RESPONSE_1,
        hex:
          '488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b' +
          '97c8e9ae82ae43d3',
      },
      { fields: RESPONSE_2, hex: '4883640effc1c0bf' },
      {
        fields: RESPONSE_3,
        hex:
          '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdf' +
          'cd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
      },
    ],
  },
];
