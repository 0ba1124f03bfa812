// Frame switching for explainers.frames.scrubber, in the browser with no server call: the sliders,
// Play, Save PNG and click-a-cell. The js_on_load of every scrubber view (ui.common.SCRUB_JS):
// one delegated listener on the component's root (`element`) survives every re-render of its HTML.
const show = (box) => {
  const ranges = [...box.querySelectorAll('input[data-scrub]')];
  const key = ranges.map(r => r.value).join('-');
  ranges.forEach(r => {
    const shown = r.dataset.values ? r.dataset.values.split(',')[r.value - r.min] : r.value;
    r.setAttribute('aria-valuetext', r.dataset.label + ' ' + shown);
    const out = r.parentElement.querySelector('output');
    if (out) out.textContent = shown;
  });
  box.querySelectorAll('[data-frame]').forEach(f => {
    f.hidden = f.dataset.frame !== key;
    if (!f.hidden) f.querySelectorAll('img[data-sheet-ref]').forEach(img => cut(box, img));
  });
};
// A hidden frame's pictures travel packed in shared sheets (explainers.frames.sprite_sheets):
// the first time a frame is shown, each of its pictures is cut out of its sheet with a canvas.
const cut = (box, img) => {
  const sheet = box.querySelector('img[data-sheet="' + img.dataset.sheetRef + '"]');
  if (!sheet) return;
  if (!sheet.complete || !sheet.naturalWidth) {
    sheet.addEventListener('load', () => cut(box, img), {once: true});
    return;
  }
  const w = +sheet.dataset.tw, h = +sheet.dataset.th, cols = +sheet.dataset.cols, k = +img.dataset.tile;
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  c.getContext('2d').drawImage(sheet, (k % cols) * w, Math.floor(k / cols) * h, w, h, 0, 0, w, h);
  img.src = c.toDataURL('image/png');
  img.removeAttribute('data-sheet-ref');
};
// "Save PNG": the frame on screen (its pictures at their shown size, crisp pixels, captions below,
// the slider positions on top) drawn on a canvas and downloaded. Everything is already in the page.
const savePng = (box) => {
  const frame = box.querySelector('[data-frame]:not([hidden])');
  const imgs = frame ? [...frame.querySelectorAll('img')].filter(i => i.offsetParent !== null && i.naturalWidth) : [];
  if (!imgs.length) return;
  const title = [...box.querySelectorAll('input[data-scrub]')].map(r => r.getAttribute('aria-valuetext')).join(', ');
  const pad = 8, capH = 16, maxW = 1600;
  let x = pad, y = pad + 20, rowH = 0, width = 0;
  const spots = imgs.map(img => {
    const w = Math.round(img.getBoundingClientRect().width), h = Math.round(img.getBoundingClientRect().height);
    if (x + w > maxW && x > pad) { x = pad; y += rowH + capH + pad; rowH = 0; }
    const fig = img.closest('figure'), cap = fig ? (fig.querySelector('figcaption') || {}).textContent || '' : '';
    const spot = {img, x, y, w, h, cap: cap.trim()};
    x += w + pad; rowH = Math.max(rowH, h); width = Math.max(width, x);
    return spot;
  });
  const c = document.createElement('canvas');
  c.width = width; c.height = y + rowH + capH + pad;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
  g.imageSmoothingEnabled = false;
  g.fillStyle = '#111'; g.font = '14px sans-serif'; g.fillText(title, pad, pad + 12);
  g.font = '11px sans-serif';
  spots.forEach(s => { g.drawImage(s.img, s.x, s.y, s.w, s.h); g.fillText(s.cap.slice(0, 60), s.x, s.y + s.h + 12, s.w + pad); });
  const name = (title || 'view').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') + '.png';
  c.toBlob(blob => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = name; document.body.appendChild(a); a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }, 'image/png');
};
element.addEventListener('input', (e) => {
  const r = e.target.closest ? e.target.closest('input[data-scrub]') : null;
  if (r) show(r.closest('[data-scrubber]'));
});
element.addEventListener('click', (e) => {
  const pick = e.target.closest ? e.target.closest('img[data-pick]') : null;
  if (pick) {  // click a grid image to choose a cell: sets slider number data-pick to row * grid + col
    const box = pick.closest('[data-scrubber]'), g = +pick.dataset.grid, rect = pick.getBoundingClientRect();
    const col = Math.min(g - 1, Math.floor((e.clientX - rect.left) / rect.width * g));
    const row = Math.min(g - 1, Math.floor((e.clientY - rect.top) / rect.height * g));
    const r = box.querySelectorAll('input[data-scrub]')[+pick.dataset.pick];
    if (r) { r.value = row * g + col; show(box); }
    return;
  }
  const save = e.target.closest ? e.target.closest('[data-save]') : null;
  if (save) { savePng(save.closest('[data-scrubber]')); return; }
  const b = e.target.closest ? e.target.closest('[data-play]') : null;
  if (!b) return;
  const box = b.closest('[data-scrubber]');
  const r = box.querySelector('input[data-scrub]');
  if (box._timer) { clearInterval(box._timer); box._timer = null; b.textContent = '\u25B6 Play'; return; }
  if (+r.value >= +r.max) r.value = r.min;
  b.textContent = '\u23F8 Pause';
  box._timer = setInterval(() => {
    if (!box.isConnected || +r.value >= +r.max) { clearInterval(box._timer); box._timer = null; b.textContent = '\u25B6 Play'; return; }
    r.value = +r.value + 1; show(box);
  }, 120);
});
