// Event js (ui.lesson.COPY_JS): 'Copy link' of the Lesson tab: writes ?lesson=N into the address
// bar and copies it (or shows it in full where the clipboard is not allowed).
(n) => { const u = new URL(window.location.href); u.searchParams.delete('tab');
u.searchParams.set('lesson', n); window.history.replaceState(null, '', u);
const done = document.querySelector('#lesson-copied');
const say = (t) => { if (done) done.textContent = t; };
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(u.toString()).then(() => say('Link copied: ' + u), () => say('Copy this link: ' + u));
} else { say('Copy this link: ' + u); }
return []; }
