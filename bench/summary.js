// How the suites summarise and print their figures: medians over rounds,
// numbers with thousands separators.
'use strict';

/** The median (the mean of the middle two for an even count). */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `n` with `d` decimals and en-US separators: 1,234.57. */
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

module.exports = { median, fmt };
