// Progressive enhancement only: every form works without this file.
'use strict';

// ---- copy buttons (adminkeys): `<button data-copy="<input id>" data-copied="<text>" hidden>`,
// shown only where a script runs; the value stays selectable by hand without one.
for (const button of document.querySelectorAll('button[data-copy]')) {
  const field = document.getElementById(button.dataset.copy);
  if (!field || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    const status = document.querySelector(`[data-copied-for="${button.dataset.copy}"]`);
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = button.dataset.copied || '';
    } catch {
      field.select();
    }
  });
}
