// The console in headless Chromium, through a real OpenID Connect sign-in
// (oidc-provider, started here): sign in, open a waiting review, reject one with a
// reason, approve another (four-eyes: two people), watch the executions end in
// records; close an open escalation with an annotation; axe-core on every page (no
// serious or critical violation); tokens from
// another issuer, expired, for another audience, and a person without the role are
// refused. Prints one JSON line for the Rust test, which checks the records.
//
//   node run.mjs --bin target/debug/gdpr-erasure --archive DIR [--shots docs/img]

import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { SignJWT, importJWK } from 'jose';
import { CLIENT_ID, startProvider, signingKey } from './provider.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
if (!args.bin || !args.archive) {
  console.error('usage: node run.mjs --bin PATH --archive DIR [--shots DIR] [--chromium PATH]');
  process.exit(2);
}
const log = (...m) => console.error('console-e2e:', ...m);
const fail = (m) => { throw new Error(m); };

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const consolePort = await freePort();
const consoleUrl = `http://127.0.0.1:${consolePort}`;
const provider = await startProvider({ redirectUri: `${consoleUrl}/auth/callback` });
const { issuer } = provider;
log('issuer', issuer, 'console', consoleUrl);

const child = spawn(
  args.bin,
  ['console', '--archive', args.archive, '--listen', `127.0.0.1:${consolePort}`,
    '--issuer', issuer, '--client-id', CLIENT_ID, '--four-eyes'],
  { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, RUST_LOG: 'warn' } },
);
let consoleOutput = '';
child.stdout.on('data', (d) => { consoleOutput += d; });
child.stderr.on('data', (d) => { consoleOutput += d; });
const exited = new Promise((r) => child.on('exit', (code) => r(code)));

