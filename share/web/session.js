// session.js — who is signed in, what their roles allow, and the timing marks
// the benchmark reads (window.tamatch.marks).
export const session = {me: null};
window.tamatch = {marks: {}};

// Whether the signed-in user's roles allow a decision act (the role matrix of
// docs/security.md: managers endorse, decline, deliver and withdraw; donor
// liaison commits; admin may do everything). The gateway checks it again.
export function may(act) {
  const roles = session.me ? session.me.roles : [];
  if (roles.includes('admin')) return true;
  if (act === 'commit') return roles.includes('donor_liaison');
  if (['endorse', 'decline', 'deliver', 'withdraw'].includes(act)) return roles.includes('manager');
  return false;
}

// Records the first time of a named moment (performance.now(), ms).
export function mark(name) {
  if (window.tamatch.marks[name] === undefined) window.tamatch.marks[name] = performance.now();
}
