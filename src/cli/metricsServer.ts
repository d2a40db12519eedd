import * as http from 'node:http';
import * as net from 'node:net';
import { errorMessage } from '../core';
import { UsageError } from './context';

/** What the server serves: a Prometheus registry's text and content type. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface MetricsServer {
  /** http://host:port/metrics, with the port the system gave for port 0. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `source` at GET /metrics on host:port. Listening fails with a UsageError of one line (a
 * port in use, an address not of this machine, a port the user may not take), before anything else
 * starts.
 */
export async function serveMetrics(source: MetricsSource, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics')
      return void response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Not found: the metrics are at /metrics\n');
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return void response.writeHead(405, { allow: 'GET, HEAD' }).end();
    source.metrics().then(
      (text) =>
        response
          .writeHead(200, { 'content-type': source.contentType })
          .end(request.method === 'HEAD' ? undefined : text),
      (error) =>
        response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`collecting the metrics failed: ${errorMessage(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error as NodeJS.ErrnoException, host, port)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  const shownHost = net.isIPv6(address.address) ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would hold the close up.
        server.closeAllConnections();
      }),
  };
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): UsageError {
  const where = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new UsageError(
        `--metrics-port ${port}: ${where} is already in use; pick another port (0 lets the system choose) or stop what listens there.`,
        { cause: error },
      );
    case 'EACCES':
      return new UsageError(`--metrics-port ${port}: this user may not listen on ${where}; use a port from 1024 up.`, {
        cause: error,
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UsageError(
        `--metrics-host ${host}: not an address of this machine (${error.code}); use 127.0.0.1 (the default), 0.0.0.0 for every interface, or one of this machine's addresses.`,
        { cause: error },
      );
    default:
      return new UsageError(`Cannot serve metrics on ${where}: ${error.message}.`, { cause: error });
  }
}