let browser;
const checked = [];
try {
  // Ready: the console answers (401: nobody signed in).
  const until = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) fail(`the console exited (${child.exitCode}):\n${consoleOutput}`);
    try { if ((await fetch(`${consoleUrl}/`)).status === 401) break; } catch { /* not yet */ }
    if (Date.now() > until) fail('the console did not start in 120 s');
    await new Promise((r) => setTimeout(r, 250));
  }

  browser = await chromium.launch({
    executablePath: args.chromium || process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // bypassCSP: the console's CSP allows no script, axe-core is injected for the check.
  const context = () => browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });

  async function axe(page, name) {
    await page.evaluate(AXE);
    const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (bad.length) fail(`${name}: accessibility: ${bad.map((v) => `${v.id} (${v.nodes.map((n) => n.target).join(' ')})`).join('; ')}`);
    checked.push({ page: name, minorViolations: r.violations.length });
  }
  async function shot(page, file) {
    if (!args.shots) return;
    mkdirSync(args.shots, { recursive: true });
    await page.screenshot({ path: join(args.shots, file), fullPage: true });
  }
  async function signIn(login) {
    const page = await (await context()).newPage();
    await page.goto(`${consoleUrl}/`);
    await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', 'any password');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    if (page.url().startsWith(issuer)) await page.click('button[type=submit]'); // consent
    await page.waitForURL(`${consoleUrl}/`);
    return page;
  }
  const heading = (page) => page.locator('h1').innerText();
  async function recordsOf(page, ticket, outcome) {
    const until = Date.now() + 90_000;
    for (;;) {
      await page.goto(`${consoleUrl}/tickets/${ticket}`);
      const text = (await page.locator('#records').count()) ? await page.locator('#records').innerText() : '';
      if (text.includes(outcome)) return text;
      if (Date.now() > until) fail(`${ticket}: no ${outcome} record after 90 s (page: ${text || 'no records'})`);
      await page.waitForTimeout(500);
    }
  }

  // The DPO signs in: the reviews waiting, oldest first.
  const dpo = await signIn('maeve');
  const links = dpo.getByRole('link', { name: /^Review / });
  // The demo's tickets reach their reviews while the console is already up (Review asks
  // Genesys in bounded slices, 429s included): wait for two, as a DPO would reload.
  // The deletion-protection ticket is kept for last: approved, it ends PARTIAL with an
  // escalation the DPO then closes.
  const partial = 'DSAR-2026-1004';
  let tickets = [];
  for (const until = Date.now() + 120_000; ; ) {
    tickets = (await links.allInnerTexts()).map((t) => t.replace(/^Review /, '')).filter((t) => t !== partial);
    if (tickets.length >= 2) break;
    if (Date.now() > until) fail(`expected two reviews waiting, saw ${tickets.length} after 120 s`);
    await dpo.waitForTimeout(1000);
    await dpo.reload();
  }
  await axe(dpo, 'reviews waiting');
  await shot(dpo, 'console-reviews.png');
  const [toReject, toApprove] = tickets;
  log('waiting', tickets.join(', '));

  // An auditor reads but neither decides nor sees identifiers.
  const auditor = await signIn('aidan');
  await auditor.goto(`${consoleUrl}/reviews/${toReject}`);
  const auditorText = await auditor.locator('main').innerText();
  if (!auditorText.includes('Your role does not show identifiers')) fail('the auditor was shown identifiers');
  if (await auditor.getByRole('button', { name: 'Reject' }).count()) fail('the auditor was offered a decision');
  if (/@brightwater|\+353/.test(auditorText)) fail('an identifier reached the auditor');

  // A person without the role is refused.
  const visitor = await signIn('visitor');
  if ((await heading(visitor)) !== 'Not allowed') fail('a person without a console role was let in');

  // One review, rejected with a reason.
  await dpo.getByRole('link', { name: `Review ${toReject}` }).click();
  await axe(dpo, 'review');
  await shot(dpo, 'console-review.png');
  const reviewText = await dpo.locator('main').innerText();
  for (const part of ['What will be erased', 'What will not be erased', 'Subjects Genesys knows', 'Conversations found', 'Holds', 'Recordings', 'Identifiers of the ticket']) {
    if (!reviewText.includes(part)) fail(`the review page lacks "${part}"`);
  }
  // Every subject the search found, with whose it is: at least the data subject.
  const subjects = dpo.getByRole('table', { name: /Everybody the ticket's identifiers found/ });
  if (!(await subjects.count())) fail('the review page lists no subject found');
  else if (!(await subjects.innerText()).includes("the subject's")) fail('no subject found is the data subject');
  await dpo.getByLabel("The data found is not the requester's (wrong person)").check();
  await dpo.getByRole('button', { name: 'Reject' }).click();
  await dpo.waitForURL(/decided=rejected/);
  const rejectedRecords = await recordsOf(dpo, toReject, 'REJECTED');
  if (!/reject by hmac-sha256:[0-9a-f]{64} \(DPO, console\), reason not-the-subject/.test(rejectedRecords)) {
    fail(`the REJECTED record does not name the pseudonymised decider: ${rejectedRecords}`);
  }
  await axe(dpo, 'ticket');
  await shot(dpo, 'console-ticket.png');

  // Another, approved: a confirmation first, then four-eyes (two people).
  await dpo.goto(`${consoleUrl}/reviews/${toApprove}`);
  await dpo.getByRole('button', { name: 'Approve…' }).click();
  if (!(await heading(dpo)).startsWith('Approve the erasure of')) fail('no confirmation before an approval');
  await axe(dpo, 'confirm approval');
  await shot(dpo, 'console-confirm.png');
  await dpo.getByRole('button', { name: 'Yes, approve the erasure' }).click();
  await dpo.waitForURL(/decided=first-approval/);
  // The same person cannot give the second approval.
  await dpo.goto(`${consoleUrl}/reviews/${toApprove}`);
  await dpo.getByRole('button', { name: 'Approve…' }).click();
  const again = await dpo.getByRole('button', { name: 'Yes, approve the erasure' });
  const [resp] = await Promise.all([dpo.waitForResponse((r) => r.request().method() === 'POST'), again.click()]);
  if (resp.status() !== 409) fail(`a second approval by the same person answered ${resp.status()}`);
  const second = await signIn('siobhan');
  await second.goto(`${consoleUrl}/reviews/${toApprove}`);
  await second.getByRole('button', { name: 'Approve…' }).click();
  await second.getByRole('button', { name: 'Yes, approve the erasure' }).click();
  await second.waitForURL(/decided=approved/);
  const approvedRecords = await recordsOf(second, toApprove, 'COMPLETED');
  if (!/approve by hmac-sha256:[0-9a-f]{64} \(DPO, console\)/.test(approvedRecords)) {
    fail(`the record does not name the pseudonymised approver: ${approvedRecords}`);
  }
  // The ticket's certificate and its letter to the data subject, built from the archive.
  await second.getByRole('link', { name: 'Certificate of erasure' }).click();
  if ((await heading(second)) !== `Certificate of erasure: ticket ${toApprove}`) fail('no certificate of erasure');
  if (!(await second.locator('body').innerText()).includes('COMPLETED')) fail('the certificate lacks the outcome');
  await axe(second, 'certificate');
  await second.goBack();
  await second.getByRole('link', { name: 'Letter to the data subject (completed, en)' }).click();
  const letter = await second.locator('body').innerText();
  if (!letter.includes(`Our reference: ${toApprove}`)) fail('the letter does not name its ticket');
  if (/@brightwater|\+353|Maeve|Siobhan/.test(letter)) fail('an identifier or a decider in the letter');
  await axe(second, 'letter');
  // Other demo tickets may reach their reviews meanwhile: what matters is that the two
  // decided ones are gone from the list.
  await dpo.goto(`${consoleUrl}/`);
  const stillWaiting = (await dpo.getByRole('link', { name: /^Review / }).allInnerTexts()).map((t) => t.replace(/^Review /, ''));
  if (stillWaiting.includes(toReject) || stillWaiting.includes(toApprove)) {
    fail('decided reviews are still listed as waiting');
  }
  await dpo.goto(`${consoleUrl}/deadlines`);
  await axe(dpo, 'deadlines');

  // The deletion-protection ticket approved by both: it ends PARTIAL, a recording
  // Genesys would not delete escalated to a person.
  for (const [page, decided] of [[dpo, /decided=first-approval/], [second, /decided=approved/]]) {
    for (const until = Date.now() + 120_000; ;) {
      await page.goto(`${consoleUrl}/reviews/${partial}`);
      if (await page.getByRole('button', { name: 'Approve…' }).count()) break;
      if (Date.now() > until) fail(`${partial}: no review waiting after 120 s`);
      await page.waitForTimeout(500);
    }
    await page.getByRole('button', { name: 'Approve…' }).click();
    await page.getByRole('button', { name: 'Yes, approve the erasure' }).click();
    await page.waitForURL(decided);
  }
  await recordsOf(dpo, partial, 'PARTIAL');
  // Its escalation closed from the console with an annotation: resolution and support
  // case; who and when from the sign-in and the clock.
  await dpo.goto(`${consoleUrl}/open`);
  const closeForm = dpo.locator(`form[action="/tickets/${partial}/close"]`).first();
  if (!(await closeForm.count())) fail(`${partial}: its escalation is not offered to close`);
  await axe(dpo, 'open items');
  if (!(await dpo.locator('main').innerText()).includes('deferral')) fail('the open deferral is not listed');
  await shot(dpo, 'console-open.png');
  const annotated = (await closeForm.getAttribute('action')).split('/')[2];
  const annotatedDocument = await closeForm.locator('input[name=document]').inputValue();
  const annotatedReason = await closeForm.locator('input[name=reason]').inputValue();
  await closeForm.locator('select[name=resolution]').selectOption('resolved-by-genesys');
  await closeForm.locator('input[name=support_case]').fill('GEN-CASE-0042187');
  await closeForm.getByRole('button', { name: 'Close with an annotation' }).click();
  await dpo.waitForURL(`${consoleUrl}/open`);
  const stillOpen = await dpo.locator('form[action$="/close"]').evaluateAll(
    (forms, [d, r]) => forms.some((f) => f.document.value === d && f.reason.value === r),
    [annotatedDocument, annotatedReason],
  );
  if (stillOpen) fail('the closed escalation is still listed as open');

  // Tokens the console must refuse, and one it must take (so the refusals are the checks').
  const key = await importJWK(provider.key, 'RS256');
  const otherJwk = signingKey();
  const otherKey = await importJWK(otherJwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  const token = (claims, { k = key, kid = provider.key.kid, iss = issuer, iat = now, exp = now + 300 } = {}) =>
    new SignJWT({ aud: CLIENT_ID, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(iss).setSubject(claims.sub || 'maeve').setIssuedAt(iat).setExpirationTime(exp)
      .sign(k);
  const api = async (t) => (await fetch(`${consoleUrl}/api/reviews`, { headers: { authorization: `Bearer ${t}` } })).status;
  const cases = [
    ['a good token', await token({ groups: ['DPO'] }), 200],
    ['another issuer (its own key)', await token({ groups: ['DPO'] }, { k: otherKey, kid: otherJwk.kid, iss: 'http://127.0.0.1:9/other-issuer' }), 401],
    ['another issuer named, this key', await token({ groups: ['DPO'] }, { iss: 'http://127.0.0.1:9/other-issuer' }), 401],
    ['expired', await token({ groups: ['DPO'] }, { iat: now - 7200, exp: now - 3600 }), 401],
    ['another audience', await token({ groups: ['DPO'], aud: 'another-client' }), 401],
    ['forged signature', await token({ groups: ['DPO'] }, { k: otherKey }), 401],
    ['no console role', await token({ groups: ['Sales'] }), 403],
  ];
  for (const [what, t, expected] of cases) {
    const got = await api(t);
    if (got !== expected) fail(`${what}: expected ${expected}, got ${got}`);
    checked.push({ token: what, status: got });
  }
  // An expired token as the browser's session: asked to sign in again.
  const stale = await (await context()).newPage();
  await stale.context().addCookies([{ name: 'console_session', value: cases[3][1], url: consoleUrl }]);
  const staleResponse = await stale.goto(`${consoleUrl}/`);
  if (staleResponse.status() !== 401 || (await heading(stale)) !== 'Sign in again') fail('an expired session was accepted');

  console.log(JSON.stringify({ issuer, rejected: toReject, approved: toApprove, rejecter: 'maeve', firstApprover: 'maeve', secondApprover: 'siobhan', annotated, annotatedDocument, annotatedReason, checked }));
} catch (e) {
  console.error(`console-e2e: FAILED: ${e.stack || e}`);
  console.error(`--- console output ---\n${consoleOutput.slice(-4000)}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  await provider.close();
}
