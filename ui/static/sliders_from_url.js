// Event js (ui.links.SLIDERS_FROM_URL_JS): after a linked run, move every visible slider named in
// the URL (value clamped to its range; for a slider over listed values such as t = 0, 10, ..., the
// nearest one).
() => {
  const q = new URLSearchParams(window.location.search);
  if (!q.get('tab')) return [];
  const apply = (tries) => {
    const ranges = [...document.querySelectorAll('input[data-scrub]')].filter(r => r.offsetParent !== null);
    let moved = 0;
    ranges.forEach(r => {
      const key = r.dataset.label.toLowerCase().replace(/ /g, '_');
      if (!q.has(key) || isNaN(+q.get(key))) return;
      const want = +q.get(key);
      let pos = want;
      if (r.dataset.values) {
        const vals = r.dataset.values.split(',').map(Number);
        let best = 0;
        vals.forEach((v, i) => { if (Math.abs(v - want) < Math.abs(vals[best] - want)) best = i; });
        pos = +r.min + best;
      }
      r.value = Math.max(+r.min, Math.min(+r.max, Math.round(pos)));
      r.dispatchEvent(new Event('input', {bubbles: true}));
      moved++;
    });
    if (!moved && tries > 0) setTimeout(() => apply(tries - 1), 200);
  };
  apply(15);
  return [];
}
