// Drives the unmodified @openim/client-sdk 0.0.14 against a Parley server for Parley.Compat.OpenIM.Tests.
//
// Environment: PARLEY_WS (wsAddr), PARLEY_API (apiAddr), OPENIM_USER, OPENIM_TOKEN, OPENIM_PLATFORM (default 5).
// stdin: one JSON command per line, {"id": "...", "cmd": "...", ...args}. stdout: one line per record, each prefixed
// with "@@ " (the SDK logs to the console too): {"kind":"event", "event": name, ...} for every SDK callback, and
// {"kind":"result", "id", "ok", "data" | "error"} for every command.
'use strict';

const WS = require('ws');
const readline = require('readline');

// Node has no global WebSocket (before 22): give the SDK one that delivers binary frames as ArrayBuffer, like a browser
// with binaryType 'arraybuffer'. Every socket is kept so a command can cut the connection as a network drop would.
const sockets = [];
class BrowserLikeWebSocket extends WS {
  constructor(url, protocols) {
    // One message per event-loop task, as in a browser (the SDK relies on its promise callbacks running in between).
    super(url, protocols, process.env.OPENIM_SYNC_EVENTS === '1' ? {} : { allowSynchronousEvents: false });
    this.binaryType = 'arraybuffer';
    sockets.push(this);
  }
}
globalThis.WebSocket = BrowserLikeWebSocket;

// Node has File and Blob (20+) but no FileReader, which the SDK's uploadFile uses to hash each part: the browser's
// readAsArrayBuffer + onload, nothing more.
if (typeof globalThis.FileReader === 'undefined') {
  globalThis.FileReader = class {
    readAsArrayBuffer(blob) {
      blob.arrayBuffer().then(
        (buffer) => { this.result = buffer; if (this.onload) this.onload({ target: this }); },
        (error) => { if (this.onerror) this.onerror(error); });
    }
  };
}

const crypto = require('crypto');
const fs = require('fs');
const { getSDK, CbEvents } = require('@openim/client-sdk');

function emit(record) {
  process.stdout.write('@@ ' + JSON.stringify(record) + '\n');
}

// Every REST call the SDK makes, with its HTTP status (diagnostics; and the contract the REST side must serve).
const innerFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const response = await innerFetch(url, init);
  emit({ kind: 'http', path: new URL(url).pathname, host: new URL(url).host, method: (init && init.method) || 'GET', status: response.status });
  return response;
};

function slim(message) {
  if (!message || typeof message !== 'object') return message;
  return {
    clientMsgID: message.clientMsgID,
    serverMsgID: message.serverMsgID,
    sendID: message.sendID,
    recvID: message.recvID,
    groupID: message.groupID,
    seq: message.seq,
    sessionType: message.sessionType,
    contentType: message.contentType,
    status: message.status,
    sendTime: message.sendTime,
    text: message.textElem ? message.textElem.content : undefined,
    pictureElem: message.pictureElem,
    soundElem: message.soundElem,
    videoElem: message.videoElem,
    fileElem: message.fileElem,
    quoteElem: message.quoteElem,
    atTextElem: message.atTextElem,
    content: message.content,
  };
}

function simplify(event, data) {
  if (Array.isArray(data)) {
    return data.map((item) => (item && item.clientMsgID !== undefined && item.contentType !== undefined ? slim(item) : item));
  }
  if (data && data.clientMsgID !== undefined && data.contentType !== undefined) return slim(data);
  return data;
}

const OpenIM = getSDK();
for (const name of Object.values(CbEvents)) {
  OpenIM.on(name, (payload) => {
    let data;
    try {
      data = simplify(name, payload ? payload.data : undefined);
      JSON.stringify(data);
    } catch {
      data = String(payload && payload.data);
    }
    emit({ kind: 'event', event: name, errCode: payload ? payload.errCode : undefined, errMsg: payload ? payload.errMsg : undefined, data });
  });
}

