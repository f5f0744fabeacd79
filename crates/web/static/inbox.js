// The inbox's small behaviours, loaded as a file (the CSP allows no inline script): the
// window countdown, the live preview of a template, the thread kept scrolled to the newest
// message, and the keys j/k (next/previous conversation), r (reply) and e (resolve).
// Everything written into the page goes through textContent: values are never markup.
(function () {
  'use strict';

  function countdown() {
    var el = document.getElementById('window-countdown');
    if (!el || !el.dataset.expires) return;
    var left = Date.parse(el.dataset.expires) - Date.now();
    if (isNaN(left)) return;
    var minutes = Math.max(0, Math.floor(left / 60000));
    var h = Math.floor(minutes / 60);
    var m = minutes % 60;
    el.textContent = el.dataset.label + ' ' + (h > 0 ? h + 'h ' : '') + m + 'm';
  }

  function preview(form) {
    var out = form.querySelector('.template-preview');
    if (!out) return;
    var text = out.dataset.body || '';
    form.querySelectorAll('input[data-placeholder]').forEach(function (input) {
      var value = input.value.trim();
      text = text.split('{{' + input.dataset.placeholder + '}}').join(value || '{{' + input.dataset.placeholder + '}}');
    });
    out.textContent = text;
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
    var form = e.target.closest && e.target.closest('.template-form');
    if (form) preview(form);
  });

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (!document.querySelector('.inbox')) return;
    if (e.key === 'j') move(1);
    else if (e.key === 'k') move(-1);
    else if (e.key === 'r') {
      var box = document.getElementById('composer-text');
      if (box) { e.preventDefault(); box.focus(); }
    } else if (e.key === 'e') {
      var resolve = document.getElementById('act-resolve');
      if (resolve) resolve.click();
    }
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
