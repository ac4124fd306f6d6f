// lokerwatch review desk: keyboard flow and lease renewal. Served from the
// binary (no CDN); the pages work without it, this only adds keys.
(function () {
  'use strict';

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var page = document.body.getAttribute('data-page');
  var help = document.getElementById('help');
  var busy = false; // a form was submitted: ignore further keys

  function toggleHelp() {
    if (help) help.hidden = !help.hidden;
  }
  Array.prototype.forEach.call(document.querySelectorAll('[data-help]'), function (b) {
    b.addEventListener('click', toggleHelp);
  });

  function typing(t) {
    if (t && t.tagName === 'INPUT' && /^(checkbox|radio)$/.test(t.type)) return false; // a ticked box takes no text
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function submit(form, button) {
    if (!form || busy) return;
    busy = true;
    if (form.requestSubmit) form.requestSubmit(button || undefined);
    else form.submit();
  }

  // Queue: a selected row moved with j/k.
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr[data-row]'));
  var sel = 0;
  function select(i) {
    if (!rows.length) return;
    i = Math.max(0, Math.min(rows.length - 1, i));
    rows[sel].classList.remove('selected');
    rows[sel].removeAttribute('aria-selected');
    sel = i;
    rows[sel].classList.add('selected');
    rows[sel].setAttribute('aria-selected', 'true');
    rows[sel].scrollIntoView({ block: 'nearest' });
  }
  if (rows.length) {
    rows[0].classList.add('selected');
    rows[0].setAttribute('aria-selected', 'true');
  }
  rows.forEach(function (r, i) {
    r.addEventListener('click', function (e) {
      if (e.target.tagName !== 'A') select(i);
    });
  });

  // Ad page: highlighted phrases visited with j/k.
  var marks = Array.prototype.slice.call(document.querySelectorAll('#adtext mark'));
  var cur = -1;
  function visit(d) {
    if (!marks.length) return;
    if (cur >= 0) marks[cur].classList.remove('current');
    cur = (cur + d + marks.length) % marks.length;
    marks[cur].classList.add('current');
    marks[cur].scrollIntoView({ block: 'center' });
  }

  var decideForm = document.getElementById('decide-form');
  var amend = document.getElementById('amend');
  if (amend && decideForm) {
    amend.addEventListener('change', function () {
      Array.prototype.forEach.call(decideForm.querySelectorAll('button[data-key]'), function (b) {
        b.disabled = !amend.checked;
      });
    });
  }
  // Any form submitted (decide, skip, a cluster decision) settles the
  // page: no more keys, and no release beacon when it goes.
  document.addEventListener('submit', function () { busy = true; }, true);

  // Repost cluster: tick all members, or none.
  var allMembers = document.getElementById('all-members');
  function tickAll(on) {
    Array.prototype.forEach.call(document.querySelectorAll('input[name="member"]'), function (c) {
      if (!c.disabled) c.checked = on;
    });
  }
  if (allMembers) {
    allMembers.addEventListener('change', function () { tickAll(allMembers.checked); });
  }

  function move(d) {
    if (page === 'queue') select(sel + d);
    else if (page === 'ad') visit(d);
  }

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (typing(t)) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    if (help && !help.hidden && (e.key === 'Escape' || e.key === '?')) {
      toggleHelp();
      e.preventDefault();
      return;
    }
    if (busy) return;
    var k = e.key;
    switch (k) {
      case '?':
        toggleHelp();
        break;
      case 'j':
        move(1);
        break;
      case 'k':
        move(-1);
        break;
      case 'Enter':
        if (t && (t.tagName === 'A' || t.tagName === 'BUTTON')) return; // native
        if (page !== 'queue' || !rows.length) return;
        var open = rows[sel].getAttribute('data-open');
        if (open) { // a repost cluster: its page, nothing claimed
          busy = true;
          window.location.assign(open);
          break;
        }
        var cf = document.getElementById('claim-form');
        cf.setAttribute('action', rows[sel].getAttribute('data-claim'));
        submit(cf);
        break;
      case 'c':
        if (page !== 'queue') return;
        submit(document.getElementById('next-form'));
        break;
      case '1': case '2': case '3': case '0': case 'e':
        if (!decideForm) return;
        var b = decideForm.querySelector('button[data-key="' + k + '"]');
        if (!b || b.disabled) return;
        submit(decideForm, b);
        break;
      case 'n':
        if (!document.getElementById('note')) return;
        noteKey = true; // focus on keyup, so the "n" is not typed into the note
        break;
      case 's':
        submit(document.getElementById('skip-form'));
        break;
      case 'q':
        if (page === 'queue') return;
        leave(); // give the item back now, not when the lease runs out
        busy = true;
        window.location.assign('/');
        break;
      case 'm':
        if (page !== 'queue') return;
        var mine = document.getElementById('my-claims');
        if (mine) window.location.assign(mine.getAttribute('href'));
        break;
      case 'a':
        if (!allMembers || allMembers.disabled) return;
        allMembers.checked = !allMembers.checked;
        tickAll(allMembers.checked);
        break;
      case '/':
        if (!document.querySelector('a[href="/search"]')) return;
        if (page === 'search') {
          var q = document.getElementById('q');
          if (q) q.focus();
        } else {
          window.location.assign('/search');
        }
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  var noteKey = false;
  document.addEventListener('keyup', function (e) {
    if (e.key === 'n' && noteKey) {
      noteKey = false;
      document.getElementById('note').focus();
    }
  });

  // Keep the claim alive while the item is open.
  var art = document.querySelector('article.ad[data-mine]');
  // Leaving the item (q, closing the tab, going elsewhere) gives it back at
  // once: a beacon survives the page. A submitted form (decide, skip)
  // settles the claim itself, so it sends none.
  var left = false;
  function leave() {
    if (!art || left || busy || !navigator.sendBeacon) return;
    left = true;
    var body = new URLSearchParams();
    body.set('csrf', csrf);
    navigator.sendBeacon('/api/items/' + encodeURIComponent(art.getAttribute('data-item')) + '/release', body);
  }
  window.addEventListener('pagehide', leave);
  if (art && window.fetch) {
    var every = Math.max(5000, (parseInt(art.getAttribute('data-lease-ms'), 10) || 600000) / 3);
    var id = art.getAttribute('data-item');
    setInterval(function () {
      fetch('/api/items/' + encodeURIComponent(id) + '/renew', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': csrf }
      }).then(function (r) {
        if (r.status === 409) {
          var st = document.querySelector('.decide .state');
          if (st) st.textContent = 'Your claim on this item was lost; another reviewer may have it.';
        }
      }).catch(function () {});
    }, every);
  }
})();