const commands = {
  async login() {
    return OpenIM.login({
      userID: process.env.OPENIM_USER,
      token: process.env.OPENIM_TOKEN,
      platformID: Number(process.env.OPENIM_PLATFORM || 5),
      wsAddr: process.env.PARLEY_WS,
      apiAddr: process.env.PARLEY_API,
      logLevel: Number(process.env.OPENIM_LOG_LEVEL || 5),
    });
  },
  async sendText(args) {
    const created = await OpenIM.createTextMessage(args.text);
    const sent = await OpenIM.sendMessage({ recvID: args.recvID || '', groupID: args.groupID || '', message: created.data });
    return slim(sent.data);
  },
  // A media message from a file on disk, as an app does with a picked File: createXxxMessageByFile + sendMessage, which
  // uploads through /object/* first. kind: image | file | sound | video (video needs posterPath).
  async sendMedia(args) {
    const bytes = fs.readFileSync(args.path);
    const file = new File([bytes], args.name, { type: args.contentType });
    const uuid = crypto.randomUUID();
    let created;
    if (args.kind === 'image') {
      const picture = { uuid, type: args.contentType, size: bytes.length, width: args.width || 0, height: args.height || 0, url: '' };
      created = await OpenIM.createImageMessageByFile({ sourcePath: args.name, sourcePicture: picture, bigPicture: { ...picture }, snapshotPicture: { ...picture }, file });
    } else if (args.kind === 'sound') {
      created = await OpenIM.createSoundMessageByFile({ uuid, soundPath: args.name, sourceUrl: '', dataSize: bytes.length, duration: args.duration || 1, file });
    } else if (args.kind === 'video') {
      const poster = fs.readFileSync(args.posterPath);
      const posterUuid = crypto.randomUUID();
      created = await OpenIM.createVideoMessageByFile({
        videoPath: args.name, duration: args.duration || 1, videoType: args.contentType, snapshotPath: 'poster.png',
        videoUUID: uuid, videoUrl: '', videoSize: bytes.length, snapshotUUID: posterUuid, snapshotSize: poster.length, snapshotUrl: '',
        snapshotWidth: args.posterWidth || 0, snapshotHeight: args.posterHeight || 0,
        videoFile: file, snapshotFile: new File([poster], 'poster.png', { type: 'image/png' }),
      });
    } else {
      created = await OpenIM.createFileMessageByFile({ filePath: args.name, fileName: args.name, uuid, sourceUrl: '', fileSize: bytes.length, fileType: args.contentType, file });
    }
    const sent = await OpenIM.sendMessage({ recvID: args.recvID || '', groupID: args.groupID || '', message: created.data });
    return slim(sent.data);
  },
  // Fetches a media URL from a message the way an app must with Parley (the OpenIM token in the token header; the server
  // answers a redirect to a short-lived signed URL): status, byte count, SHA-256 and content type of what came back.
  async download(args) {
    const headers = args.noToken ? {} : { token: process.env.OPENIM_TOKEN };
    const response = await innerFetch(args.url, { headers });
    const bytes = Buffer.from(await response.arrayBuffer());
    return {
      status: response.status,
      redirected: response.redirected,
      length: bytes.length,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      contentType: response.headers.get('content-type'),
    };
  },
  async history(args) {
    const res = await OpenIM.getAdvancedHistoryMessageList({
      conversationID: args.conversationID,
      count: args.count || 20,
      startClientMsgID: args.startClientMsgID || '',
    });
    return { isEnd: res.data.isEnd, messageList: res.data.messageList.map(slim) };
  },
  async typing(args) {
    await OpenIM.changeInputStates({ conversationID: args.conversationID, focus: args.focus !== false });
    return null;
  },
  async markRead(args) {
    await OpenIM.markConversationMessageAsRead(args.conversationID);
    return null;
  },
  // OpenIM's GetConvMaxReadSeq (1006) as the SDK sends it on login and reconnect (its own request, encoding and
  // decoding, its cache method getMaxReadSeqs), for the named conversations (all when none are named): the server's
  // {maxSeq, hasReadSeq, maxSeqTime} per conversation, as the SDK stored it.
  async maxReadSeqs(args) {
    const cache = OpenIM.messageTrigger.cache;
    await cache.getMaxReadSeqs(crypto.randomUUID(), args.conversationIDs || []);
    return JSON.parse(JSON.stringify(cache.cachedHasReadAndMaxSeqs, (key, value) => (typeof value === 'bigint' ? Number(value) : value)));
  },
  // A network drop: close the live socket without telling the SDK (it reconnects by itself).
  async dropSocket() {
    const open = sockets.filter((s) => s.readyState === WS.OPEN);
    open.forEach((s) => s.terminate());
    return { dropped: open.length };
  },
  async logout() {
    return OpenIM.logout();
  },
  // Any SDK method by name: {"cmd":"call","method":"getFriendList","params":{...}} → the method's res.data.
  async call(args) {
    if (typeof OpenIM[args.method] !== 'function') throw new Error('the SDK has no method ' + args.method);
    const res = args.params === undefined ? await OpenIM[args.method]() : await OpenIM[args.method](args.params);
    return res ? res.data : null;
  },
  async exit() {
    setTimeout(() => process.exit(0), 10);
    return null;
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    emit({ kind: 'result', id: null, ok: false, error: 'bad command: ' + error.message });
    return;
  }
  const handler = commands[command.cmd];
  if (!handler) {
    emit({ kind: 'result', id: command.id, ok: false, error: 'unknown command ' + command.cmd });
    return;
  }
  try {
    const data = await handler(command);
    emit({ kind: 'result', id: command.id, ok: true, data: data === undefined ? null : JSON.parse(JSON.stringify(data)) });
  } catch (error) {
    emit({ kind: 'result', id: command.id, ok: false, error: error && (error.errMsg || error.message || JSON.stringify(error)), errCode: error && error.errCode });
  }
});
rl.on('close', () => process.exit(0));
process.on('unhandledRejection', (reason) => emit({ kind: 'log', level: 'unhandledRejection', message: String(reason && (reason.stack || reason.message || reason)) }));
emit({ kind: 'ready' });
