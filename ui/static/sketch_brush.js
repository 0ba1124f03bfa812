// Load js (ui.vision): the sketchpad starts with no tool picked, so a first drag selects the hint
// text instead of drawing. Whenever the sketchpad's canvas appears (the tab opened, the canvas
// cleared), pick its Brush once, so dragging draws straight away. In the browser, no server call.
(id) => {
  const pick = () => {
    const pad = document.getElementById(id);
    if (!pad || pad.dataset.brushPicked === '1' || !pad.querySelector('canvas')) return;
    const name = (b) => (b.getAttribute('aria-label') || b.title || b.textContent || '').trim();
    const brush = [...pad.querySelectorAll('button')].find((b) => name(b) === 'Brush');
    if (!brush) return;
    pad.dataset.brushPicked = '1';
    brush.click();
  };
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true});
  pick();
  return [];
}
