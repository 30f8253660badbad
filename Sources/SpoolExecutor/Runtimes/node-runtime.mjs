// Spool's Node.js runtime interface client, embedded in the spool binary and written beside the data directory when
// an environment of a nodejs* function starts. It loads the function's handler, speaks Lambda's Runtime API
// (AWS_LAMBDA_RUNTIME_API) and reports as Lambda's Node.js runtimes do: error documents, init errors, console lines
// in the text and JSON log formats, unhandled rejections and uncaught exceptions.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';

const [apiHost, apiPort] = (process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
const handlerName = process.env._HANDLER || '';
const jsonLogs = (process.env.AWS_LAMBDA_LOG_FORMAT || 'Text').toUpperCase() === 'JSON';
const levels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const minimumLevel = Math.max(0, levels.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL || 'TRACE').toUpperCase()));
const stdout = 1;

// ---- Runtime API -------------------------------------------------------------------------------------------------

function call(method, route, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const request = http.request({
      host: apiHost, port: apiPort, method, agent, path: `/2018-06-01/runtime/${route}`,
      headers: payload ? { ...headers, 'Content-Length': payload.length } : headers,
    }, (response) => {
      const parts = [];
      response.on('data', (part) => parts.push(part));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(parts) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(payload);
  });
}

async function next() {
  for (;;) {
    const answer = await call('GET', 'invocation/next');
    if (answer.status === 200) return answer;
    // Spool shuts the environment down: it stops the process itself; wait rather than spin.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// ---- Errors ------------------------------------------------------------------------------------------------------

/** Lambda's error document for anything thrown or passed to a callback. */
function errorDocument(error) {
  if (error instanceof Error) {
    const name = error.name || (error.constructor && error.constructor.name) || 'Error';
    return { errorType: String(name).replace(/\x7F/g, '%7F'), errorMessage: String(error.message), trace: String(error.stack || '').split('\n') };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function namedError(type, message, cause) {
  const error = new Error(message);
  error.name = type;
  if (cause && cause.stack) error.stack = `${type}: ${message}\n${String(cause.stack).split('\n').slice(1).join('\n')}`;
  return error;
}

function postError(route, error) {
  const document = errorDocument(error);
  return call('POST', route, JSON.stringify(document), {
    'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': document.errorType,
  });
}

// ---- Logging -----------------------------------------------------------------------------------------------------

let currentRequestId;

function write(text) {
  const bytes = Buffer.from(text);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(stdout, bytes, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') return;
    }
  }
}

function logLine(level, args) {
  if (levels.indexOf(level) < minimumLevel) return;
  const timestamp = new Date().toISOString();
  if (jsonLogs) {
    const line = { timestamp, level, requestId: currentRequestId };
    const error = args.length === 1 && args[0] instanceof Error ? args[0] : undefined;
    if (error) {
      line.message = error.message;
      line.errorType = error.name;
      line.errorMessage = error.message;
      line.stackTrace = String(error.stack || '').split('\n');
    } else if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null) {
      line.message = args[0];
    } else {
      line.message = util.format(...args);
    }
    write(`${JSON.stringify(line)}\n`);
  } else {
    // One record per call: Lambda's Node.js runtime turns the line breaks of a message into carriage returns.
    write(`${timestamp}\t${currentRequestId || 'undefined'}\t${level}\t${util.format(...args).replace(/\n/g, '\r')}\n`);
  }
}

console.trace = (...args) => logLine('TRACE', args);
console.debug = (...args) => logLine('DEBUG', args);
console.info = (...args) => logLine('INFO', args);
console.log = (...args) => logLine('INFO', args);
console.warn = (...args) => logLine('WARN', args);
console.error = (...args) => logLine('ERROR', args);
console.fatal = (...args) => logLine('FATAL', args);

function logError(label, error) {
  if (jsonLogs) {
    logLine('ERROR', [error instanceof Error ? error : new Error(String(error))]);
  } else {
    logLine('ERROR', [`${label} \t${JSON.stringify(errorDocument(error))}`]);
  }
}

// ---- Loading the handler -----------------------------------------------------------------------------------------

function isModuleFile(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let folder = path.dirname(file); ; folder = path.dirname(folder)) {
    const manifest = path.join(folder, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    if (folder === path.dirname(folder)) return false;
  }
}

async function loadModule(moduleRoot, moduleName) {
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  const require = createRequire(path.join(taskRoot, 'index.js'));
  for (const extension of ['.js', '.mjs', '.cjs']) {
    const file = base + extension;
    if (fs.existsSync(file)) {
      return isModuleFile(file) ? import(pathToFileURL(file).href) : require(file);
    }
  }
  // A folder with an index, or a package on NODE_PATH or in node_modules.
  return require(moduleRoot ? base : moduleName);
}

async function loadHandler() {
  const slash = handlerName.lastIndexOf('/');
  const moduleRoot = slash >= 0 ? handlerName.slice(0, slash) : '';
  const moduleAndPath = handlerName.slice(slash + 1);
  const dot = moduleAndPath.indexOf('.');
  if (dot <= 0 || dot === moduleAndPath.length - 1) {
    throw namedError('Runtime.MalformedHandlerName', 'Bad handler');
  }
  const moduleName = moduleAndPath.slice(0, dot);
  const handlerPath = moduleAndPath.slice(dot + 1);
  let loaded;
  try {
    loaded = await loadModule(moduleRoot, moduleName);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw namedError('Runtime.UserCodeSyntaxError', `${error.name}: ${error.message}`, error);
    }
    if (error && (error.code === 'MODULE_NOT_FOUND' || error.code === 'ERR_MODULE_NOT_FOUND')) {
      throw namedError('Runtime.ImportModuleError', `Error: ${error.message}`, error);
    }
    throw error;
  }
  let handler = loaded;
  for (const part of handlerPath.split('.')) {
    handler = handler === undefined || handler === null ? undefined : handler[part];
  }
  if (handler === undefined && loaded && loaded.default && typeof loaded.default === 'object') {
    // A CommonJS module imported as an ES module keeps its exports under `default`.
    handler = handlerPath.split('.').reduce((value, part) => (value == null ? undefined : value[part]), loaded.default);
  }
  if (handler === undefined || handler === null) {
    throw namedError('Runtime.HandlerNotFound', `${handlerName} is undefined or not exported`);
  }
  if (typeof handler !== 'function') {
    throw namedError('Runtime.HandlerNotFound', `${handlerName} is not a function`);
  }
  return handler;
}

// ---- Response streaming (awslambda.streamifyResponse) ----------------------------------------------------------

const streamingHandler = Symbol.for('aws.lambda.runtime.handler.streaming');
const httpIntegration = 'application/vnd.awslambda.http-integration-response';

class ResponseStream extends Writable {
  constructor(requestId) {
    super();
    this.requestId = requestId;
    this.contentType = 'application/octet-stream';
    this.request = undefined;
    this.pending = [];
    this.answer = new Promise((resolve, reject) => { this.settle = { resolve, reject }; });
  }

  setContentType(type) {
    if (this.request) throw new Error('The content type can only be set before the first write.');
    this.contentType = type;
  }

  open() {
    if (this.request) return this.request;
    this.request = http.request({
      host: apiHost, port: apiPort, method: 'POST', agent,
      path: `/2018-06-01/runtime/invocation/${this.requestId}/response`,
      headers: {
        'Content-Type': this.contentType, 'Transfer-Encoding': 'chunked',
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
      },
    }, (response) => {
      response.resume();
      response.on('end', () => this.settle.resolve(response.statusCode));
    });
    this.request.on('error', (error) => this.settle.reject(error));
    return this.request;
  }

  _write(chunk, encoding, callback) {
    this.open().write(chunk, encoding, callback);
  }

  _final(callback) {
    this.open().end(callback);
  }
}

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[streamingHandler] = 'response';
    return handler;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setContentType(httpIntegration);
      stream.write(JSON.stringify(prelude || {}));
      stream.write(Buffer.alloc(8));
      return stream;
    },
  },
};

