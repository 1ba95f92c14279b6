// Progressive enhancement only: every form works without this file.
'use strict';

// "Send a new code in 0:42": a button the server will refuse until then counts down, and
// works again at zero. Without script the button is always there and the server says when.
for (const button of document.querySelectorAll('button[data-wait]')) {
  let left = Number(button.dataset.wait);
  const label = button.dataset.label;
  const waitLabel = button.dataset.waitLabel;
  const show = () => {
    const m = Math.floor(left / 60);
    const s = String(left % 60).padStart(2, '0');
    button.textContent = `${waitLabel} ${m}:${s}`;
  };
  if (left > 0) {
    button.disabled = true;
    show();
    const timer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        button.textContent = label;
      } else {
        show();
      }
    }, 1000);
  }
}
