// Event js (ui.lesson.URL_JS): writes ?lesson=N into the address bar (no server call) so the page
// can be shared or reloaded.
(n) => { const u = new URL(window.location.href); u.searchParams.delete('tab');
u.searchParams.set('lesson', n); window.history.replaceState(null, '', u); return []; }
