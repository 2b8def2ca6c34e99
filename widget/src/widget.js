// 惠企政策助手 chat widget: one <script> tag puts it on a page.
//
//   <script src="https://…/widget/huiqi-widget.js" data-server-url="https://rasa.example"
//           data-title="惠企政策助手" data-initial-message="你好" defer></script>
//
// It talks to Rasa's socket.io channel (user_uttered / bot_uttered, session
// persistence): the session id lives in localStorage and is sent with
// session_request on every (re)connect together with the key the server issued
// with it, so a reload or a server restart continues the same Rasa conversation
// (and nobody who only knows the id can). The history comes from localStorage,
// else from the web app's POST /api/history (data-history-url) with that key.
import { io } from 'socket.io-client';

import css from './widget.css';
import { renderMarkdown } from './render.js';
import { ConversationStore } from './store.js';

const DEFAULTS = {
  serverUrl: '',
  historyUrl: '',
  title: '惠企政策助手',
  initialMessage: '',
  intro: '',
  examples: [],
  target: '',
  open: false,
  maxLength: 500,
};

const TEXT = {
  placeholder: '输入政策问题，Enter 发送',
  inputLabel: '输入您的问题',
  send: '发送',
  open: '打开政策咨询',
  close: '关闭对话',
  log: '对话记录',
  quickReplies: '快捷回复',
  examples: '试试这样问',
  typing: '助手正在输入…',
  connecting: '正在连接…',
  online: '在线',
  offline: '已断开',
  offlineBanner: '连接中断，正在重连…',
  reconnected: '已重新连接',
  notSent: '连接中断，消息暂未发送；恢复连接后请再发一次。',
  you: '我',
  bot: '助手',
};

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === 'class') el.className = value;
    else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child != null) el.append(child);
  }
  return el;
}

