// 'Copy link to this view' (ui.links.copy_button): a function of the tab's input names (`keys`), its
// tab id and the inputs' current values. Writes the link of what is on screen (the inputs, and the
// positions of the tab's visible sliders) into the address bar and copies it (or shows it in full
// where the clipboard is not allowed). The button's event js calls it with its own keys and tab.
(keys, tab, vals) => {
  const u = new URL(window.location.origin + window.location.pathname);
  u.searchParams.set('tab', tab);
  keys.forEach((k, i) => { if (vals[i] !== null && vals[i] !== undefined && typeof vals[i] !== 'object')
    u.searchParams.set(k, vals[i]); });
  const btn = document.getElementById(`copy-link-${tab}`);
  const panel = btn ? (btn.closest('[role=tabpanel]') || btn.closest('.tabitem') || document) : document;
  const seen = new Set();
  panel.querySelectorAll('input[data-scrub]').forEach(r => {
    if (r.offsetParent === null) return;
    const key = r.dataset.label.toLowerCase().replace(/ /g, '_');
    if (seen.has(key)) return;
    seen.add(key);
    u.searchParams.set(key, r.dataset.values ? r.dataset.values.split(',')[r.value - r.min] : r.value);
  });
  window.history.replaceState(null, '', u);
  const out = document.getElementById(`copy-link-${tab}-status`);
  const say = (t) => { if (out) out.textContent = t; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(u.toString()).then(() => say('Link copied: ' + u), () => say('Copy this link: ' + u));
  } else { say('Copy this link: ' + u); }
  return [];
}
