/** The part of the `web-push` package's API the interop test and the benchmark use (it ships no types). */
declare module 'web-push' {
  import type { Agent } from 'node:https';

  interface PushSubscription {
    endpoint: string;
    keys: { p256dh: string; auth: string };
  }
  interface RequestOptions {
    vapidDetails?: { subject: string; publicKey: string; privateKey: string };
    TTL?: number;
    urgency?: 'very-low' | 'low' | 'normal' | 'high';
    topic?: string;
    agent?: Agent;
    timeout?: number;
    contentEncoding?: 'aes128gcm' | 'aesgcm';
  }
  interface SendResult {
    statusCode: number;
    body: string;
    headers: Record<string, string>;
  }
  class WebPushError extends Error {
    statusCode: number;
    body: string;
    headers: Record<string, string>;
  }
  function sendNotification(
    subscription: PushSubscription,
    payload?: string | Buffer | null,
    options?: RequestOptions,
  ): Promise<SendResult>;
  function generateVAPIDKeys(): { publicKey: string; privateKey: string };
  const webpush: {
    sendNotification: typeof sendNotification;
    generateVAPIDKeys: typeof generateVAPIDKeys;
    WebPushError: typeof WebPushError;
  };
  export default webpush;
  export { generateVAPIDKeys, sendNotification, WebPushError };
}
