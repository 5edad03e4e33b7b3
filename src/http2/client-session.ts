/**
 * An HTTP/2 client session of our own over one TLS socket (RFC 9113), shaped for APNs: requests are
 * a small header block and a small body, answers are headers and at most a small JSON body.
 *
 * Why not node:http2: every node:http2 request is a native-backed Http2Stream whose wrapper V8
 * cannot collect young, so each request's whole object graph is promoted to the old generation
 * (~4 KB per notification, `--trace-gc`), and any node:http2 client peaks near 300 MB of RSS for
 * 100,000 notifications (docs/benchmarks.md). Here a request is one plain object, its frames are
 * queued and written to the socket once per tick, and answers are parsed straight from the socket's
 * chunks.
 *
 * What the session does: the connection preface and SETTINGS exchange (§3.4, §6.5), HPACK both ways
 * (RFC 7541) with CONTINUATION, send-side flow control on the connection and on each stream (§6.9 —
 * APNs keeps HTTP/2's default 64 KiB connection window, smaller than 1,000 payloads), receive-side
 * window updates, PING both ways, GOAWAY both ways, RST_STREAM, stream ids up to 2^31-1. It enforces
 * no stream limit itself: its owner opens streams within `remoteMaxConcurrentStreams`.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import {
  CONNECTION_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  FRAME_HEADER_LENGTH,
  Flag,
  FrameType,
  frameHeader,
  goawayFrame,
  H2Error,
  H2ProtocolError,
  MAX_FRAME_SIZE_LIMIT,
  MAX_STREAM_ID,
  MAX_WINDOW,
  pingFrame,
  rstStreamFrame,
  SETTINGS_ACK,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames.ts';
import { type FrameHandler, FrameReader } from './frame-reader.ts';
import { HpackDecoder } from './hpack-decoder.ts';
import { HpackEncoder } from './hpack-encoder.ts';
import { HpackError } from './hpack-error.ts';
import { checkResponseFields } from './response-fields.ts';

/** Why a stream ended. */
export type StreamEnd =
  /** The answer arrived whole (END_STREAM). */
  | 'complete'
  /** The server reset it (`rstCode` says why; REFUSED_STREAM means it was not processed). */
  | 'reset'
  /** Above a GOAWAY's last-stream-id: not processed (RFC 9113 §6.8). */
  | 'goaway'
  /** We cancelled it (`cancel()`). */
  | 'cancelled'
  /** The connection went away first. */
  | 'connection-lost';

/**
 * One request and its answer. The owner creates it (subclassing is fine), the session fills it in
 * and calls `onStreamEnd` exactly once.
 */
export class H2Stream {
  id = 0;
  /** The final (non-1xx) response status, 0 before it arrives. */
  status = 0;
  /** The final response header fields, flat: [name, value, …]. */
  fields: string[] | undefined = undefined;
  /** Response body chunks, kept up to a cap. */
  chunks: Buffer[] | undefined = undefined;
  rstCode: number | undefined = undefined;
  end: StreamEnd | undefined = undefined;
  /** The request's END_STREAM reached the socket: the server may have the whole request. */
  requestWritten = false;
  /** @internal send side */
  sendWindow = 0;
  /** @internal the part of the body not yet framed (flow control) */
  pendingBody: Buffer | undefined = undefined;
  /** @internal */
  pendingOffset = 0;
  /**
   * @internal what the server may still send on this stream (RFC 9113 §6.9.1). Never reopened: the
   * 64 KiB initial window holds four times the body we keep (BODY_CAP).
   */
  receiveWindow = DEFAULT_WINDOW;
  /** Why we reset the stream, when the server's answer broke the protocol (a stream error, §5.4.2). */
  streamError: H2ProtocolError | undefined = undefined;
  /** @internal */
  bodyBytes = 0;
}

