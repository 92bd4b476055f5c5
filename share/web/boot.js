// boot.js — a classic script that runs as soon as it arrives, before the
// modules are fetched and run: with a token at hand (a sign-in link, or one
// kept in this tab) and the proposals view to show, it asks for /v1/whoami and
// the first page of proposals at once, so both travel while the modules load.
// api.js takes these answers (once each) instead of asking again.
(function () {
  'use strict';
  var h = location.hash.replace(/^#/, '');
  var link = h.indexOf('token=') === 0;
  var token = '';
  try {
    token = link ? decodeURIComponent(h.slice(6)) : sessionStorage.getItem('tamatch.token') || '';
  } catch (e) {
    return; // a malformed link: app.js says so
  }
  if (!token || window.tamatchModules || (!link && h !== '' && h !== 'proposals')) return;
  var answers = {};
  ['/v1/whoami', '/v1/proposals?limit=50'].forEach(function (path) {
    answers[path] = fetch(path, {headers: {Authorization: 'Bearer ' + token}, cache: 'no-cache'});
    answers[path].catch(function () {}); // api.js asks again
  });
  window.tamatchEarly = {token: token, answers: answers};
})();
