// Drives Debian's headless Chromium against the real servers and prints one
// JSON object: { scenarios: { name: { ok, detail, error? } }, screenshots, sessionIds }.
// Run by tests/web/test_widget_browser.py, which starts the servers:
//   HUIQI_WEB_URL=… HUIQI_RASA_URL=… HUIQI_ARTIFACTS=… node widget/test/browser.mjs
// Every scenario runs even if an earlier one failed; Python asserts on each.
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const WEB = process.env.HUIQI_WEB_URL;
const RASA = process.env.HUIQI_RASA_URL;
const ARTIFACTS = process.env.HUIQI_ARTIFACTS || 'var/test-artifacts';
const CHROMIUM = process.env.HUIQI_CHROMIUM || '/usr/bin/chromium';
const ANSWER_TIMEOUT = 60_000;

if (!WEB || !RASA) {
  console.error('HUIQI_WEB_URL and HUIQI_RASA_URL must name the running web app and Rasa server');
  process.exit(2);
}

const results = { scenarios: {}, screenshots: [], sessionIds: {} };

async function scenario(name, fn) {
  const started = Date.now();
  try {
    const detail = await fn();
    results.scenarios[name] = { ok: true, detail, ms: Date.now() - started };
  } catch (error) {
    results.scenarios[name] = { ok: false, error: String(error && error.stack || error), ms: Date.now() - started };
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// ---- helpers over the widget's (open) shadow root ------------------------

/** Everything the widget shows, read inside the page. */
async function snapshot(page) {
  return page.evaluate(() => {
    const root = document.querySelector('.huiqi-chat-host').shadowRoot;
    const msgs = [...root.querySelectorAll('.hq-msg')].map((m) => ({
      from: m.classList.contains('hq-bot') ? 'bot' : 'user',
      text: m.querySelector('.hq-bubble').textContent,
      html: m.querySelector('.hq-bubble').innerHTML,
      time: m.querySelector('time') ? m.querySelector('time').textContent : '',
      buttons: [...m.querySelectorAll('.hq-quick button')].map((b) => b.textContent),
    }));
    return {
      messages: msgs,
      status: root.querySelector('.hq-status').textContent,
      state: root.querySelector('.hq-status').dataset.state,
      banner: root.querySelector('.hq-banner').hidden ? '' : root.querySelector('.hq-banner').textContent,
      typing: !root.querySelector('.hq-typing').hidden,
    };
  });
}

async function waitForState(page, states, timeout = 30_000) {
  await page.waitForFunction((wanted) => {
    const host = document.querySelector('.huiqi-chat-host');
    const status = host && host.shadowRoot.querySelector('.hq-status');
    return status && wanted.includes(status.dataset.state);
  }, states, { timeout });
}

/** Wait for at least `count` bot messages, then for the reply to finish (no new message for 1.5 s). */
async function waitForBotMessages(page, count) {
  await page.waitForFunction((n) => {
    const root = document.querySelector('.huiqi-chat-host').shadowRoot;
    return root.querySelectorAll('.hq-bot').length >= n;
  }, count, { timeout: ANSWER_TIMEOUT });
  let last = -1;
  for (;;) {
    const now = (await snapshot(page)).messages.length;
    if (now === last) break;
    last = now;
    await page.waitForTimeout(1500);
  }
  return snapshot(page);
}

async function ask(page, text) {
  const before = (await snapshot(page)).messages.filter((m) => m.from === 'bot').length;
  const input = page.locator('.hq-input');
  await input.fill(text);
  await input.press('Enter');
  const after = await waitForBotMessages(page, before + 1);
  const asked = after.messages.findLastIndex((m) => m.from === 'user');
  return { snapshot: after, answer: after.messages.slice(asked + 1).filter((m) => m.from === 'bot') };
}

async function storedConversation(page, serverUrl) {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(key) || 'null'), `huiqi-chat:v1:${serverUrl}`);
}

async function shot(page, name) {
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: false });
  results.screenshots.push(path);
  return path;
}

