// Event js (ui.attention.REDRAW_BERTVIZ_IF_OPEN_JS): after a run, if the bertviz tab is the one
// on screen, redraw it for the new sentence.
() => {
  const v = document.querySelector('#bertviz-view');
  if (!v || v.offsetParent === null) return [];
  const b = document.querySelector('#bertviz-draw');
  if (b) b.click();
  return [];
}