export interface SessionListener {
  /** TLS is up and h2 negotiated; the preface and our SETTINGS are queued. */
  onConnect(): void;
  /** The server's SETTINGS arrived (the first one, and any change after). */
  onRemoteSettings(maxConcurrentStreams: number): void;
  onGoaway(errorCode: number, lastStreamId: number, debug: Buffer): void;
  /** A PING we sent was answered. */
  onPingAck(): void;
  onStreamEnd(stream: H2Stream): void;
  /** The socket is gone; every stream has ended before this is called. `error` unless a clean close. */
  onClose(error: Error | undefined): void;
}

export interface ClientSessionOptions {
  /** `https://host:port` */
  readonly origin: string;
  readonly listener: SessionListener;
  readonly tls?: tls.ConnectionOptions;
  /** Header names whose values change per request: never added to the HPACK table. */
  readonly volatileHeaderNames?: Iterable<string>;
}

/** Our receive windows: answers are small, so a connection window of 1 MiB never stalls the server. */
const CONNECTION_RECEIVE_WINDOW = 1 << 20;
/** Window octets handed back once this many were consumed. */
const WINDOW_UPDATE_THRESHOLD = 16_384;
/** Response body octets kept per stream; APNs' bodies are a few dozen octets of JSON. */
const BODY_CAP = 16_384;
/** What we advertise as SETTINGS_MAX_HEADER_LIST_SIZE and enforce when decoding. */
const MAX_HEADER_LIST_SIZE = 65_536;
/**
 * CONTINUATION frames accepted in one header block. A 64 KiB block needs four 16 KiB frames; a
 * server sending more is flooding (the CVE-2024-27316 shape: endless CONTINUATION frames, empty
 * ones included, each costing work and none ever ending the block).
 */
const MAX_CONTINUATION_FRAMES = 32;
/** After our GOAWAY, how long the socket gets to flush it before it is destroyed anyway. */
const SOCKET_END_GRACE_MS = 2_000;

export class Http2ClientSession {
  readonly #listener: SessionListener;
  readonly #socket: tls.TLSSocket;
  readonly #encoder: HpackEncoder;
  readonly #decoder = new HpackDecoder(4096);
  readonly #streams = new Map<number, H2Stream>();
  /** Streams waiting for send window, in the order they asked. */
  #blocked: H2Stream[] = [];
  #nextStreamId = 1;
  #connected = false;
  #closing = false;
  /** GOAWAY sent and our side of the socket ended. */
  #ending = false;
  #closed = false;
  #error: Error | undefined;
  #settingsSeen = false;
  #remoteMaxConcurrentStreams = Number.MAX_SAFE_INTEGER;
  #remoteInitialWindow = DEFAULT_WINDOW;
  #remoteMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #connectionSendWindow = DEFAULT_WINDOW;
  #connectionUnacked = 0;
  /**
   * What the server may still send on the connection: our 1 MiB (the WINDOW_UPDATE sent with the
   * preface) plus every WINDOW_UPDATE since, less the DATA received (RFC 9113 §6.9.1).
   */
  #connectionReceiveWindow = CONNECTION_RECEIVE_WINDOW;
  #goawayLastStreamId: number | undefined;
  /** Frames queued this tick; written together. */
  #out: Buffer[] = [];
  #flushScheduled = false;
  readonly #reader = new FrameReader();
  readonly #frame: FrameHandler = (type, flags, streamId, payload) => this.#onFrame(type, flags, streamId, payload);
  readonly #stopped = (): boolean => this.#stoppedReading();
  /** A header block split over HEADERS and CONTINUATION frames. */
  #continuation:
    | { streamId: number; endStream: boolean; fragments: Buffer[]; length: number; frames: number }
    | undefined;
  readonly #flush = (): void => this.#flushNow();

