/**
 * Small Node programs that run inside a namespace, as `node -e SCRIPT ARGS...`: the test process lives in
 * the host's namespace and cannot open a socket in another, so every probe is a process over there.
 * Each prints one JSON line.
 */
import { NetHarnessError } from './errors.js';
import type { Processes, RunOptions } from './processes.js';

/** Runs script with node in ns and returns the JSON line it printed. */
export async function probe<T>(processes: Processes, ns: string, script: string, args: readonly (string | number)[], options: RunOptions = {}): Promise<T> {
  const result = await processes.exec(ns, process.execPath, ['-e', script, ...args.map(String)], options);
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch (error) {
    throw new NetHarnessError(`probe in ${ns} exited ${result.exitCode} without a JSON line (${String(error)}): ${result.stdout.slice(-300)} ${result.stderr.slice(-500)}`);
  }
}

/** Connects until host:port accepts or the deadline passes: {"ok":bool,"error"?}. */
export const TCP_CONNECT = `
const net = require('node:net');
const [host, port, timeoutMs, once] = process.argv.slice(1);
const deadline = Date.now() + Number(timeoutMs);
const attempt = () => {
  const socket = net.connect({ host, port: Number(port), timeout: Math.max(1, deadline - Date.now()) });
  socket.once('connect', () => { console.log(JSON.stringify({ ok: true, local: socket.localAddress + ':' + socket.localPort })); socket.destroy(); });
  const fail = (error) => {
    socket.destroy();
    if (once !== 'once' && Date.now() < deadline) return setTimeout(attempt, 20);
    console.log(JSON.stringify({ ok: false, error }));
  };
  socket.once('timeout', () => fail('ETIMEDOUT'));
  socket.once('error', (error) => fail(error.code));
};
attempt();
`;

/**
 * GET url (https without verifying: the servers are self-signed): {"status","body","tls"} or {"error"}.
 * With "until-ok" it retries every 20 ms until a 2xx answer or the deadline.
 */
export const HTTP_GET = `
const [url, timeoutMs, mode] = process.argv.slice(1);
const client = url.startsWith('https:') ? require('node:https') : require('node:http');
const deadline = Date.now() + Number(timeoutMs);
const report = (result) => {
  const ok = result.status >= 200 && result.status < 300;
  if (mode === 'until-ok' && !ok && Date.now() < deadline) return setTimeout(attempt, 20);
  console.log(JSON.stringify(result));
};
const attempt = () => {
  const request = client.get(url, { rejectUnauthorized: false, timeout: Math.max(1, deadline - Date.now()) }, (response) => {
    // The socket is detached from the response by the time it ends.
    const tls = response.socket.encrypted === true;
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => (body += chunk));
    response.on('end', () => report({ status: response.statusCode, body, tls }));
  });
  request.once('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
  request.once('error', (error) => report({ error: error.code ?? error.message }));
};
attempt();
`;

/** Listens on host:port (TCP) and tells each client the address it came from; prints {"listening":port}. */
export const TCP_WHOAMI = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const server = net.createServer((socket) => socket.end(socket.remoteAddress + ':' + socket.remotePort + '\\n'));
server.listen(Number(port), host, () => console.log(JSON.stringify({ listening: server.address().port })));
`;

/** Reads one line from host:port over TCP: {"line"} or {"error"}. */
export const TCP_READ_LINE = `
const net = require('node:net');
const [host, port, timeoutMs] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port), timeout: Number(timeoutMs) });
let data = '';
socket.setEncoding('utf8');
socket.on('data', (chunk) => (data += chunk));
socket.once('end', () => console.log(JSON.stringify({ line: data.trim() })));
socket.once('timeout', () => { socket.destroy(); console.log(JSON.stringify({ error: 'ETIMEDOUT' })); });
socket.once('error', (error) => console.log(JSON.stringify({ error: error.code })));
`;

/** Answers every UDP datagram on host:port1,port2,... with "ADDRESS:PORT" of its sender. */
export const UDP_WHOAMI = `
const dgram = require('node:dgram');
const [host, ports] = process.argv.slice(1);
let bound = 0;
const list = ports.split(',');
for (const port of list) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, from) => socket.send(from.address + ':' + from.port, from.port, from.address));
  socket.bind(Number(port), host, () => { if (++bound === list.length) console.log(JSON.stringify({ listening: list.map(Number) })); });
}
`;

/**
 * From one UDP socket (so one local port), sends a datagram to each host:port target and prints what
 * each answered: {"local":port,"replies":{"host:port":"seen-as"}}.
 */
export const UDP_ASK = `
const dgram = require('node:dgram');
const [targets, timeoutMs] = process.argv.slice(1);
const list = targets.split(',');
const socket = dgram.createSocket('udp4');
const replies = {};
const done = () => { const local = socket.address().port; socket.close(); console.log(JSON.stringify({ local, replies })); };
const timer = setTimeout(done, Number(timeoutMs));
socket.on('message', (message, from) => {
  replies[from.address + ':' + from.port] = message.toString();
  if (Object.keys(replies).length === list.length) { clearTimeout(timer); done(); }
});
socket.bind(0, () => {
  for (const target of list) {
    const [host, port] = target.split(':');
    socket.send('who', Number(port), host);
  }
});
`;

/** Waits for one UDP datagram on 0.0.0.0:port: prints {"listening"} then {"from","message"} or {"error"}. */
export const UDP_RECEIVE = `
const dgram = require('node:dgram');
const [port, timeoutMs] = process.argv.slice(1);
const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const timer = setTimeout(() => { console.log(JSON.stringify({ error: 'ETIMEDOUT' })); socket.close(); }, Number(timeoutMs));
socket.on('message', (message, from) => {
  clearTimeout(timer);
  console.log(JSON.stringify({ from: from.address, message: message.toString() }));
  socket.close();
});
socket.bind(Number(port), '0.0.0.0', () => console.log(JSON.stringify({ listening: Number(port) })));
`;

/** Sends one UDP broadcast datagram to address:port. */
export const UDP_BROADCAST = `
const dgram = require('node:dgram');
const [address, port, message] = process.argv.slice(1);
const socket = dgram.createSocket('udp4');
socket.bind(0, () => {
  socket.setBroadcast(true);
  socket.send(message, Number(port), address, (error) => { socket.close(); console.log(JSON.stringify(error ? { error: error.code } : { ok: true })); });
});
`;