// ---- Invocations -------------------------------------------------------------------------------------------------

const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
const functionVersion = process.env.AWS_LAMBDA_FUNCTION_VERSION;
const memoryLimitInMB = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
const logGroupName = process.env.AWS_LAMBDA_LOG_GROUP_NAME;
const logStreamName = process.env.AWS_LAMBDA_LOG_STREAM_NAME;

function parseHeader(value) {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function makeContext(headers, finish) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName, functionVersion, memoryLimitInMB, logGroupName, logStreamName,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    clientContext: parseHeader(headers['lambda-runtime-client-context']),
    identity: parseHeader(headers['lambda-runtime-cognito-identity']),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The context methods of the first Node.js runtimes, still honoured by Lambda's.
    done: (error, result) => finish(error, result),
    succeed: (result) => finish(null, result),
    fail: (error) => finish(error || 'handled'),
  };
  return context;
}

/** Waits until nothing but the runtime's own idle connection keeps the event loop alive; `cancel` stops waiting. */
function emptyEventLoop() {
  let listener;
  const emptied = new Promise((resolve) => { listener = () => resolve({ result: null, emptied: true }); });
  process.once('beforeExit', listener);
  return { emptied, cancel: () => process.removeListener('beforeExit', listener) };
}

async function invoke(handler, invocation) {
  const requestId = invocation.headers['lambda-runtime-aws-request-id'];
  currentRequestId = requestId;
  const trace = invocation.headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace; else delete process.env._X_AMZN_TRACE_ID;
  let event;
  try {
    event = JSON.parse(invocation.body.length ? invocation.body.toString('utf8') : 'null');
  } catch (error) {
    await postError(`invocation/${requestId}/error`, namedError('Runtime.UnmarshalError', `Unable to parse the event: ${error.message}`));
    return;
  }
  let settled = false;
  let waitForLoop = true;
  let resolveCallback;
  const callbackOutcome = new Promise((resolve) => { resolveCallback = resolve; });
  const finish = (error, result) => {
    if (settled) return;
    settled = true;
    waitForLoop = context.callbackWaitsForEmptyEventLoop;
    resolveCallback({ error, result });
  };
  const context = makeContext(invocation.headers, finish);
  let outcome;
  if (handler[streamingHandler] === 'response') {
    const stream = new ResponseStream(requestId);
    try {
      await handler(event, stream, context);
      if (!stream.writableEnded) stream.end();
      await stream.answer;
    } catch (error) {
      logError('Invoke Error', error);
      if (!stream.request) await postError(`invocation/${requestId}/error`, error);
      else stream.destroy(error);
    }
    currentRequestId = undefined;
    return;
  }
  try {
    const returned = handler(event, context, finish);
    if (returned && typeof returned.then === 'function') {
      settled = true;
      outcome = { result: await returned };
    } else {
      // A handler that neither returns a promise nor calls back answers null once its event loop is empty.
      const loop = emptyEventLoop();
      outcome = await Promise.race([callbackOutcome, loop.emptied]);
      loop.cancel();
      if (!outcome.emptied && waitForLoop) await emptyEventLoop().emptied;
    }
  } catch (error) {
    outcome = { error };
  }
  if (outcome.error !== undefined && outcome.error !== null) {
    logError('Invoke Error', outcome.error);
    await postError(`invocation/${requestId}/error`, outcome.error);
  } else {
    let body;
    try {
      body = outcome.result === undefined ? 'null' : JSON.stringify(outcome.result);
    } catch (error) {
      await postError(`invocation/${requestId}/error`, namedError('Runtime.MarshalError', `Unable to stringify response body: ${error.message}`));
      currentRequestId = undefined;
      return;
    }
    await call('POST', `invocation/${requestId}/response`, body === undefined ? 'null' : body, { 'Content-Type': 'application/json' });
  }
  currentRequestId = undefined;
}

// ---- Failures outside a handler's promise ------------------------------------------------------------------------

let initializing = true;

async function failEnvironment(error, label, exitCode) {
  logError(label, error);
  const route = initializing ? 'init/error' : currentRequestId ? `invocation/${currentRequestId}/error` : undefined;
  try {
    if (route) await postError(route, error);
  } finally {
    process.exit(exitCode);
  }
}

process.on('uncaughtException', (error) => {
  failEnvironment(error, 'Uncaught Exception', 129);
});

process.on('unhandledRejection', (reason) => {
  const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  const error = namedError('Runtime.UnhandledPromiseRejection', message, reason instanceof Error ? reason : undefined);
  failEnvironment(error, 'Unhandled Promise Rejection', 128);
});

// ---- Main loop ---------------------------------------------------------------------------------------------------

let handler;
try {
  handler = await loadHandler();
} catch (error) {
  logError('Init Error', error);
  await postError('init/error', error);
  process.exit(129);
}
initializing = false;
for (;;) {
  const invocation = await next();
  await invoke(handler, invocation);
}