  constructor(options: ClientSessionOptions) {
    this.#listener = options.listener;
    this.#encoder = new HpackEncoder(
      options.volatileHeaderNames === undefined ? {} : { volatileNames: options.volatileHeaderNames },
    );
    const url = new URL(options.origin);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#socket = tls.connect({
      ...options.tls,
      host,
      port: url.port === '' ? 443 : Number(url.port),
      // SNI carries a host name, never an address (RFC 6066 §3).
      ...(isIpAddress(host) ? {} : { servername: host }),
      ALPNProtocols: ['h2'],
    });
    const socket = this.#socket;
    // Requests are written once per tick already: Nagle would only add latency.
    socket.setNoDelay(true);
    socket.once('secureConnect', () => this.#onSecureConnect());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => {
      this.#error ??= error;
    });
    socket.once('close', () => this.#onSocketClose());
  }

  get connected(): boolean {
    return this.#connected;
  }

  get settingsSeen(): boolean {
    return this.#settingsSeen;
  }

  /** MAX_CONCURRENT_STREAMS as the server last set it (unlimited until it says otherwise). */
  get remoteMaxConcurrentStreams(): number {
    return this.#remoteMaxConcurrentStreams;
  }

  get activeStreams(): number {
    return this.#streams.size;
  }

  /** False once GOAWAY was sent or received, the ids ran out, or the socket is going. */
  get canOpenStreams(): boolean {
    return (
      this.#connected &&
      !this.#closing &&
      !this.#closed &&
      this.#goawayLastStreamId === undefined &&
      this.#nextStreamId <= MAX_STREAM_ID
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Why the session failed (a socket error, or our H2ProtocolError), once it has; set before streams end. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Opens a stream: HEADERS for `fields` (flat [name, value, …]), then `body` as DATA with
   * END_STREAM, as far as the flow-control windows allow now and the rest when they open.
   */
  request(fields: readonly string[], body: Buffer, stream: H2Stream): void {
    if (!this.canOpenStreams) throw new Error('The session opens no more streams.');
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    stream.id = id;
    stream.sendWindow = this.#remoteInitialWindow;
    this.#streams.set(id, stream);
    // The common case — the body fits the windows and one frame — goes out as one buffer holding
    // HEADERS and DATA.
    const whole =
      body.length > 0 &&
      body.length <= this.#connectionSendWindow &&
      body.length <= stream.sendWindow &&
      body.length <= this.#remoteMaxFrameSize;
    const tailroom = whole ? FRAME_HEADER_LENGTH + body.length : 0;
    const out = this.#encoder.encode(fields, FRAME_HEADER_LENGTH, tailroom);
    const blockLength = out.length - FRAME_HEADER_LENGTH - tailroom;
    if (blockLength <= this.#remoteMaxFrameSize) {
      const flags = Flag.END_HEADERS | (body.length === 0 ? Flag.END_STREAM : 0);
      writeFrameHeader(out, 0, blockLength, FrameType.HEADERS, flags, id);
      if (whole) {
        const dataAt = FRAME_HEADER_LENGTH + blockLength;
        writeFrameHeader(out, dataAt, body.length, FrameType.DATA, Flag.END_STREAM, id);
        body.copy(out, dataAt + FRAME_HEADER_LENGTH);
        this.#connectionSendWindow -= body.length;
        stream.sendWindow -= body.length;
        stream.requestWritten = true;
        this.#queue(out);
        this.#scheduleFlush();
        return;
      }
      this.#queue(out);
    } else {
      this.#queueHeaderBlock(
        id,
        out.subarray(FRAME_HEADER_LENGTH, FRAME_HEADER_LENGTH + blockLength),
        body.length === 0,
      );
    }
    if (body.length === 0) {
      stream.requestWritten = true;
    } else {
      stream.pendingBody = body;
      stream.pendingOffset = 0;
      if (!this.#sendData(stream)) this.#blocked.push(stream);
    }
    this.#scheduleFlush();
  }

  /** RST_STREAM CANCEL: we stop waiting; the server may still have acted on the request. */
  cancel(stream: H2Stream): void {
    if (stream.end !== undefined || this.#streams.get(stream.id) !== stream) return;
    this.#queue(rstStreamFrame(stream.id, H2Error.CANCEL));
    this.#scheduleFlush();
    this.#endStream(stream, 'cancelled');
  }

  ping(): void {
    if (!this.#connected || this.#closed) return;
    const opaque = Buffer.allocUnsafe(8);
    opaque.writeDoubleBE(Date.now());
    this.#queue(pingFrame(opaque, false));
    this.#scheduleFlush();
  }

  /** No new streams; GOAWAY(NO_ERROR) and the socket closes once the open streams have ended. */
  close(): void {
    if (this.#closed) return;
    this.#closing = true;
    if (!this.#connected) {
      this.#socket.destroy();
      return;
    }
    this.#closeWhenIdle();
  }

  destroy(error?: Error): void {
    if (error !== undefined) this.#error ??= error;
    this.#closing = true;
    this.#socket.destroy();
  }

  #closeWhenIdle(): void {
    if (this.#streams.size > 0 || this.#closed || this.#ending) return;
    this.#ending = true;
    this.#queue(goawayFrame(0, H2Error.NO_ERROR));
    this.#flushNow();
    this.#endSocket();
  }

  /**
   * Our last frames are flushed, then the socket is closed without waiting for the server's side
   * (nghttp2 keeps its side open after our FIN).
   */
  #endSocket(): void {
    const socket = this.#socket;
    socket.end(() => socket.destroy());
    setTimeout(() => socket.destroy(), SOCKET_END_GRACE_MS).unref();
  }

  #onSecureConnect(): void {
    // RFC 9113 §3.2: over TLS, HTTP/2 is only spoken after ALPN agreed on "h2".
    if (this.#socket.alpnProtocol !== 'h2') {
      this.destroy(
        new Error(`The server did not negotiate HTTP/2 (ALPN: ${String(this.#socket.alpnProtocol)}).`),
      );
      return;
    }
    this.#connected = true;
    this.#queue(CONNECTION_PREFACE);
    this.#queue(
      settingsFrame([
        // No server push (RFC 9113 §8.4): a PUSH_PROMISE is then a connection error.
        [Setting.ENABLE_PUSH, 0],
        [Setting.MAX_CONCURRENT_STREAMS, 0],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_SIZE],
      ]),
    );
    this.#queue(windowUpdateFrame(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_WINDOW));
    this.#flushNow();
    this.#listener.onConnect();
  }

  #queue(chunk: Buffer): void {
    this.#out.push(chunk);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Every request issued in this tick goes out in one write (one TLS record run, one syscall).
    process.nextTick(this.#flush);
  }

  #flushNow(): void {
    this.#flushScheduled = false;
    const out = this.#out;
    if (out.length === 0 || this.#closed || this.#socket.destroyed) {
      this.#out = [];
      return;
    }
    this.#out = [];
    this.#socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  #queueHeaderBlock(streamId: number, block: Buffer, endStream: boolean): void {
    const max = this.#remoteMaxFrameSize;
    const endFlag = endStream ? Flag.END_STREAM : 0;
    if (block.length <= max) {
      this.#queue(frameHeader(block.length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, streamId));
      this.#queue(block);
      return;
    }
    // RFC 9113 §6.10: the rest of a block larger than a frame follows in CONTINUATION frames, with
    // nothing in between.
    for (let offset = 0; offset < block.length; offset += max) {
      const piece = block.subarray(offset, Math.min(block.length, offset + max));
      const last = offset + max >= block.length;
      const type = offset === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (offset === 0 ? endFlag : 0) | (last ? Flag.END_HEADERS : 0);
      this.#queue(frameHeader(piece.length, type, flags, streamId));
      this.#queue(piece);
    }
  }

  /** Frames as much of the stream's body as the windows allow; true when all of it is queued. */
  #sendData(stream: H2Stream): boolean {
    const body = stream.pendingBody;
    if (body === undefined) return true;
    while (stream.pendingOffset < body.length) {
      const allowed = Math.min(
        this.#connectionSendWindow,
        stream.sendWindow,
        this.#remoteMaxFrameSize,
        body.length - stream.pendingOffset,
      );
      if (allowed <= 0) return false;
      const start = stream.pendingOffset;
      const last = start + allowed === body.length;
      const out = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + allowed);
      writeFrameHeader(out, 0, allowed, FrameType.DATA, last ? Flag.END_STREAM : 0, stream.id);
      body.copy(out, FRAME_HEADER_LENGTH, start, start + allowed);
      this.#queue(out);
      this.#connectionSendWindow -= allowed;
      stream.sendWindow -= allowed;
      stream.pendingOffset = start + allowed;
    }
    stream.pendingBody = undefined;
    stream.requestWritten = true;
    return true;
  }

  /** Window opened: blocked bodies go out in the order they asked; one held by its own window does not hold up the rest. */
  #sendBlocked(): void {
    const still: H2Stream[] = [];
    for (const stream of this.#blocked) {
      if (stream.end !== undefined) continue;
      if (this.#connectionSendWindow <= 0 || !this.#sendData(stream)) still.push(stream);
    }
    this.#blocked = still;
    this.#scheduleFlush();
  }

  #onData(chunk: Buffer): void {
    // After a connection error of ours nothing more is read (RFC 9113 §5.4.1).
    if (this.#stoppedReading()) return;
    try {
      this.#reader.push(chunk, this.#frame, this.#stopped);
    } catch (error) {
      this.#fail(error);
    }
  }

  #stoppedReading(): boolean {
    return this.#closed || (this.#ending && this.#error !== undefined);
  }

  #onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.#continuation !== undefined && type !== FrameType.CONTINUATION) {
      throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'A header block was interrupted by another frame.');
    }
    // RFC 9113 §3.4: the server's preface is a SETTINGS frame.
    if (!this.#settingsSeen && type !== FrameType.SETTINGS) {
      throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'The server did not start with SETTINGS.');
    }
    switch (type) {
      case FrameType.DATA:
        this.#onDataFrame(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.#onHeadersFrame(flags, streamId, payload);
        return;
      case FrameType.CONTINUATION:
        this.#onContinuation(flags, streamId, payload);
        return;
      case FrameType.RST_STREAM:
        this.#onRstStream(streamId, payload);
        return;
      case FrameType.SETTINGS:
        this.#onSettings(flags, streamId, payload);
        return;
      case FrameType.PING:
        this.#onPing(flags, streamId, payload);
        return;
      case FrameType.GOAWAY:
        this.#onGoaway(streamId, payload);
        return;
      case FrameType.WINDOW_UPDATE:
        this.#onWindowUpdate(streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled.');
      case FrameType.PRIORITY:
        // RFC 9113 §6.3: PRIORITY always names a stream (it may be idle or closed, §5.1).
        if (streamId === 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0.');
        if (payload.length !== 5)
          throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'PRIORITY must be 5 octets.');
        return;
      default:
        // RFC 9113 §4.1: frames of unknown types are ignored.
        return;
    }
  }

  /** Strips the padding (and the priority fields of HEADERS) of a frame's payload. */
  #unpad(flags: number, payload: Buffer, priorityLength: number): Buffer {
    if ((flags & Flag.PADDED) === 0 && priorityLength === 0) return payload;
    let start = 0;
    let end = payload.length;
    if ((flags & Flag.PADDED) !== 0) {
      if (payload.length < 1)
        throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'A padded frame without its pad length.');
      end -= payload[0]!;
      start = 1;
    }
    start += priorityLength;
    if (end < start) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'Padding longer than the frame.');
    return payload.subarray(start, end);
  }

  #onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0.');
    // Flow control counts the whole frame, padding included (RFC 9113 §6.9.1), even on a stream we
    // no longer track; DATA beyond the window we gave is a FLOW_CONTROL_ERROR.
    this.#connectionReceiveWindow -= payload.length;
    if (this.#connectionReceiveWindow < 0) {
      throw new H2ProtocolError(H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the connection window.');
    }
    this.#connectionUnacked += payload.length;
    if (this.#connectionUnacked >= WINDOW_UPDATE_THRESHOLD) {
      this.#queue(windowUpdateFrame(0, this.#connectionUnacked));
      this.#connectionReceiveWindow += this.#connectionUnacked;
      this.#connectionUnacked = 0;
      this.#scheduleFlush();
    }
    const data = this.#unpad(flags, payload, 0);
    const stream = this.#streams.get(streamId);
    if (stream === undefined) {
      // §5.1: DATA on a stream never opened (idle) is a connection error; on one that ended, it is
      // late and dropped (we may have reset it ourselves).
      if (this.#isIdle(streamId)) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream.');
      return;
    }
    stream.receiveWindow -= payload.length;
    if (stream.receiveWindow < 0) {
      this.#resetStream(stream, H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the stream window.');
      return;
    }
    if (stream.status === 0) {
      // §8.1: DATA comes after the response's HEADERS, never before.
      this.#resetStream(stream, H2Error.PROTOCOL_ERROR, 'DATA before the response headers.');
      return;
    }
    if (data.length > 0 && stream.bodyBytes < BODY_CAP) {
      const kept = Buffer.from(data.subarray(0, BODY_CAP - stream.bodyBytes));
      stream.bodyBytes += kept.length;
      if (stream.chunks === undefined) stream.chunks = [kept];
      else stream.chunks.push(kept);
    }
    if ((flags & Flag.END_STREAM) !== 0) {
      this.#endStream(stream, 'complete');
      return;
    }
    if (stream.receiveWindow === 0) {
      // An answer that fills the stream window without ending is cut there: we keep 16 KiB of it
      // anyway, and a window we never reopen is one a server can be held to. RST_STREAM CANCEL
      // tells the server we read no further (§8.1 lets a client stop reading an answer).
      if (stream.requestWritten) this.#queue(rstStreamFrame(stream.id, H2Error.CANCEL));
      this.#scheduleFlush();
      this.#endStream(stream, 'complete');
    }
  }

  #onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0.');
    // §5.1, §5.1.1: a server opens no stream with HEADERS (even ids are its own, and push is off);
    // HEADERS on a stream we never opened is a connection error.
    if (!this.#streams.has(streamId) && this.#isIdle(streamId)) {
      throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, `HEADERS on idle stream ${streamId}.`);
    }
    const fragment = this.#unpad(flags, payload, (flags & Flag.PRIORITY) !== 0 ? 5 : 0);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) !== 0) {
      this.#onHeaderBlock(streamId, fragment, endStream);
      return;
    }
    this.#continuation = {
      streamId,
      endStream,
      fragments: [Buffer.from(fragment)],
      length: fragment.length,
      frames: 0,
    };
  }

  #onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const pending = this.#continuation;
    if (pending === undefined || pending.streamId !== streamId) {
      throw new H2ProtocolError(
        H2Error.PROTOCOL_ERROR,
        'CONTINUATION without the header block it continues.',
      );
    }
    pending.length += payload.length;
    pending.frames += 1;
    // Bounded by size and by frame count, empty frames included (CVE-2024-27316; §10.5 lets an
    // endpoint refuse what costs it too much with ENHANCE_YOUR_CALM).
    if (pending.length > MAX_HEADER_LIST_SIZE) {
      throw new H2ProtocolError(H2Error.ENHANCE_YOUR_CALM, 'A header block larger than we accept.');
    }
    if (pending.frames > MAX_CONTINUATION_FRAMES) {
      throw new H2ProtocolError(H2Error.ENHANCE_YOUR_CALM, 'A header block in too many CONTINUATION frames.');
    }
    pending.fragments.push(Buffer.from(payload));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.#continuation = undefined;
    this.#onHeaderBlock(streamId, Buffer.concat(pending.fragments), pending.endStream);
  }

  #onHeaderBlock(streamId: number, block: Buffer, endStream: boolean): void {
    let fields: string[];
    try {
      // Decoded even for a stream we dropped: the HPACK table is the connection's (RFC 7541 §2.2).
      fields = this.#decoder.decode(block);
    } catch (error) {
      if (error instanceof HpackError)
        throw new H2ProtocolError(H2Error.COMPRESSION_ERROR, `Bad header block: ${error.message}`);
      throw error;
    }
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    const trailers = stream.status !== 0;
    const checked = checkResponseFields(fields, trailers);
    if (typeof checked === 'string') {
      // §8.1.1: a malformed response is a stream error of type PROTOCOL_ERROR.
      this.#resetStream(stream, H2Error.PROTOCOL_ERROR, `Malformed response: ${checked}.`);
      return;
    }
    if (trailers) {
      // §8.1: trailers end the stream; nothing APNs sends, so only their END_STREAM matters.
      if (endStream) this.#endStream(stream, 'complete');
      else this.#resetStream(stream, H2Error.PROTOCOL_ERROR, 'Trailers without END_STREAM.');
      return;
    }
    const status = checked;
    if (status < 200) {
      // 1xx answers are interim and the final one follows (§8.1); an interim answer that ends the
      // stream, or 101 which HTTP/2 does not have (§8.6), is malformed.
      if (endStream || status === 101) {
        this.#resetStream(stream, H2Error.PROTOCOL_ERROR, `Malformed response: interim ${status} ends the stream.`);
      }
      return;
    }
    stream.status = status;
    stream.fields = fields;
    if (endStream) this.#endStream(stream, 'complete');
  }

  #onRstStream(streamId: number, payload: Buffer): void {
    if (payload.length !== 4)
      throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM must be 4 octets.');
    if (streamId === 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0.');
    const stream = this.#streams.get(streamId);
    if (stream === undefined) {
      // §5.1 (idle): RST_STREAM on a stream never opened is a connection error.
      if (this.#isIdle(streamId))
        throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}.`);
      return;
    }
    stream.rstCode = payload.readUInt32BE(0);
    this.#endStream(stream, 'reset');
  }

  #onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream.');
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0)
        throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'A SETTINGS acknowledgement with a payload.');
      return;
    }
    if (payload.length % 6 !== 0)
      throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6.');
    for (let offset = 0; offset < payload.length; offset += 6) {
      const id = payload.readUInt16BE(offset);
      const value = payload.readUInt32BE(offset + 2);
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          this.#encoder.setPeerMaxTableSize(value);
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.#remoteMaxConcurrentStreams = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW)
            throw new H2ProtocolError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE above 2^31-1.');
          // RFC 9113 §6.9.2: the change applies to every open stream's window, which may go negative.
          const delta = value - this.#remoteInitialWindow;
          this.#remoteInitialWindow = value;
          for (const stream of this.#streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW)
              throw new H2ProtocolError(H2Error.FLOW_CONTROL_ERROR, 'A stream window above 2^31-1.');
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) {
            throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} out of range.`);
          }
          this.#remoteMaxFrameSize = value;
          break;
        case Setting.ENABLE_PUSH:
          // §6.5.2: a server MUST NOT send 1 (push is the server's to offer, not to ask for).
          if (value !== 0)
            throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, `A server sent ENABLE_PUSH ${value}.`);
          break;
        default:
          // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored (§6.5.2).
          break;
      }
    }
    this.#queue(SETTINGS_ACK);
    this.#scheduleFlush();
    this.#settingsSeen = true;
    this.#listener.onRemoteSettings(this.#remoteMaxConcurrentStreams);
    if (this.#blocked.length > 0) this.#sendBlocked();
  }

  #onPing(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'PING on a stream.');
    if (payload.length !== 8) throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'PING must be 8 octets.');
    if ((flags & Flag.ACK) !== 0) {
      this.#listener.onPingAck();
      return;
    }
    this.#queue(pingFrame(payload, true));
    this.#scheduleFlush();
  }

  #onGoaway(streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream.');
    if (payload.length < 8)
      throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 octets.');
    const lastStreamId = payload.readUInt32BE(0) & MAX_STREAM_ID;
    const errorCode = payload.readUInt32BE(4);
    // A server may send GOAWAY twice, lowering last-stream-id (RFC 9113 §6.8).
    this.#goawayLastStreamId = Math.min(this.#goawayLastStreamId ?? MAX_STREAM_ID, lastStreamId);
    this.#listener.onGoaway(errorCode, lastStreamId, Buffer.from(payload.subarray(8)));
    for (const stream of [...this.#streams.values()]) {
      if (stream.id > this.#goawayLastStreamId) this.#endStream(stream, 'goaway');
    }
    this.#closing = true;
    this.#closeWhenIdle();
  }

  #onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4)
      throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE must be 4 octets.');
    const increment = payload.readUInt32BE(0) & MAX_WINDOW;
    if (streamId === 0) {
      if (increment === 0) throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, 'A WINDOW_UPDATE of 0.');
      this.#connectionSendWindow += increment;
      if (this.#connectionSendWindow > MAX_WINDOW)
        throw new H2ProtocolError(H2Error.FLOW_CONTROL_ERROR, 'The connection window above 2^31-1.');
    } else {
      const stream = this.#streams.get(streamId);
      if (stream === undefined) {
        // §5.1 (idle): only HEADERS or PRIORITY may name a stream never opened.
        if (this.#isIdle(streamId))
          throw new H2ProtocolError(H2Error.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}.`);
        return;
      }
      if (increment === 0) {
        this.#resetStream(stream, H2Error.PROTOCOL_ERROR, 'A stream WINDOW_UPDATE of 0.');
        return;
      }
      stream.sendWindow += increment;
      if (stream.sendWindow > MAX_WINDOW) {
        this.#resetStream(stream, H2Error.FLOW_CONTROL_ERROR, 'A stream window above 2^31-1.');
        return;
      }
    }
    if (this.#blocked.length > 0) this.#sendBlocked();
  }

  /**
   * RFC 9113 §5.1: a stream id we never opened — an odd one at or past our next id, or any even
   * one (a server's streams exist only through PUSH_PROMISE, which we disabled).
   */
  #isIdle(streamId: number): boolean {
    return (streamId & 1) === 0 || streamId >= this.#nextStreamId;
  }

  /** A stream error of ours (RFC 9113 §5.4.2): RST_STREAM and the stream ends as lost, `streamError` saying why. */
  #resetStream(stream: H2Stream, errorCode: number, reason: string): void {
    stream.streamError = new H2ProtocolError(errorCode, reason);
    this.#queue(rstStreamFrame(stream.id, errorCode));
    this.#scheduleFlush();
    this.#endStream(stream, 'connection-lost');
  }

  #endStream(stream: H2Stream, end: StreamEnd): void {
    if (stream.end !== undefined) return;
    stream.end = end;
    if (end === 'complete' && !stream.requestWritten && !this.#closed) {
      // The server answered before reading the whole request (RFC 9113 §8.1): we stop sending it.
      this.#queue(rstStreamFrame(stream.id, H2Error.CANCEL));
      this.#scheduleFlush();
    }
    stream.pendingBody = undefined;
    this.#streams.delete(stream.id);
    this.#listener.onStreamEnd(stream);
    if (this.#closing && this.#streams.size === 0) this.#closeWhenIdle();
  }

  /** A connection error (RFC 9113 §5.4.1): GOAWAY with the code, then the socket goes. */
  #fail(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.#error ??= failure;
    this.#closing = true;
    if (failure instanceof H2ProtocolError && this.#connected && !this.#closed && !this.#ending) {
      this.#ending = true;
      this.#queue(goawayFrame(0, failure.errorCode, failure.message.slice(0, 200)));
      this.#flushNow();
      // Not destroy() at once: a destroyed socket drops what it has not written yet, the GOAWAY too.
      this.#endSocket();
      return;
    }
    this.#socket.destroy();
  }

  #onSocketClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    this.#out = [];
    for (const stream of [...this.#streams.values()]) this.#endStream(stream, 'connection-lost');
    this.#blocked.length = 0;
    this.#listener.onClose(this.#error);
  }
}

function isIpAddress(host: string): boolean {
  return isIP(host) !== 0;
}
