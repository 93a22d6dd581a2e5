// TEMPORARY, test-only: while the OpenIM REST endpoints the SDK calls are written (in parallel with the WebSocket edge),
// this answers a REST call that the server answers 404 with a minimal empty answer, so the SDK's WebSocket paths can be
// exercised. Enabled with OPENIM_REST_SHIM=1; every shimmed call is reported as a {"kind":"shim"} record so tests can
// see (and later forbid) its use. Calls the server does answer are never touched. Remove once the REST side is merged.
'use strict';

const { PbCoder } = require('@openim/protocol');

function install(emit, selfUserID) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    const response = await realFetch(url, init);
    if (response.status !== 404) return response;
    const path = new URL(url).pathname;
    emit({ kind: 'shim', path });
    let data;
    try {
      data = answer(path, init && init.body, selfUserID);
    } catch (error) {
      emit({ kind: 'log', level: 'shim', message: String(error && error.stack) });
      return response;
    }
    const text = JSON.stringify({ errCode: 0, errMsg: '', errDlt: '', data });
    return { ok: true, status: 200, statusText: 'OK', headers: {}, text: async () => text, json: async () => JSON.parse(text) };
  };
}

function json(body) {
  try {
    return typeof body === 'string' ? JSON.parse(body) : {};
  } catch {
    return {};
  }
}

function conversation(id, self) {
  const group = id.startsWith('sg_');
  let peer = '';
  if (!group && id.startsWith('si_')) {
    const rest = id.slice(3);
    peer = rest.startsWith(self + '_') ? rest.slice(self.length + 1) : rest.slice(0, rest.length - self.length - 1);
  }
  // The encoders want every field: start from the decoded defaults.
  const blank = (type) => type.decode(new Uint8Array(0));
  return Object.assign(blank(PbCoder.ConversationMsg), {
    conversation: Object.assign(blank(PbCoder.Conversation), { ownerUserID: self, conversationID: id, conversationType: group ? 3 : 1, userID: peer, groupID: group ? id.slice(3) : '' }),
    user: group ? undefined : Object.assign(blank(PbCoder.UserInfo), { userID: peer, nickname: peer }),
  });
}

function answer(path, body, self) {
  const empty = { version: 1, versionID: 'shim', full: true };
  switch (path) {
    case '/user/get_users_info':
      return { usersInfo: (json(body).userIDs || []).map((id) => ({ userID: id, nickname: id })) };
    case '/friend/get_designated_friends':
      return { friendsInfo: [] };
    case '/jssdk/get_conversations': {
      const req = PbCoder.GetConversationsReq.decode(new Uint8Array(body));
      const bytes = PbCoder.GetConversationsResp.encode({ unreadCount: 0, conversations: req.conversationIDs.map((id) => conversation(id, self)) }).finish();
      return Buffer.from(bytes).toString('base64');
    }
    case '/jssdk/get_active_conversations':
      return Buffer.from(PbCoder.GetActiveConversationsResp.encode({ unreadCount: 0, conversations: [] }).finish()).toString('base64');
    case '/conversation/get_not_notify_conversation_ids':
      return { conversationIDs: [] };
    case '/friend/get_full_friend_user_ids':
      return { version: 1, versionID: 'shim', userIDs: [] };
    case '/group/get_full_join_group_ids':
      return { version: 1, versionID: 'shim', groupIDs: [] };
    case '/conversation/get_incremental_conversations':
    case '/friend/get_incremental_friends':
    case '/group/get_incremental_join_groups':
      return empty;
    default:
      return {};
  }
}

module.exports = { install };
