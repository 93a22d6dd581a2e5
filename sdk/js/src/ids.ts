// Conversation ids, computed exactly as the server does (Parley.Protocol.Ids, ADR 0010), so a client can address a 1:1
// conversation, find it in its local state or group events by conversation before the server has answered.

const ID_PATTERN = /^[A-Za-z0-9\-._@:]{1,64}$/;

/** True for a valid user, device, group or client message id: 1..64 ASCII letters, digits and `-._@:`. */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

function escapeUserId(id: string): string {
  return id.replaceAll(":", "::").replaceAll("_", ":_");
}

/**
 * The id of the 1:1 conversation between two users, whichever order they are given in: `si_{min}_{max}` with `:`
 * written `::` and `_` written `:_` inside each user id (ordinal order of the raw ids, as the server compares them).
 * For user ids without `_` and `:` this is OpenIM's `si_{min}_{max}`.
 */
export function directConversationId(userA: string, userB: string): string {
  const [min, max] = userA <= userB ? [userA, userB] : [userB, userA];
  return `si_${escapeUserId(min)}_${escapeUserId(max)}`;
}

/** The two users of a 1:1 conversation id in id order, or undefined for a group id or a malformed id. */
export function parseDirectConversationId(conversationId: string): [string, string] | undefined {
  if (!conversationId.startsWith("si_") || conversationId.length > 4 * 64 + 4) return undefined;
  let first = "";
  let second = "";
  let inSecond = false;
  for (let i = 3; i < conversationId.length; i++) {
    let c = conversationId.charAt(i);
    if (c === ":") {
      c = conversationId.charAt(++i);
      if (c !== ":" && c !== "_") return undefined;
    } else if (c === "_") {
      if (inSecond) return undefined;
      inSecond = true;
      continue;
    }
    if (inSecond) second += c;
    else first += c;
  }
  if (!inSecond || !isValidId(first) || !isValidId(second) || first > second) return undefined;
  return [first, second];
}

/** The other user of a 1:1 conversation, or undefined when `userId` is not one of its two users (or it is a group). */
export function directPeer(conversationId: string, userId: string): string | undefined {
  const users = parseDirectConversationId(conversationId);
  if (users === undefined) return undefined;
  return users[0] === userId ? users[1] : users[1] === userId ? users[0] : undefined;
}
