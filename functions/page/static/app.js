// The kitchen page: signs in with a viewer key (#k=<key> link or the form),
// shows every room from /api/rooms and refreshes every 5 s. Text only: nothing
// from the API ever becomes markup. No cookies: the key travels as a Bearer
// header, so no other site can act with it.
'use strict';
(function () {
  var STORE = 'kitchen.viewerKey';
  var REFRESH_MS = 5000;
  var TIMEOUT_MS = 8000;
  var NOTE_MS = 8000;
  var key = null;
  var timer = null;
  var lastOk = null;
  var admin = false;
  var cards = new Map();
  var confirming = new Set();
  var busy = new Set();
  var announcing = new Set();
  var drafts = new Map();
  var notes = new Map();
  var lastData = null;
  var started = 0;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function store(k) {
    try {
      if (k) localStorage.setItem(STORE, k); else localStorage.removeItem(STORE);
    } catch (e) { /* storage off: the key lives for this tab only */ }
  }

  function storedKey() {
    try { return localStorage.getItem(STORE); } catch (e) { return null; }
  }

  // A sign-in link carries the key after '#k=': keep it, then take it out of
  // the address bar (and so out of the history and of screenshots).
  function keyFromLink() {
    var m = /^#k=([^&]*)/.exec(location.hash);
    if (!m) return null;
    history.replaceState(null, '', location.pathname + location.search);
    var k = m[1];
    try { k = decodeURIComponent(k); } catch (e) { /* use it as it is */ }
    return k.trim() || null;
  }

  function time(iso, seconds) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    var opts = { hour: '2-digit', minute: '2-digit' };
    if (seconds) opts.second = '2-digit';
    return d.toLocaleTimeString([], opts);
  }

  function showSignIn(message) {
    clearTimeout(timer);
    key = null;
    cards.clear();
    lastData = null;
    $('rooms').textContent = '';
    $('board').hidden = true;
    $('who').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-message').textContent = message || '';
    $('key').value = '';
    $('key').focus();
  }

  function signIn(k) {
    key = k;
    store(k);
    $('sign-in').hidden = true;
    $('board').hidden = false;
    setStatus('Loading…', false);
    load();
  }

  function setStatus(text, warn) {
    var s = $('status');
    s.textContent = text;
    s.classList.toggle('warn', !!warn);
  }

  async function errorText(res, fallback) {
    try {
      var body = await res.json();
      if (body && typeof body.message === 'string') return body.message;
    } catch (e) { /* not JSON */ }
    return fallback + ' (HTTP ' + res.status + ')';
  }

  async function call(method, path) {
    var ctrl = new AbortController();
    var t = setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    try {
      return await fetch(path, {
        method: method,
        headers: { Authorization: 'Bearer ' + key, Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
        signal: ctrl.signal
      });
    } finally {
      clearTimeout(t);
    }
  }

  // Every 5 s from the start of the last request, however long it took.
  function schedule() {
    clearTimeout(timer);
    if (key) timer = setTimeout(load, Math.max(0, REFRESH_MS - (Date.now() - started)));
  }

  function unreachable(why) {
    var since = lastOk ? ' Showing what was known at ' + time(lastOk, true) + '.' : '';
    setStatus('Cannot reach the kitchen right now (' + why + '); retrying every 5 seconds.' + since, true);
    $('rooms').classList.add('stale');
  }

  async function load() {
    if (!key) return;
    clearTimeout(timer);
    started = Date.now();
    var res;
    try {
      res = await call('GET', '/api/rooms');
    } catch (e) {
      unreachable(e && e.name === 'AbortError' ? 'no answer in time' : 'network error');
      return schedule();
    }
    if (res.status === 401) {
      var why = await errorText(res, 'This key was not accepted');
      store(null);
      return showSignIn('Signed out: ' + why);
    }
    if (!res.ok) {
      unreachable(await errorText(res, 'the server had a problem'));
      return schedule();
    }
    var data;
    try { data = await res.json(); } catch (e) {
      unreachable('unreadable answer');
      return schedule();
    }
    if (!key) return;
    render(data, true);
    schedule();
  }

  function redraw() {
    if (lastData) render(lastData, false);
  }

  function render(data, fresh) {
    lastData = data;
    var rooms = Array.isArray(data.rooms) ? data.rooms.slice() : [];
    admin = !!(data.viewer && data.viewer.admin);
    var who = data.viewer ? data.viewer.name + (admin ? ' (admin)' : '') : '';
    $('who-name').textContent = who ? 'Signed in as ' + who : '';
    $('who').hidden = false;
    rooms.sort(function (a, b) {
      return (b.live - a.live) || (a.room < b.room ? -1 : a.room > b.room ? 1 : 0);
    });
    var list = $('rooms');
    var seen = new Set();
    var stale = false;
    var now = Date.now();
    notes.forEach(function (n, room) { if (n.until < now) notes.delete(room); });
    rooms.forEach(function (r, i) {
      seen.add(r.room);
      stale = stale || r.stale || !!r.error;
      var sig = JSON.stringify([r, admin, confirming.has(r.room), announcing.has(r.room), busy.has(r.room),
        (notes.get(r.room) || {}).text || '']);
      var c = cards.get(r.room);
      if (!c) {
        c = { el: el('article', { class: 'room', 'data-room': r.room }), sig: '' };
        cards.set(r.room, c);
      }
      if (c.sig !== sig) {
        fill(c.el, r);
        c.sig = sig;
      }
      if (list.children[i] !== c.el) list.insertBefore(c.el, list.children[i] || null);
    });
    cards.forEach(function (c, name) {
      if (!seen.has(name)) { c.el.remove(); cards.delete(name); }
    });
    if (!rooms.length) list.textContent = 'No rooms are configured.';
    if (!fresh) return;
    list.classList.remove('stale');
    lastOk = new Date().toISOString();
    setStatus(stale
      ? 'Some counts are stale or unavailable: Zoom or the presence table is not answering. Updated ' + time(lastOk, true) + '.'
      : 'Updated ' + time(lastOk, true) + '. Refreshes every 5 seconds.', stale);
  }

  function fill(card, r) {
    var focused = card.contains(document.activeElement) && document.activeElement.dataset.action;
    // A room whose count could not be read carries `error`: no number to show.
    if (r.error) card.removeAttribute('data-count'); else card.setAttribute('data-count', String(r.count));
    card.classList.toggle('live', !!r.live);
    card.classList.toggle('is-stale', !!r.stale);
    card.setAttribute('aria-labelledby', 'room-' + r.room);
    var people = r.count === 1 ? '1 person' : r.count + ' people';
    var kids = [
      el('div', { class: 'head' }, [
        el('h3', { id: 'room-' + r.room, text: r.room }),
        el('span', { class: 'badge', text: r.live ? 'Live' : 'Idle' })
      ]),
      el('p', { class: 'count', text: r.error ? 'Count unavailable' : r.count > 0 ? people : 'empty' })
    ];
    if (r.error) kids.push(el('p', { class: 'stale-note', text: String(r.message || r.error) }));
    if (Array.isArray(r.names) && r.names.length) {
      kids.push(el('ul', { class: 'names', 'aria-label': 'Who is in the ' + r.room },
        r.names.map(function (n) { return el('li', { text: String(n) }); })));
    }
    if (r.count > 0 && r.occupied_since) {
      kids.push(el('p', { class: 'since', text: 'Occupied since ' + time(r.occupied_since) }));
    }
    if (r.stale) {
      kids.push(el('p', { class: 'stale-note', text: 'Stale: last known at ' + time(r.as_of, true) }));
    }
    var actions = el('div', { class: 'actions' });
    if (typeof r.join_url === 'string' && /^https?:\/\//.test(r.join_url)) {
      actions.appendChild(el('a', {
        class: 'btn primary', href: r.join_url, target: '_blank', rel: 'noopener noreferrer',
        'aria-label': 'Join the ' + r.room, 'data-action': 'join', text: 'Join'
      }));
    } else {
      actions.appendChild(el('span', { class: 'muted', text: 'Join link unavailable' }));
    }
    if (admin && r.live && !confirming.has(r.room)) {
      var end = el('button', { type: 'button', class: 'btn danger', 'data-action': 'end', 'aria-label': 'End the meeting in the ' + r.room, text: 'End' });
      end.disabled = busy.has(r.room);
      end.addEventListener('click', function () { confirming.add(r.room); notes.delete(r.room); redraw(); });
      actions.appendChild(end);
    }
    if (admin && r.count > 0 && !announcing.has(r.room)) {
      var ann = el('button', { type: 'button', class: 'btn', 'data-action': 'announce', 'aria-label': 'Announce to everyone in the ' + r.room, text: 'Announce' });
      ann.disabled = busy.has(r.room);
      ann.addEventListener('click', function () { announcing.add(r.room); notes.delete(r.room); redraw(); });
      actions.appendChild(ann);
    }
    kids.push(actions);
    if (admin && announcing.has(r.room)) {
      kids.push(announceForm(r.room));
      if (focused === 'announce') focused = 'message';
    }
    if (admin && confirming.has(r.room)) {
      var yes = el('button', { type: 'button', class: 'btn danger', 'data-action': 'confirm', text: 'Yes, end it' });
      var no = el('button', { type: 'button', class: 'btn', 'data-action': 'cancel', text: 'Cancel' });
      yes.disabled = no.disabled = busy.has(r.room);
      yes.addEventListener('click', function () { endRoom(r.room); });
      no.addEventListener('click', function () { confirming.delete(r.room); redraw(); });
      kids.push(el('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm ending' }, [
        el('p', { text: 'End the meeting in the ' + r.room + ' for everyone in it?' }), yes, no
      ]));
      if (focused === 'end') focused = 'cancel';
    }
    var shown = notes.get(r.room);
    if (shown) kids.push(el('p', { class: 'note', role: 'status', text: shown.text }));
    card.textContent = '';
    kids.forEach(function (k) { card.appendChild(k); });
    if (focused) {
      var again = card.querySelector('[data-action="' + focused + '"]') || card.querySelector('[data-action="end"]');
      if (again) {
        again.focus();
        if (again.tagName === 'TEXTAREA') again.selectionStart = again.selectionEnd = again.value.length;
      }
    }
  }

  function announceForm(room) {
    var id = 'message-' + room;
    var text = el('textarea', { id: id, rows: '3', maxlength: '1024', required: 'required', 'data-action': 'message' });
    text.value = drafts.get(room) || '';
    text.addEventListener('input', function () { drafts.set(room, text.value); });
    var send = el('button', { type: 'submit', class: 'btn primary', 'data-action': 'send', text: 'Send' });
    var cancel = el('button', { type: 'button', class: 'btn', 'data-action': 'cancel-announce', text: 'Cancel' });
    send.disabled = cancel.disabled = busy.has(room);
    cancel.addEventListener('click', function () { announcing.delete(room); redraw(); });
    var form = el('form', { class: 'announce' }, [
      el('label', { for: id, text: 'Message to everyone in the ' + room + ' (Team Chat)' }), text,
      el('div', { class: 'actions' }, [send, cancel])
    ]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (text.value.trim()) announceTo(room, text.value.trim());
    });
    return form;
  }

  async function announceTo(room, message) {
    busy.add(room);
    redraw();
    var res = null;
    var ctrl = new AbortController();
    var t = setTimeout(function () { ctrl.abort(); }, 30000);
    try {
      res = await fetch('/api/rooms/' + encodeURIComponent(room) + '/announce', {
        method: 'POST',
        headers: { Authorization: 'Bearer ' + key, Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: message }),
        cache: 'no-store',
        credentials: 'omit',
        signal: ctrl.signal
      });
    } catch (e) { /* reported below */ }
    clearTimeout(t);
    busy.delete(room);
    if (res && res.status === 401) {
      store(null);
      return showSignIn('Signed out: ' + await errorText(res, 'This key was not accepted'));
    }
    var body = null;
    try { body = res ? await res.json() : null; } catch (e) { /* not JSON */ }
    if (res && body && Array.isArray(body.sent)) {
      var failed = body.failed || [];
      note(room, 'Sent to ' + body.sent.length + (failed.length ? '; not reached: ' + failed.map(function (f) {
        return f.email + ' (' + f.error + ')';
      }).join(', ') : '') + (body.skipped ? '; ' + body.skipped + ' without an email' : '') + '.');
      if (body.sent.length) { announcing.delete(room); drafts.delete(room); }
    } else if (res) {
      note(room, (body && body.message) || 'The announcement could not be sent (HTTP ' + res.status + ').');
    } else {
      note(room, 'Could not reach the kitchen to send the announcement; try again.');
    }
    redraw();
  }

  // A note under a room's card, shown for a while.
  function note(room, text) {
    notes.set(room, { text: text, until: Date.now() + NOTE_MS });
  }

  async function endRoom(room) {
    busy.add(room);
    redraw();
    var res;
    try {
      res = await call('POST', '/api/rooms/' + encodeURIComponent(room) + '/end');
    } catch (e) {
      res = null;
    }
    busy.delete(room);
    confirming.delete(room);
    if (res && res.status === 401) {
      store(null);
      return showSignIn('Signed out: ' + await errorText(res, 'This key was not accepted'));
    }
    if (!res) note(room, 'Could not reach the kitchen to end the meeting; try again.');
    else if (res.ok) note(room, 'The meeting was ended.');
    else note(room, await errorText(res, 'The meeting could not be ended'));
    load();
  }

  // Back to a tab the browser was throttling: fresh data at once.
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && key && Date.now() - started > 1000) load();
  });

  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && (confirming.size || announcing.size)) {
      confirming.clear();
      announcing.clear();
      redraw();
    }
  });

  function start() {
    $('sign-in-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var k = $('key').value.trim();
      if (k) signIn(k);
    });
    $('sign-out').addEventListener('click', function () {
      store(null);
      showSignIn('Signed out.');
    });
    var k = keyFromLink() || storedKey();
    if (k) signIn(k); else showSignIn('');
  }

  start();
})();
