// Progressive enhancement only: every form works without this file.
'use strict';

// ---- copy buttons: `<button data-copy="<field id>" data-copied="<text>" hidden>`, shown only
// where a script runs (the value stays selectable by hand without one). The confirmation goes
// to a `[data-copied-for=<field id>]` live region when the page has one, else on the button.
for (const button of document.querySelectorAll('button[data-copy]')) {
  const field = document.getElementById(button.dataset.copy);
  if (!field || !navigator.clipboard) continue;
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener('click', async () => {
    const status = document.querySelector(`[data-copied-for="${button.dataset.copy}"]`);
    try {
      await navigator.clipboard.writeText(field.value || field.textContent);
      if (status) {
        status.textContent = button.dataset.copied || '';
      } else {
        button.textContent = button.dataset.copied || label;
        setTimeout(() => { button.textContent = label; }, 2000);
      }
    } catch {
      field.select();
    }
  });
}
// ---- entry: live password rules ------------------------------------------------------------
// The rules are rendered by the server from the password policy it enforces; this only ticks
// off the ones a browser can check while the person types (the list of common passwords stays
// on the server, and the form's answer says when one is refused).
(function passwordRules() {
  document.querySelectorAll('ul.rules[data-password]').forEach((list) => {
    const input = document.getElementById(list.dataset.password);
    if (!input) return;
    const emailInput = list.dataset.emailField && document.getElementById(list.dataset.emailField);
    const emailOf = () => (emailInput ? emailInput.value : '').trim().toLowerCase();
    const checks = {
      min: (pw, n) => [...pw].length >= n,
      max: (pw, n) => [...pw].length <= n,
      email: (pw) => {
        const email = emailOf();
        const lower = pw.toLowerCase();
        const local = email.split('@')[0];
        return !(email && lower === email) && !(local.length >= 4 && lower === local);
      },
      repeated: (pw) => pw.length === 0 || !pw.split('').every((c) => c === pw[0]),
    };
    const update = () => {
      const pw = input.value;
      list.querySelectorAll('li[data-rule]').forEach((item) => {
        const check = checks[item.dataset.rule];
        if (!check) return;
        const state = item.querySelector('.rule-state');
        if (pw.length === 0) {
          item.removeAttribute('data-state');
          if (state) state.textContent = '';
          return;
        }
        const met = check(pw, Number(item.dataset.n));
        item.dataset.state = met ? 'met' : 'unmet';
        if (state) state.textContent = ` ${met ? list.dataset.met : list.dataset.unmet}`;
      });
    };
    input.addEventListener('input', update);
    if (emailInput) emailInput.addEventListener('input', update);
    update();
  });
})();
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
