// Bot text → safe DOM. Two layers: marked never passes raw HTML through (it is
// shown as text), and DOMPurify then keeps only a small set of tags and
// http(s)/mailto/tel links, so nothing in a message can ever run.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const ALLOWED_TAGS = [
  'p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote',
  'ul', 'ol', 'li', 'a', 'h1', 'h2', 'h3', 'h4', 'hr',
  'table', 'thead', 'tbody', 'tr', 'th', 'td',
];

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // Raw HTML in a message is displayed, not interpreted.
    html({ text }) {
      return escapeHtml(text);
    },
    // No remote images in a chat bubble (tracking, layout); show them as links.
    image({ href, text }) {
      return `<a href="${escapeHtml(href || '')}">${escapeHtml(text || href || '')}</a>`;
    },
  },
});

// GFM's bare-URL autolink runs on until whitespace, which in Chinese text
// swallows the rest of the sentence ("…/art_1.html。下一句"). Wrap bare URLs in
// <…> first, stopping at the first non-URL character and trailing punctuation.
const BARE_URL = /(^|[^([<\w"'=/])(https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+)/g;
const TRAILING = /[.,;:!?'")\]]+$/;

export function linkBareUrls(text) {
  return text.replace(BARE_URL, (_, before, url) => {
    const trail = (url.match(TRAILING) || [''])[0];
    const core = trail ? url.slice(0, -trail.length) : url;
    return `${before}<${core}>${trail}`;
  });
}

let purify = null;

function sanitizer() {
  if (purify) return purify;
  purify = DOMPurify(window);
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A') {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
  return purify;
}

/** Markdown text from the bot → a sanitised DocumentFragment. */
export function renderMarkdown(text) {
  const html = marked.parse(linkBareUrls(String(text ?? '')));
  return sanitizer().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ['href', 'title'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|tel:)/i,
    RETURN_DOM_FRAGMENT: true,
  });
}
