// @ts-check
/**
 * The confirmation every action goes through: a modal dialog that says what
 * will happen and which command does the same, with Cancel focused first.
 */

/**
 * @param {{ title: string, text: string, command: string }} what
 * @returns {Promise<boolean>} true when confirmed
 */
export function confirmAction(what) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('confirm'));
  /** @type {HTMLElement} */ (document.getElementById('confirm-title')).textContent = what.title;
  /** @type {HTMLElement} */ (document.getElementById('confirm-text')).textContent = what.text;
  /** @type {HTMLElement} */ (document.getElementById('confirm-command')).textContent = what.command;
  dialog.returnValue = '';
  dialog.showModal();
  /** @type {HTMLElement} */ (document.getElementById('confirm-cancel')).focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}
