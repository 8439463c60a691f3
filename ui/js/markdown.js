// A tiny Markdown subset for descriptions, rendered safely: the text is parsed into blocks and
// inline tokens (pure, unit-tested in Node) and built with DOM text nodes only, never innerHTML.
// Blocks: paragraphs (blank-line separated), fenced code (```), headings (#..####), bullet lists
// (- or *). Inline: `code`, **bold**, [text](url) and bare URLs; a link is made only for http(s)
// URLs, anything else (javascript:, data:, relative) stays plain text.

import { h } from './dom.js';

/** The URL when it is an absolute http(s) URL, else null. @param {string} u */
export function safeUrl(u) {
  const s = String(u || '').trim();
  if (!/^https?:\/\/[^\s]+$/i.test(s)) return null;
  try {
    const url = new URL(s);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

const INLINE = /`([^`\n]+)`|\[([^\]\n]+)\]\(([^)\s]+)\)|\*\*([^*\n]+)\*\*|(https?:\/\/[^\s<>()[\]]+[^\s<>()[\].,;:!?'"])/gi;

/** @param {string} text @returns {{t: 'text'|'code'|'b'|'link', v: string, href?: string}[]} */
export function parseInline(text) {
  const out = [];
  let last = 0;
  const push = (tok) => {
    const prev = out[out.length - 1];
    if (tok.t === 'text' && prev && prev.t === 'text') prev.v += tok.v; else if (tok.v) out.push(tok);
  };
  for (const m of text.matchAll(INLINE)) {
    push({ t: 'text', v: text.slice(last, m.index) });
    if (m[1] !== undefined) push({ t: 'code', v: m[1] });
    else if (m[2] !== undefined) {
      const url = safeUrl(m[3]);
      push(url ? { t: 'link', v: m[2], href: url } : { t: 'text', v: m[0] });
    } else if (m[4] !== undefined) push({ t: 'b', v: m[4] });
    else {
      const url = safeUrl(m[5]);
      push(url ? { t: 'link', v: m[5], href: url } : { t: 'text', v: m[5] });
    }
    last = m.index + m[0].length;
  }
  push({ t: 'text', v: text.slice(last) });
  return out;
}

/** @param {string} src @returns {any[]} blocks: {type: 'p'|'h'|'ul'|'code', ...} */
export function parseMarkdown(src) {
  const lines = String(src || '').replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let para = [];
  const flush = () => {
    if (para.length) blocks.push({ type: 'p', inlines: parseInline(para.join('\n')) });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*```\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      flush();
      const code = [];
      for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) code.push(lines[i]);
      blocks.push({ type: 'code', lang: fence[1], text: code.join('\n') });
      continue;
    }
    const head = /^(#{1,4})\s+(.*)$/.exec(line);
    if (head) {
      flush();
      blocks.push({ type: 'h', level: head[1].length, inlines: parseInline(head[2].trim()) });
      continue;
    }
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (item) {
      flush();
      const prev = blocks[blocks.length - 1];
      const inl = parseInline(item[1]);
      if (prev && prev.type === 'ul' && prev.open) prev.items.push(inl); else blocks.push({ type: 'ul', items: [inl], open: true });
      continue;
    }
    const prev = blocks[blocks.length - 1];
    if (prev && prev.type === 'ul') prev.open = false;
    if (!line.trim()) { flush(); continue; }
    para.push(line);
  }
  flush();
  for (const b of blocks) delete b.open;
  return blocks;
}

function inlineNodes(tokens) {
  return tokens.map((t) => {
    if (t.t === 'code') return h('code', null, t.v);
    if (t.t === 'b') return h('strong', null, t.v);
    if (t.t === 'link') return h('a', { href: t.href, target: '_blank', rel: 'noopener noreferrer nofollow' }, t.v);
    return t.v;
  });
}

/** The rendered description (a div.md), or a muted placeholder when empty. @param {string} src */
export function renderMarkdown(src, empty = 'No description.') {
  const blocks = parseMarkdown(src);
  if (!blocks.length) return h('div', { class: 'md muted' }, h('p', null, empty));
  return h('div', { class: 'md' }, blocks.map((b) => {
    if (b.type === 'code') return h('pre', { class: 'code' }, h('code', null, b.text));
    if (b.type === 'h') return h(b.level <= 2 ? 'h3' : 'h4', null, inlineNodes(b.inlines));
    if (b.type === 'ul') return h('ul', null, b.items.map((it) => h('li', null, inlineNodes(it))));
    return h('p', null, inlineNodes(b.inlines));
  }));
}
