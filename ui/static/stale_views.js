// Event js (ui.attention): marks the views that belong to the last run as stale (stale = true) when
// the text is edited, or fresh again after a run (stale = false). In the browser, no server call.
(ids, stale) => {
  for (const id of ids) {
    const el = document.getElementById(id);
    if (el) el.classList.toggle('fv-stale', stale);
  }
  return [];
}