function formatTime(ts) {
  const d = new Date(ts);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return hm;
  const md = `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
  return d.getFullYear() === now.getFullYear() ? md : `${d.getFullYear()}年${md}`;
}

/** Buttons from a bot_uttered payload: Rasa's socket.io sends `quick_replies`; the tracker has `buttons`. */
function buttonsOf(data) {
  const raw = data.quick_replies || data.buttons || [];
  return raw.filter((b) => b && b.title).map((b) => ({ title: String(b.title), payload: String(b.payload ?? b.title) }));
}

let nextId = 0;

export class ChatWidget {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    this.options.serverUrl = String(this.options.serverUrl || '').replace(/\/+$/, '');
    this.uid = `huiqi-${++nextId}`;
    this.store = new ConversationStore(this.options.serverUrl);
    this.ready = false;
    this.queue = [];
    this.typingTimer = null;
    this.statusTimer = null;
    this.everConnected = false;
  }

  mount() {
    const o = this.options;
    const inline = Boolean(o.target);
    const container = inline ? document.querySelector(o.target) : document.body;
    if (!container) throw new Error(`huiqi-widget: no element matches data-target="${o.target}"`);
    this.host = h('div', { class: 'huiqi-chat-host', 'data-mode': inline ? 'inline' : 'floating' });
    container.append(this.host);
    const root = this.host.attachShadow({ mode: 'open' });
    root.append(h('style', {}, css));

    const ids = { input: `${this.uid}-input`, counter: `${this.uid}-counter`, title: `${this.uid}-title` };
    this.statusEl = h('span', { class: 'hq-status', role: 'status', 'data-state': 'connecting' }, TEXT.connecting);
    this.bannerEl = h('div', { class: 'hq-banner', role: 'alert', hidden: true });
    this.logEl = h('div', {
      class: 'hq-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': TEXT.log, tabindex: 0,
    });
    this.typingEl = h('div', { class: 'hq-typing', role: 'status', hidden: true },
      h('span', { class: 'hq-dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
      h('span', { class: 'hq-sr' }, TEXT.typing));
    this.inputEl = h('textarea', {
      id: ids.input, class: 'hq-input', rows: 1, maxlength: o.maxLength, placeholder: TEXT.placeholder,
      'aria-describedby': ids.counter, enterkeyhint: 'send', autocomplete: 'off',
      oninput: () => this.onInput(), onkeydown: (e) => this.onKeyDown(e),
    });
    this.counterEl = h('span', { id: ids.counter, class: 'hq-counter', 'aria-label': '' }, '');
    this.sendEl = h('button', { type: 'submit', class: 'hq-send', disabled: true }, TEXT.send);
    const form = h('form', { class: 'hq-form', onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      h('label', { for: ids.input, class: 'hq-sr' }, TEXT.inputLabel),
      this.inputEl,
      h('div', { class: 'hq-form-side' }, this.counterEl, this.sendEl));

    const header = h('header', { class: 'hq-header' },
      h('div', { class: 'hq-avatar', 'aria-hidden': 'true' }, '惠'),
      h('div', { class: 'hq-heading' },
        h('div', { id: ids.title, class: 'hq-title', role: 'heading', 'aria-level': inline ? 1 : 2 }, o.title),
        this.statusEl));
    this.panelEl = h('section', { class: 'hq-panel', 'aria-labelledby': ids.title }, header, this.bannerEl,
      this.logEl, this.typingEl, form);

    if (inline) {
      this.rootEl = h('div', { class: 'hq-root hq-inline' }, this.panelEl);
    } else {
      this.closeEl = h('button', { type: 'button', class: 'hq-close', 'aria-label': TEXT.close, onclick: () => this.close() }, '×');
      header.append(this.closeEl);
      this.panelEl.setAttribute('role', 'dialog');
      this.panelEl.hidden = true;
      this.launcherEl = h('button', {
        type: 'button', class: 'hq-launcher', 'aria-label': TEXT.open, 'aria-expanded': 'false',
        onclick: () => this.toggle(),
      }, h('span', { 'aria-hidden': 'true' }, '惠'), h('span', { class: 'hq-launcher-text' }, '政策咨询'));
      this.rootEl = h('div', { class: 'hq-root hq-floating' }, this.panelEl, this.launcherEl);
      this.panelEl.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
    }
    root.append(this.rootEl);

    this.renderAll();
    this.setState('connecting');
    if (!this.store.messages.length && this.store.restored) this.restoreHistory();
    this.connect();
    if (!inline && o.open) this.open();
    return this;
  }

  // ---- connection ----------------------------------------------------

  connect() {
    this.socket = io(this.options.serverUrl || undefined, {
      path: '/socket.io',
      // WebSocket first (no CORS, no sticky sessions needed); long-polling if it is blocked.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 10000,
    });
    this.socket.on('connect', () => {
      this.ready = false;
      // Rejoin the conversation's room on every (re)connect.
      this.socket.emit('session_request', { session_id: this.store.sessionId, session_key: this.store.sessionKey });
    });
    this.socket.on('session_confirm', (data) => this.onSessionConfirm(data));
    this.socket.on('bot_uttered', (data) => this.onBotMessage(data || {}));
    this.socket.on('disconnect', () => { this.ready = false; this.setState('offline'); });
    this.socket.on('connect_error', () => this.setState('offline'));
  }

  onSessionConfirm(data) {
    const id = typeof data === 'string' ? data : data && data.session_id;
    const key = data && typeof data.session_key === 'string' ? data.session_key : '';
    if (id && (id !== this.store.sessionId || key !== this.store.sessionKey)) {
      // A new session (the old one's key was missing or wrong) starts with an empty log.
      if (id !== this.store.sessionId && this.store.messages.length) {
        this.store.replaceAll([]);
        this.renderAll();
      }
      this.store.sessionId = id;
      this.store.sessionKey = key;
      this.store.save();
    }
    this.ready = true;
    this.setState(this.everConnected ? 'reconnected' : 'online');
    this.everConnected = true;
    const { initialMessage } = this.options;
    if (initialMessage && !this.store.initialSent && !this.store.messages.length) {
      this.store.markInitialSent();
      this.emitMessage(initialMessage);
    }
    for (const text of this.queue.splice(0)) this.emitMessage(text);
  }

  setState(state) {
    clearTimeout(this.statusTimer);
    this.state = state;
    this.rootEl.dataset.connection = state;
    this.statusEl.dataset.state = state;
    this.statusEl.textContent = TEXT[state];
    if (state === 'offline') {
      this.bannerEl.textContent = TEXT.offlineBanner;
      this.bannerEl.hidden = false;
      this.showTyping(false);
    } else if (state === 'reconnected') {
      this.bannerEl.textContent = TEXT.reconnected;
      this.bannerEl.hidden = false;
      this.statusTimer = setTimeout(() => this.setState('online'), 3000);
    } else {
      this.bannerEl.hidden = true;
    }
    this.onInput();
  }

  emitMessage(text) {
    this.socket.emit('user_uttered', { message: text, session_id: this.store.sessionId });
    this.showTyping(true);
  }

  async restoreHistory() {
    // localStorage lost its messages but kept the session and its key: ask the web app for the history.
    if (!this.options.historyUrl || !this.store.sessionKey) return;
    try {
      const reply = await fetch(this.options.historyUrl, {
        method: 'POST',
        // text/plain keeps it a simple request (no preflight) when the web app is on another origin.
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify({ session_id: this.store.sessionId, session_key: this.store.sessionKey }),
        signal: AbortSignal.timeout(5000),
      });
      if (!reply.ok) return;
      let messages = ((await reply.json()).messages || []);
      const { initialMessage } = this.options;
      if (initialMessage && messages[0] && messages[0].from === 'user' && messages[0].text === initialMessage) {
        messages = messages.slice(1);
      }
      if (messages.length && !this.store.messages.length) {
        this.store.replaceAll(messages);
        this.renderAll();
      }
    } catch {
      // The web app may be unreachable; start from an empty log.
    }
  }

  // ---- messages ------------------------------------------------------

  send(text, shown = text) {
    const message = String(text ?? '').trim().slice(0, this.options.maxLength);
    if (!message) return false;
    if (this.state === 'offline') {
      this.showBanner(TEXT.notSent);
      return false;
    }
    this.append({ from: 'user', text: String(shown).trim().slice(0, this.options.maxLength), ts: Date.now() });
    if (this.ready) this.emitMessage(message);
    else this.queue.push(message);
    return true;
  }

  submit() {
    if (this.send(this.inputEl.value)) {
      this.inputEl.value = '';
      this.onInput();
    }
    this.inputEl.focus();
  }

  onBotMessage(data) {
    const text = typeof data.text === 'string' ? data.text : '';
    const attachment = data.attachment && data.attachment.payload && data.attachment.payload.src;
    const message = { from: 'bot', text: text || (attachment ? String(attachment) : ''), buttons: buttonsOf(data), ts: Date.now() };
    if (!message.text && !message.buttons.length) return;
    this.showTyping(false);
    this.append(message);
  }

  append(message) {
    this.store.add(message);
    const nearBottom = this.logEl.scrollHeight - this.logEl.scrollTop - this.logEl.clientHeight < 120;
    for (const old of this.logEl.querySelectorAll('.hq-quick')) old.remove();
    this.logEl.append(this.messageEl(message, true));
    if (nearBottom || message.from === 'user') this.scrollToEnd();
  }

  renderAll() {
    this.logEl.replaceChildren(this.welcomeEl());
    const { messages } = this.store;
    messages.forEach((m, i) => this.logEl.append(this.messageEl(m, i === messages.length - 1)));
    this.scrollToEnd();
  }

  welcomeEl() {
    const { intro, examples } = this.options;
    if (!intro && !examples.length) return '';
    return h('div', { class: 'hq-welcome' },
      intro ? h('p', { class: 'hq-intro' }, intro) : null,
      examples.length ? h('div', { class: 'hq-chips', role: 'group', 'aria-label': TEXT.examples },
        examples.map((q) => h('button', { type: 'button', class: 'hq-chip', onclick: () => { this.send(q); this.inputEl.focus(); } }, q))) : null);
  }

  messageEl(message, last) {
    const bot = message.from === 'bot';
    const bubble = h('div', { class: 'hq-bubble' });
    if (bot) bubble.append(renderMarkdown(message.text));
    else bubble.textContent = message.text; // what a user typed is never interpreted
    const when = new Date(message.ts);
    const item = h('div', { class: `hq-msg ${bot ? 'hq-bot' : 'hq-user'}` },
      h('span', { class: 'hq-sr' }, `${bot ? TEXT.bot : TEXT.you}：`),
      bubble,
      h('time', { class: 'hq-time', datetime: Number.isNaN(when.getTime()) ? '' : when.toISOString() }, formatTime(message.ts)));
    if (bot && last && message.buttons && message.buttons.length) {
      item.append(h('div', { class: 'hq-quick', role: 'group', 'aria-label': TEXT.quickReplies },
        message.buttons.map((b) => h('button', {
          type: 'button', class: 'hq-chip',
          onclick: () => { if (this.send(b.payload, b.title)) this.inputEl.focus(); },
        }, b.title))));
    }
    return item;
  }

  // ---- view state ----------------------------------------------------

  showTyping(on) {
    clearTimeout(this.typingTimer);
    this.typingEl.hidden = !on;
    // Never spin forever: the guard channel always answers, but the network may not.
    if (on) this.typingTimer = setTimeout(() => { this.typingEl.hidden = true; }, 60000);
    if (on) this.scrollToEnd();
  }

  showBanner(text) {
    this.bannerEl.textContent = text;
    this.bannerEl.hidden = false;
  }

  scrollToEnd() {
    this.logEl.scrollTop = this.logEl.scrollHeight;
  }

  onInput() {
    if (!this.inputEl) return;
    const { maxLength } = this.options;
    const length = this.inputEl.value.length;
    this.counterEl.textContent = `${length}/${maxLength}`;
    this.counterEl.setAttribute('aria-label', `已输入${length}字，最多${maxLength}字`);
    this.counterEl.dataset.near = String(length >= maxLength * 0.9);
    this.sendEl.disabled = !this.inputEl.value.trim() || this.state === 'offline' || this.state === 'connecting';
    this.autosize();
  }

  autosize() {
    // Grow with the text up to a few lines; a hidden panel has no height to measure.
    if (this.panelEl.hidden) return;
    this.inputEl.style.height = 'auto';
    this.inputEl.style.height = `${Math.min(this.inputEl.scrollHeight + 2, 120)}px`;
  }

  onKeyDown(event) {
    // Enter that confirms a Chinese IME composition must not send.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      this.submit();
    }
  }

  open() {
    if (!this.launcherEl) return;
    this.panelEl.hidden = false;
    this.rootEl.dataset.open = 'true';
    this.launcherEl.setAttribute('aria-expanded', 'true');
    this.autosize();
    this.scrollToEnd();
    this.inputEl.focus();
  }

  close() {
    if (!this.launcherEl) return;
    this.panelEl.hidden = true;
    this.rootEl.dataset.open = 'false';
    this.launcherEl.setAttribute('aria-expanded', 'false');
    this.launcherEl.focus();
  }

  toggle() {
    if (this.panelEl.hidden) this.open();
    else this.close();
  }
}

function optionsFromScript(script) {
  const d = script ? script.dataset : {};
  const max = parseInt(d.maxLength, 10);
  return {
    serverUrl: d.serverUrl || '',
    historyUrl: d.historyUrl || '',
    title: d.title || DEFAULTS.title,
    initialMessage: d.initialMessage || '',
    intro: d.intro || '',
    examples: (d.examples || '').split('|').map((s) => s.trim()).filter(Boolean),
    target: d.target || '',
    open: d.open === 'true',
    maxLength: Number.isFinite(max) && max > 0 ? Math.min(max, 5000) : DEFAULTS.maxLength,
  };
}

const script = document.currentScript;

function start() {
  const widget = new ChatWidget(optionsFromScript(script)).mount();
  window.HuiqiChat = {
    widget,
    send: (text) => widget.send(text),
    open: () => widget.open(),
    close: () => widget.close(),
  };
  window.dispatchEvent(new CustomEvent('huiqi-chat:ready'));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
