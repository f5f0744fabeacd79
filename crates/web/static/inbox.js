// The inbox's small behaviours, loaded as a file (the CSP allows no inline script): the
// window countdown, the thread kept scrolled to the newest
// message, canned responses on "/", and the keys j/k (next/previous conversation), r (reply),
// e (resolve) and / (a canned response).
// Everything written into the page goes through textContent: values are never markup.
(function () {
  'use strict';

  // The time left comes from the server (its clock decides the window), counted down from
  // when the page was rendered; the browser's own clock may be off.
  function countdown() {
    var el = document.getElementById('window-countdown');
    if (!el || !el.dataset.leftMs) return;
    if (el.dataset.since === undefined) el.dataset.since = String(Date.now());
    var left = Number(el.dataset.leftMs) - (Date.now() - Number(el.dataset.since));
    if (isNaN(left)) return;
    var minutes = Math.max(0, Math.floor(left / 60000));
    var h = Math.floor(minutes / 60);
    var m = minutes % 60;
    el.textContent = el.dataset.label + ' ' + (h > 0 ? h + 'h ' : '') + m + 'm';
  }

  // Canned responses: "/" and the start of a shortcut at the start of a reply shows the
  // matches; Enter or Tab (or a click) puts the first (or the clicked) one in the reply.
  function cannedMatches(box) {
    var list = document.getElementById('canned-list');
    if (!list) return [];
    var m = /^\/([a-z0-9_-]*)$/.exec(box.value);
    var shown = [];
    list.querySelectorAll('li').forEach(function (li) {
      var ok = !!m && li.dataset.shortcut.indexOf(m[1]) === 0;
      li.hidden = !ok;
      if (ok) shown.push(li);
    });
    list.hidden = shown.length === 0;
    return shown;
  }

  function useCanned(box, li) {
    box.value = li.dataset.body;
    cannedMatches(box);
    box.focus();
  }

  function scrollThread() {
    var thread = document.getElementById('thread');
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function move(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll('.conv-row a'));
    if (!rows.length) return;
    var current = document.querySelector('.conv-row.current a');
    var i = rows.indexOf(current);
    var next = rows[Math.min(rows.length - 1, Math.max(0, i < 0 ? 0 : i + step))];
    if (next && next !== current) next.click();
  }

  document.addEventListener('input', function (e) {
    if (e.target.id === 'composer-text') cannedMatches(e.target);
  });

  document.addEventListener('click', function (e) {
    var li = e.target.closest && e.target.closest('#canned-list li');
    var box = document.getElementById('composer-text');
    if (li && box) useCanned(box, li);
  });

  document.addEventListener('keydown', function (e) {
    if (e.target.id === 'composer-text' && (e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey) {
      var matches = cannedMatches(e.target);
      if (matches.length) {
        e.preventDefault();
        useCanned(e.target, matches[0]);
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (!document.querySelector('.inbox')) return;
    if (e.key === 'j') move(1);
    else if (e.key === 'k') move(-1);
    else if (e.key === '/') {
      var reply = document.getElementById('composer-text');
      if (reply) {
        e.preventDefault();
        reply.focus();
        reply.value = '/';
        cannedMatches(reply);
      }
    } else if (e.key === 'r') {
      var box = document.getElementById('composer-text');
      if (box) { e.preventDefault(); box.focus(); }
    } else if (e.key === 'e') {
      var resolve = document.getElementById('act-resolve');
      if (resolve) resolve.click();
    }
  });

  // A live refresh of the list would drop the ticks of a bulk selection: it waits until
  // nothing is ticked (the next event brings the list up to date).
  document.addEventListener('htmx:beforeRequest', function (e) {
    if (e.target && e.target.id === 'conv-list' && document.querySelector('.bulk-check:checked')) e.preventDefault();
  });

  document.addEventListener('htmx:afterSwap', function (e) {
    if (e.target && e.target.id === 'thread') scrollThread();
  });
  document.addEventListener('htmx:load', function () {
    countdown();
    scrollThread();
  });
  document.addEventListener('DOMContentLoaded', function () {
    countdown();
    scrollThread();
  });
  setInterval(countdown, 30000);
})();
