import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isAppError } from '@/lib/errors';
import { LoupeApiError, LoupeClient } from '@/scripts/sim/http-client';
import { PeakMemorySampler, processTreeRssBytes, readStatusKb } from '@/scripts/sim/process-memory';

let server: http.Server | null = null;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

async function serve(handler: http.RequestListener): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('LoupeClient', () => {
  it('sends once more when the connection is reset, and only once', async () => {
    let calls = 0;
    const url = await serve((req, res) => {
      calls++;
      if (calls === 1 || req.url === '/always-reset') return req.socket.destroy();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, calls }));
    });
    const client = new LoupeClient(url);
    expect(await client.post('/api/v1/queue/claim', { catalogue: 'x' })).toEqual({ ok: true, calls: 2 });
    const failure = await client.get('/always-reset').catch((error: unknown) => error);
    expect(isAppError(failure)).toBe(true);
    expect(String((failure as Error).message)).toMatch(/could not reach Loupe at http:\/\/127\.0\.0\.1:\d+/);
    // The reset route was tried twice (the request and its one repeat), not more.
    expect(calls).toBe(4);
  });

  it("turns the API's error shape into a LoupeApiError with the status and the sentence", async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 409;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { code: 'conflict', message: 'Your hold on this item lapsed.' } }));
    });
    const error = await new LoupeClient(url).post('/api/v1/reviews', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoupeApiError);
    expect(error).toMatchObject({
      status: 409,
      code: 'conflict',
      message: '/api/v1/reviews: 409 Your hold on this item lapsed.',
    });
  });

  it('says plainly when nothing listens at the address', async () => {
    const url = await serve(() => {});
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    const error = await new LoupeClient(url).get('/api/v1/health').catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('bad_input');
    expect((error as Error).message).toMatch(/could not reach Loupe .*ECONNREFUSED.*is it running/);
  });
});

describe('process memory (Linux /proc)', () => {
  it.runIf(process.platform === 'linux')("reads this process's resident memory and keeps the peak", () => {
    expect(readStatusKb(process.pid, 'VmRSS')).toBeGreaterThan(10_000);
    expect(processTreeRssBytes(process.pid)).toBeGreaterThan(10_000 * 1024);
    const sampler = new PeakMemorySampler(process.pid, 10).start();
    const ballast = Buffer.alloc(64 * 2 ** 20, 1);
    sampler.sample();
    const peak = sampler.stop()!;
    expect(ballast.length).toBeGreaterThan(0);
    expect(peak.samples).toBeGreaterThanOrEqual(2);
    expect(peak.peakRssMb).toBeGreaterThanOrEqual(peak.peakTreeRssSampledMb);
    expect(peak.peakTreeRssSampledMb).toBeGreaterThan(64);
    expect(processTreeRssBytes(2 ** 22 + 12345)).toBeNull();
  });
});
