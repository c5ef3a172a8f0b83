import http from 'node:http';
import https from 'node:https';
import { AppError } from '@/lib/errors';

/**
 * A signed-in client of Loupe's HTTP API, as a script or another service would be: it signs in
 * through next-auth's credentials endpoint, keeps the session cookie, and turns the API's
 * `{error: {code, message}}` answers into thrown LoupeApiErrors. Used by the simulator's
 * reviewers and the queue benchmark; nothing in it reaches into the server's database.
 */
export class LoupeApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly route: string,
  ) {
    super(`${route}: ${status} ${message}`);
  }
}

export class LoupeClient {
  private readonly cookies = new Map<string, string>();
  private readonly agent: http.Agent;

  constructor(readonly baseUrl: string) {
    const options = { keepAlive: true, maxSockets: 8 };
    this.agent = baseUrl.startsWith('https:') ? new https.Agent(options) : new http.Agent(options);
  }

  /**
   * A client of another server of the same deployment carrying this one's session, as a browser
   * behind a load balancer would (the servers share NEXTAUTH_SECRET).
   */
  sameSessionOn(baseUrl: string): LoupeClient {
    const other = new LoupeClient(baseUrl);
    for (const [name, value] of this.cookies) other.cookies.set(name, value);
    return other;
  }

  async signIn(email: string, password: string): Promise<void> {
    const csrf = await this.request('GET', '/api/auth/csrf');
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    const form = new URLSearchParams({ csrfToken, email, password, json: 'true' });
    const response = await this.request('POST', '/api/auth/callback/credentials', form);
    await response.body?.cancel();
    const session = (await (await this.request('GET', '/api/auth/session')).json()) as { user?: { email?: string } };
    if (session.user?.email?.toLowerCase() !== email.toLowerCase()) {
      throw new AppError(
        'unauthorized',
        `signing in as ${email} at ${this.baseUrl} failed: check the email and password.`,
      );
    }
  }

  get<T>(route: string): Promise<T> {
    return this.json<T>('GET', route);
  }

  post<T>(route: string, body: unknown): Promise<T> {
    return this.json<T>('POST', route, JSON.stringify(body));
  }

  put<T>(route: string, body: unknown): Promise<T> {
    return this.json<T>('PUT', route, JSON.stringify(body));
  }

  /** multipart/form-data, as the import page sends it. */
  postForm<T>(route: string, form: FormData): Promise<T> {
    return this.json<T>('POST', route, form);
  }

  private async json<T>(method: string, route: string, body?: string | FormData): Promise<T> {
    const response = await this.request(method, route, body);
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      throw new LoupeApiError(response.status, 'not_json', `the answer was not JSON (${text.slice(0, 80)})`, route);
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new LoupeApiError(
        response.status,
        error?.code ?? 'http_error',
        error?.message ?? response.statusText,
        route,
      );
    }
    return parsed as T;
  }

  private async request(method: string, route: string, body?: string | FormData | URLSearchParams): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let payload: Buffer | undefined;
    if (typeof body === 'string') {
      headers['content-type'] = 'application/json';
      payload = Buffer.from(body);
    } else if (body !== undefined) {
      // A FormData or URLSearchParams as fetch would send it (multipart boundary, form encoding).
      const encoded = new Response(body);
      headers['content-type'] = encoded.headers.get('content-type') ?? 'application/octet-stream';
      payload = Buffer.from(await encoded.arrayBuffer());
    }
    if (payload) headers['content-length'] = String(payload.byteLength);
    const send = () => this.send(method, route, headers, payload);
    let response: Response;
    try {
      response = await send().catch((error: unknown) => {
        // A kept-alive connection the server closed as the request went out: send once more
        // on a new one, as browsers do. Safe for Loupe's routes: a claim returns the live hold,
        // a submit with the same clientId is answered once.
        if (isConnectionReset(error)) return send();
        throw error;
      });
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error);
      throw new AppError(
        'bad_input',
        `could not reach Loupe at ${this.baseUrl} (${cause}): is it running, and is the address right?`,
        { cause: error },
      );
    }
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    return response;
  }

  /**
   * One request on node:http with kept-alive connections, answered as a fetch Response. Not
   * fetch itself: undici cost the load generator about 3 ms of CPU per claim and submit, as
   * much as the server it measures, on the same two cores (docs/operations.md).
   */
  private send(method: string, route: string, headers: Record<string, string>, payload?: Buffer): Promise<Response> {
    const url = new URL(route, this.baseUrl);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(url, { method, headers, agent: this.agent }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (value === undefined) continue;
            for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
          }
          const status = incoming.statusCode ?? 500;
          const bodyless = status === 204 || status === 205 || status === 304;
          resolve(
            new Response(bodyless ? null : Buffer.concat(chunks), {
              status,
              statusText: incoming.statusMessage ?? '',
              headers: responseHeaders,
            }),
          );
        });
      });
      request.on('error', reject);
      request.end(payload);
    });
  }
}

function isConnectionReset(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
