// The conversation kept in localStorage, one entry per Rasa server: the
// session id (Rasa's sender id, so the tracker continues after a reload or a
// server restart), the key the server issued with it, and the messages shown so far.
const PREFIX = 'huiqi-chat:v1:';
const MAX_MESSAGES = 200;

function randomId() {
  const bytes = new Uint8Array(16);
  // getRandomValues works on plain-http pages too, unlike crypto.randomUUID.
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function validMessage(m) {
  return m && (m.from === 'user' || m.from === 'bot') && typeof m.text === 'string' && Number.isFinite(m.ts);
}

export class ConversationStore {
  constructor(serverUrl, storage = window.localStorage) {
    this.key = PREFIX + serverUrl;
    this.storage = storage;
    const saved = this.read();
    // True when this browser already had a conversation with this server.
    this.restored = typeof saved.sessionId === 'string' && /^[\w-]{8,64}$/.test(saved.sessionId);
    this.sessionId = this.restored ? saved.sessionId : randomId();
    this.sessionKey = this.restored && typeof saved.sessionKey === 'string' ? saved.sessionKey : '';
    this.messages = Array.isArray(saved.messages) ? saved.messages.filter(validMessage) : [];
    this.initialSent = Boolean(saved.initialSent);
    this.save();
  }

  read() {
    try {
      return JSON.parse(this.storage.getItem(this.key) || '{}') || {};
    } catch {
      return {}; // unreadable or blocked storage: start a fresh conversation
    }
  }

  save() {
    try {
      this.storage.setItem(this.key, JSON.stringify({
        sessionId: this.sessionId,
        sessionKey: this.sessionKey,
        messages: this.messages.slice(-MAX_MESSAGES),
        initialSent: this.initialSent,
      }));
    } catch {
      // Full or disabled storage: the chat still works, it just won't survive a reload.
    }
  }

  add(message) {
    this.messages.push(message);
    if (this.messages.length > MAX_MESSAGES) this.messages.splice(0, this.messages.length - MAX_MESSAGES);
    this.save();
  }

  replaceAll(messages) {
    this.messages = messages.filter(validMessage).slice(-MAX_MESSAGES);
    this.save();
  }

  markInitialSent() {
    this.initialSent = true;
    this.save();
  }
}
