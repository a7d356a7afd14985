// A source page opened from the inspector: mark the lines its link names
// (#L12-L40) and bring the first into view.
'use strict';
(() => {
  const range = /^#L(\d+)(?:-L(\d+))?$/.exec(location.hash);
  if (!range) return;
  const start = Number(range[1]);
  const end = Number(range[2] ?? range[1]);
  for (let n = start; n <= end; n++) document.getElementById(`L${n}`)?.classList.add('hit');
  document.getElementById(`L${start}`)?.scrollIntoView({ block: 'start' });
})();