/** A TCP proxy in front of Rasa that the test can cut and restore, to play "the server went away". */
function cuttableProxy(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let server = null;
  let listenPort = 0;
  const listen = () => new Promise((resolve) => {
    server = net.createServer((client) => {
      const upstream = net.connect(Number(port), hostname);
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
      client.pipe(upstream).pipe(client);
    });
    server.listen(listenPort, '127.0.0.1', () => { listenPort = server.address().port; resolve(); });
  });
  return {
    listen,
    url: () => `http://127.0.0.1:${listenPort}`,
    cut: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** Another site (another origin) that embeds the widget with one script tag. */
function hostSite(proxyUrl) {
  const page = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>某区企业服务网</title></head>
<body style="font-family: sans-serif; margin: 40px"><h1>某区企业服务网</h1><p>这是一个嵌入了惠企政策助手的第三方页面。</p>
<script src="${WEB}/widget/huiqi-widget.js" data-server-url="${proxyUrl}" data-title="企业服务咨询"
        data-initial-message="你好" defer></script>
</body></html>`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((r) => server.close(() => r())),
  })));
}

// ---- scenarios -----------------------------------------------------------

await mkdir(ARTIFACTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // Playwright gives every launch a fresh, empty --user-data-dir of its own.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const version = browser.version();

const desktop = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
const page = await desktop.newPage();
const dialogs = [];
const pageErrors = [];
page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
page.on('pageerror', (e) => pageErrors.push(String(e)));

await scenario('page', async () => {
  await page.goto(WEB + '/');
  await page.waitForSelector('.huiqi-chat-host');
  await waitForState(page, ['online']);
  const info = await page.evaluate(() => {
    const root = document.querySelector('.huiqi-chat-host').shadowRoot;
    const input = root.querySelector('.hq-input');
    const label = root.querySelector(`label[for="${input.id}"]`);
    const log = root.querySelector('.hq-log');
    return {
      documentTitle: document.title,
      lang: document.documentElement.lang,
      heading: root.querySelector('[role="heading"]').textContent,
      intro: root.querySelector('.hq-intro').textContent,
      chips: [...root.querySelectorAll('.hq-chips .hq-chip')].map((b) => b.textContent),
      inputLabel: label ? label.textContent : null,
      logRole: log.getAttribute('role'),
      logLive: log.getAttribute('aria-live'),
      counter: root.querySelector('.hq-counter').textContent,
    };
  });
  check(info.heading === '惠企政策助手', `heading is ${info.heading}`);
  for (const topic of ['8+4', '民营经济32条', '双尖双领']) check(info.intro.includes(topic), `intro lacks ${topic}`);
  check(info.chips.length >= 3 && info.chips.length <= 4, `${info.chips.length} example chips`);
  check(info.inputLabel, 'the input has no label');
  check(info.logLive === 'polite', 'the message log is not aria-live');
  await shot(page, 'chat-desktop-empty.png');
  return info;
});

await scenario('input_limit', async () => {
  const input = page.locator('.hq-input');
  await input.fill('');
  await input.pressSequentially('首台套');
  const typed = (await page.locator('.hq-counter').textContent()).trim();
  await input.fill('政'.repeat(520));
  const value = await input.inputValue();
  const counter = (await page.locator('.hq-counter').textContent()).trim();
  const warned = await page.locator('.hq-counter').getAttribute('data-near');
  await input.fill('');
  check(typed === '3/500', `counter after 3 characters shows ${typed}`);
  check(value.length === 500, `the input accepted ${value.length} characters`);
  check(counter === '500/500' && warned === 'true', `counter at the limit shows ${counter} (near=${warned})`);
  return { typed, counter, accepted: value.length };
});

await scenario('ask', async () => {
  const { answer, snapshot: snap } = await ask(page, '双尖双领怎么申报');
  const focused = await page.evaluate(() => document.querySelector('.huiqi-chat-host').shadowRoot.activeElement?.className);
  const user = snap.messages.filter((m) => m.from === 'user').at(-1);
  check(user && user.text === '双尖双领怎么申报', 'the question is not shown');
  check(answer.length > 0 && answer.every((m) => m.text.trim()), 'no answer shown');
  check(answer.every((m) => /^\d{2}:\d{2}$/.test(m.time)), `timestamps: ${answer.map((m) => m.time)}`);
  check(focused === 'hq-input', `focus went to ${focused}`);
  check(!snap.typing, 'the typing indicator is still shown');
  const links = await page.evaluate(() => [...document.querySelector('.huiqi-chat-host').shadowRoot
    .querySelectorAll('.hq-bot a')].map((a) => ({ href: a.href, target: a.target, rel: a.rel, text: a.textContent })));
  check(links.every((a) => a.target === '_blank' && a.rel.includes('noopener')), 'a link does not open in a new tab');
  await shot(page, 'chat-desktop-answer.png');
  return { answer: answer.map((m) => m.text), links };
});

await scenario('typing_indicator', async () => {
  // The dots must appear between sending and the reply; hold the reply back to see them.
  const input = page.locator('.hq-input');
  const before = (await snapshot(page)).messages.filter((m) => m.from === 'bot').length;
  await input.fill('首台套奖励多少');
  await input.press('Enter');
  const seen = await page.waitForFunction(() => !document.querySelector('.huiqi-chat-host').shadowRoot
    .querySelector('.hq-typing').hidden, null, { timeout: 5000 }).then(() => true, () => false);
  const after = await waitForBotMessages(page, before + 1);
  check(seen, 'no typing indicator after sending');
  check(!after.typing, 'the typing indicator stays after the answer');
  return { seen };
});

await scenario('quick_reply', async () => {
  const { answer: greeting } = await ask(page, '你好');
  const withButtons = greeting.find((m) => m.buttons.length);
  check(withButtons, `the greeting has no buttons: ${JSON.stringify(greeting)}`);
  const title = withButtons.buttons[0];
  const before = (await snapshot(page)).messages.filter((m) => m.from === 'bot').length;
  await page.locator('.hq-quick button', { hasText: title }).first().click();
  const after = await waitForBotMessages(page, before + 1);
  const clicked = after.messages.findLastIndex((m) => m.from === 'user');
  const answer = after.messages.slice(clicked + 1);
  check(after.messages[clicked].text === title, `clicking sent ${after.messages[clicked].text}`);
  check(answer.length && answer.every((m) => m.from === 'bot' && m.text.trim()), 'no answer to the button');
  const staleButtons = after.messages.slice(0, clicked).some((m) => m.buttons.length);
  check(!staleButtons, 'old quick replies are still clickable');
  return { buttons: withButtons.buttons, clicked: title, answer: answer.map((m) => m.text) };
});

await scenario('reload', async () => {
  const before = await snapshot(page);
  const storedBefore = await storedConversation(page, RASA);
  await page.reload();
  await waitForState(page, ['online']);
  const after = await snapshot(page);
  const storedAfter = await storedConversation(page, RASA);
  check(storedBefore && storedAfter && storedBefore.sessionId === storedAfter.sessionId, 'the session id changed');
  check(after.messages.length === before.messages.length, `${before.messages.length} messages before, ${after.messages.length} after`);
  check(after.messages.every((m, i) => m.text === before.messages[i].text && m.time === before.messages[i].time),
    'the history differs after the reload');
  const { answer } = await ask(page, '民营经济32条是什么');
  check(answer.length && answer[0].text.trim(), 'no answer after the reload');
  results.sessionIds.desktop = storedAfter.sessionId;
  return { sessionId: storedAfter.sessionId, messagesKept: after.messages.length, answerAfterReload: answer.map((m) => m.text) };
});

await scenario('history_from_web_app', async () => {
  // Storage lost the messages but kept the session id and key: the history comes back from the web app's /api/history.
  const key = `huiqi-chat:v1:${RASA}`;
  const count = (await snapshot(page)).messages.length;
  await page.evaluate((k) => {
    const saved = JSON.parse(localStorage.getItem(k));
    localStorage.setItem(k, JSON.stringify({ sessionId: saved.sessionId, sessionKey: saved.sessionKey, messages: [], initialSent: true }));
  }, key);
  await page.reload();
  await page.waitForFunction(() => document.querySelector('.huiqi-chat-host').shadowRoot.querySelectorAll('.hq-msg').length > 0,
    null, { timeout: 15_000 });
  const restored = await snapshot(page);
  const users = restored.messages.filter((m) => m.from === 'user').map((m) => m.text);
  for (const q of ['双尖双领怎么申报', '你好', '民营经济32条是什么']) check(users.includes(q), `${q} is missing from the restored history`);
  return { before: count, restored: restored.messages.length };
});

await scenario('session_without_key', async () => {
  // A session id without the key issued with it (guessed, or from before keys): a fresh conversation, no history.
  const key = `huiqi-chat:v1:${RASA}`;
  const saved = await storedConversation(page, RASA);
  await page.evaluate(([k, id]) => {
    localStorage.setItem(k, JSON.stringify({ sessionId: id, messages: [], initialSent: true }));
  }, [key, saved.sessionId]);
  await page.reload();
  await waitForState(page, ['online']);
  await page.waitForTimeout(2000); // time enough for a history request, if the widget made one
  const fresh = await storedConversation(page, RASA);
  const shown = (await snapshot(page)).messages.length;
  check(fresh.sessionId !== saved.sessionId, 'the session continued without its key');
  check(typeof fresh.sessionKey === 'string' && fresh.sessionKey.length === 64, 'the new session came without a key');
  check(shown === 0, `${shown} messages of the old conversation were shown`);
  // Put the real conversation back for the scenarios that follow.
  await page.evaluate(([k, value]) => localStorage.setItem(k, value), [key, JSON.stringify(saved)]);
  await page.reload();
  await waitForState(page, ['online']);
  return { oldSession: saved.sessionId, newSession: fresh.sessionId, shown };
});

await scenario('xss', async () => {
  const payload = '<img src=x onerror=alert(1)>';
  await page.evaluate(() => { window.__xss = false; });
  const { snapshot: snap } = await ask(page, payload);
  const user = snap.messages.filter((m) => m.from === 'user').at(-1);
  check(user.text === payload, `the message is shown as ${JSON.stringify(user.text)}`);
  const images = await page.evaluate(() => document.querySelector('.huiqi-chat-host').shadowRoot.querySelectorAll('.hq-log img').length);
  check(images === 0, `${images} <img> elements in the log`);

  // Bot-side markup (here planted in stored history) goes through marked + DOMPurify.
  const key = `huiqi-chat:v1:${RASA}`;
  await page.evaluate((k) => {
    const saved = JSON.parse(localStorage.getItem(k));
    const now = Date.now();
    saved.messages.push({ from: 'bot', ts: now, text: [
      '<img src=x onerror="window.__xss=true;alert(2)">',
      '<script>window.__xss=true</script>',
      '[点我](javascript:window.__xss=true)',
      '<a href="javascript:window.__xss=true" onclick="window.__xss=true">链接</a>',
      '出处：https://www.zj.gov.cn/art/2025/1/1/art_1229.html。请以原文为准。',
    ].join('\n\n') });
    localStorage.setItem(k, JSON.stringify(saved));
  }, key);
  await page.reload();
  await waitForState(page, ['online']);
  await page.evaluate(() => { window.__xss = window.__xss || false; });
  await page.waitForTimeout(500);
  const planted = await page.evaluate(() => {
    const root = document.querySelector('.huiqi-chat-host').shadowRoot;
    const last = [...root.querySelectorAll('.hq-bot .hq-bubble')].at(-1);
    return {
      text: last.textContent,
      elements: [...last.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()),
      links: [...last.querySelectorAll('a')].map((a) => ({ href: a.getAttribute('href'), target: a.target, rel: a.rel })),
      handlers: [...last.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
      flag: window.__xss,
    };
  });
  check(planted.text.includes('<img src=x onerror="window.__xss=true;alert(2)">'), 'bot-side HTML is not shown as text');
  check(!planted.elements.some((t) => ['img', 'script', 'iframe'].includes(t)), `elements: ${planted.elements}`);
  check(planted.handlers === 0, 'an element kept an on* attribute');
  check(planted.links.every((l) => !l.href || /^https?:/.test(l.href)), `links: ${JSON.stringify(planted.links)}`);
  const source = planted.links.find((l) => l.href && l.href.startsWith('https://www.zj.gov.cn/'));
  check(source && source.href === 'https://www.zj.gov.cn/art/2025/1/1/art_1229.html', `source link: ${JSON.stringify(source)}`);
  check(source.target === '_blank' && source.rel.includes('noopener'), 'the source link does not open in a new tab');
  check(planted.flag === false, 'injected script ran');
  check(dialogs.length === 0, `dialogs opened: ${dialogs}`);
  return { userText: user.text, planted, dialogs };
});

await scenario('no_page_errors', async () => {
  check(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
  return { pageErrors };
});

await scenario('phone', async () => {
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
  });
  const p = await phone.newPage();
  await p.goto(WEB + '/');
  await waitForState(p, ['online']);
  const box = async (selector) => p.locator(selector).first().boundingBox();
  const empty = { panel: await box('.hq-panel'), input: await box('.hq-input'), send: await box('.hq-send') };
  await shot(p, 'chat-390x844-empty.png');
  await p.locator('.hq-chips .hq-chip').first().tap();
  await waitForBotMessages(p, 1);
  const { answer } = await ask(p, '首台套奖励多少');
  const answered = { panel: await box('.hq-panel'), input: await box('.hq-input'), send: await box('.hq-send') };
  await shot(p, 'chat-390x844.png');
  const scroll = await p.evaluate(() => {
    const log = document.querySelector('.huiqi-chat-host').shadowRoot.querySelector('.hq-log');
    return { atBottom: log.scrollHeight - log.scrollTop - log.clientHeight < 4, pageScrolls: document.documentElement.scrollHeight > innerHeight };
  });
  await phone.close();
  for (const [when, b] of Object.entries({ empty, answered })) {
    check(Math.abs(b.panel.x) < 1 && Math.abs(b.panel.y) < 1 && Math.abs(b.panel.width - 390) < 1 && Math.abs(b.panel.height - 844) < 1,
      `${when}: the widget is ${JSON.stringify(b.panel)}, not the whole 390×844 screen`);
    for (const part of ['input', 'send']) {
      check(b[part].y >= 0 && b[part].y + b[part].height <= 844 && b[part].x >= 0 && b[part].x + b[part].width <= 390,
        `${when}: the ${part} is off screen: ${JSON.stringify(b[part])}`);
    }
  }
  check(scroll.atBottom, 'the log did not scroll to the newest message');
  check(!scroll.pageScrolls, 'the page itself scrolls on a phone');
  return { empty, answered, answer: answer.map((m) => m.text), scroll };
});

const proxy = cuttableProxy(RASA);
await proxy.listen();
const site = await hostSite(proxy.url());
const embedded = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
const e = await embedded.newPage();
const embedErrors = [];
e.on('pageerror', (err) => embedErrors.push(String(err)));

await scenario('embed', async () => {
  await e.goto(site.url);
  const launcher = e.locator('.hq-launcher');
  await launcher.waitFor();
  const closedPanel = await e.locator('.hq-panel').isVisible();
  await launcher.click();
  await waitForState(e, ['online']);
  const expanded = await launcher.getAttribute('aria-expanded');
  const title = await e.locator('.hq-title').textContent();
  const greeting = await waitForBotMessages(e, 1);
  check(!closedPanel, 'the panel is open before the launcher is clicked');
  check(expanded === 'true', 'aria-expanded is not updated');
  check(title === '企业服务咨询', `title is ${title}`);
  check(greeting.messages[0].from === 'bot', 'the initial message is shown as if the user typed it');
  const buttons = greeting.messages.flatMap((m) => m.buttons);
  check(buttons.length > 0, 'the greeting sent by the initial message has no buttons');
  const before = greeting.messages.filter((m) => m.from === 'bot').length;
  await e.locator('.hq-quick button').last().click();
  const after = await waitForBotMessages(e, before + 1);
  await shot(e, 'embed-desktop.png');
  await e.keyboard.press('Escape');
  const closed = !(await e.locator('.hq-panel').isVisible());
  const focusBack = await e.evaluate(() => document.querySelector('.huiqi-chat-host').shadowRoot.activeElement?.className);
  check(closed, 'Escape does not close the panel');
  check(focusBack === 'hq-launcher', `after closing, focus is on ${focusBack}`);
  check(embedErrors.length === 0, `page errors: ${embedErrors}`);
  results.sessionIds.embed = (await storedConversation(e, proxy.url())).sessionId;
  return { title, greeting: greeting.messages.map((m) => m.text), buttons, answer: after.messages.at(-1).text };
});

await scenario('reconnect', async () => {
  await e.locator('.hq-launcher').click();
  await waitForState(e, ['online', 'reconnected']);
  const sessionBefore = (await storedConversation(e, proxy.url())).sessionId;
  await proxy.cut();
  await waitForState(e, ['offline'], 20_000);
  const down = await snapshot(e);
  await e.locator('.hq-input').fill('用地有什么支持');
  const sendDisabled = await e.locator('.hq-send').isDisabled();
  await shot(e, 'embed-offline.png');
  await proxy.listen(); // the server comes back on the same address
  await waitForState(e, ['reconnected', 'online'], 30_000);
  const up = await snapshot(e);
  const bots = up.messages.filter((m) => m.from === 'bot').length;
  await e.locator('.hq-input').press('Enter');
  const answered = await waitForBotMessages(e, bots + 1);
  const sessionAfter = (await storedConversation(e, proxy.url())).sessionId;
  check(down.banner.includes('连接中断'), `no visible offline state: ${JSON.stringify(down)}`);
  check(sendDisabled, 'sending is possible while offline');
  check(['已重新连接', '在线'].includes(up.status), `status after the server came back: ${up.status}`);
  check(sessionBefore === sessionAfter, 'the session id changed across the reconnect');
  return { offline: { status: down.status, banner: down.banner }, back: { status: up.status, banner: up.banner },
    answer: answered.messages.at(-1).text };
});

await embedded.close();
await site.close();
await proxy.close();
await desktop.close();
await browser.close();
results.chromium = version;
console.log(JSON.stringify(results));
