/**
 * A transparent Duplex between a TLS socket and the HTTP/2 session, for two faults Node's HTTP/2
 * (nghttp2) cannot produce by itself (RFC 9113 §4.1 frame layout):
 *
 * - ignorePings: nghttp2 acknowledges every PING and Node offers no switch, so the client's PING
 *   frames (type 0x6 without ACK) are removed before nghttp2 sees them.
 * - GOAWAY with last-stream-id 0 after the first request (APNs' BadCertificateEnvironment,
 *   https://github.com/sideshow/apns2/issues/93):
 *   Node replaces a last-stream-id of 0 by the last stream nghttp2 processed, so the frame is
 *   written here, between two of nghttp2's frames, and the connection is then ended with nothing
 *   more from nghttp2 (whose own closing GOAWAY would carry a higher id, which RFC 9113 §6.8 forbids).
 *
 * Only connections that need it are wrapped: Node then runs the session over a JS stream, which
 * is slower than its native TLS path.
 */
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

const PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const FRAME_HEADER_LENGTH = 9;
const PING = 0x6;
const GOAWAY = 0x7;
const ACK = 0x1;

export interface FrameFilterOptions {
  readonly dropPings: boolean;
  readonly onPingDropped: () => void;
}

export function goAwayFrame(lastStreamId: number, errorCode: number, debug: Buffer): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER_LENGTH + 8 + debug.length);
  frame.writeUIntBE(8 + debug.length, 0, 3);
  frame[3] = GOAWAY;
  frame.writeUInt32BE(lastStreamId & 0x7fffffff, FRAME_HEADER_LENGTH);
  frame.writeUInt32BE(errorCode, FRAME_HEADER_LENGTH + 4);
  debug.copy(frame, FRAME_HEADER_LENGTH + 8);
  return frame;
}

export class FrameFilter extends Duplex {
  readonly #socket: TLSSocket;
  readonly #options: FrameFilterOptions;
  #pending: Buffer = Buffer.alloc(0);
  #prefaceSeen = false;
  /** Outgoing framing: header bytes of the frame being written, then its payload bytes left. */
  #outHeader: number[] = [];
  #outPayloadLeft = 0;
  #finalFrame: Buffer | undefined;
  #muted = false;

  constructor(socket: TLSSocket, options: FrameFilterOptions) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.#options = options;
    socket.on('data', (chunk: Buffer) => {
      const out = this.#filterIncoming(chunk);
      if (out.length > 0 && !this.push(out)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (error) => this.destroy(error));
  }

  /** Writes `frame` at the next frame boundary, then ends the connection; nghttp2 is muted. */
  endWith(frame: Buffer): void {
    if (this.#muted || this.#finalFrame !== undefined) return;
    this.#finalFrame = frame;
    if (this.#atBoundary()) this.#sendFinal();
  }

  #atBoundary(): boolean {
    return this.#outHeader.length === 0 && this.#outPayloadLeft === 0;
  }

  #sendFinal(): void {
    this.#muted = true;
    const frame = this.#finalFrame;
    if (frame === undefined) this.#socket.end();
    else this.#socket.end(frame);
  }

  #filterIncoming(chunk: Buffer): Buffer {
    if (!this.#options.dropPings) return chunk;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const kept: Buffer[] = [];
    let at = 0;
    if (!this.#prefaceSeen) {
      if (this.#pending.length < PREFACE_LENGTH) return Buffer.alloc(0);
      kept.push(this.#pending.subarray(0, PREFACE_LENGTH));
      at = PREFACE_LENGTH;
      this.#prefaceSeen = true;
    }
    while (this.#pending.length - at >= FRAME_HEADER_LENGTH) {
      const length = this.#pending.readUIntBE(at, 3);
      const end = at + FRAME_HEADER_LENGTH + length;
      if (end > this.#pending.length) break;
      const type = this.#pending[at + 3]!;
      const flags = this.#pending[at + 4]!;
      if (type === PING && (flags & ACK) === 0) this.#options.onPingDropped();
      else kept.push(this.#pending.subarray(at, end));
      at = end;
    }
    this.#pending = this.#pending.subarray(at);
    return Buffer.concat(kept);
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#muted) {
      callback();
      return;
    }
    // Walk nghttp2's output frame by frame so a final frame can be slipped in between two frames.
    let at = 0;
    while (at < chunk.length) {
      if (this.#outPayloadLeft > 0) {
        const take = Math.min(this.#outPayloadLeft, chunk.length - at);
        this.#outPayloadLeft -= take;
        at += take;
      } else {
        this.#outHeader.push(chunk[at]!);
        at++;
        if (this.#outHeader.length === FRAME_HEADER_LENGTH) {
          this.#outPayloadLeft =
            (this.#outHeader[0]! << 16) | (this.#outHeader[1]! << 8) | this.#outHeader[2]!;
          this.#outHeader = [];
        }
      }
      if (this.#finalFrame !== undefined && this.#atBoundary()) {
        this.#socket.write(chunk.subarray(0, at));
        this.#sendFinal();
        callback();
        return;
      }
    }
    this.#socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#muted) callback();
    else this.#socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}
