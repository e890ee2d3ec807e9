// End-to-end journeys through the web console in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against a real API, silo and PostgreSQL. Started by the xunit test WebConsoleJourneysTests,
// or by hand against a running API:
//   CONSOLE_URL=http://127.0.0.1:8080 E2E_ADMIN_EMAIL=admin@example.com E2E_ADMIN_PASSWORD=admin-dev-password npm run e2e
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const baseUrl = required('CONSOLE_URL').replace(/\/$/, '')
const adminEmail = required('E2E_ADMIN_EMAIL')
const adminPassword = required('E2E_ADMIN_PASSWORD')
const screenshots = process.env.E2E_SCREENSHOTS ?? join(import.meta.dirname, 'screenshots')
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const stepTimeoutMs = 15_000
const journeyTimeoutMs = 180_000
const stamp = Date.now().toString(36).toUpperCase()
const password = 'e2e-password-123'
const bookName = `Spring sale ${stamp}`

/** @type {import('playwright-core').Browser} */
let browser
let profile

function required(name) {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: the e2e run needs the console's URL and an administrator's credentials.`)
  return value
}

before(async () => {
  mkdirSync(screenshots, { recursive: true })
  profile = mkdtempSync(join(tmpdir(), 'couponbooks-e2e-profile-'))
  // launchPersistentContext would share one profile; launch gives each journey its own context, and its own fresh
  // --user-data-dir (a new temporary folder) to the browser.
  browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
})

after(async () => {
  await browser?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

/** A fresh browser context and page; console errors and failed page loads are collected for the assertions. */
async function openPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...options })
  context.setDefaultTimeout(stepTimeoutMs)
  const page = await context.newPage()
  const problems = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console error: ${message.text()}`)
  })
  return { context, page, problems }
}

/** Runs one named step; a failure names the step and leaves a screenshot of the page as it was. */
async function step(page, name, action) {
  try {
    return await action()
  } catch (error) {
    const file = join(screenshots, `failed-${name.replace(/[^\w]+/g, '-').toLowerCase()}.png`)
    await page.screenshot({ path: file, fullPage: true }).catch(() => {})
    throw new Error(`Step "${name}" failed (screenshot: ${file}): ${error.message}`, { cause: error })
  }
}

/** Saves a screenshot of the whole page, after dismissing the toasts so they hide nothing (which also exercises their buttons). */
async function shoot(page, name) {
  const dismiss = page.getByRole('button', { name: 'Dismiss message' })
  for (let left = await dismiss.count(); left > 0; left = await dismiss.count()) await dismiss.first().click({ timeout: 2000 }).catch(() => {})
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true })
}

async function signIn(page, email, pass) {
  await page.goto(`${baseUrl}/console/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(pass)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByTestId('signed-in-as').waitFor()
}

async function expectToast(page, text) {
  await page.getByRole('status').filter({ hasText: text }).first().waitFor()
}

async function expectErrorToast(page, text) {
  await page.getByRole('alert').filter({ hasText: text }).first().waitFor()
}

/** Registers users straight through the API, for the pool. */
async function registerByApi(email) {
  const response = await fetch(`${baseUrl}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, displayName: email.split('@')[0] }),
  })
  assert.equal(response.status, 201, `registering ${email} through the API answered ${response.status}: ${await response.text()}`)
}

test('an administrator creates a book, generates codes, uploads a CSV and distributes the book to a pool', { timeout: journeyTimeoutMs }, async () => {
  const { context, page, problems } = await openPage()
  const members = [`ann.${stamp}@e2e.example.com`, `ben.${stamp}@e2e.example.com`].map((e) => e.toLowerCase())
  await Promise.all(members.map(registerByApi))

  await step(page, 'sign in as admin', async () => {
    await page.goto(`${baseUrl}/`)
    await page.waitForURL(/\/console\/login/)
    await shoot(page, '01-login')
    // The first Tab reaches the skip link: keyboard users can jump past the header.
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Skip to main content')
    await signIn(page, adminEmail, adminPassword)
    await page.waitForURL(/\/console\/admin\/books$/)
  })

  await step(page, 'create a book', async () => {
    await page.getByLabel('Name').fill(bookName)
    await page.getByLabel('Description (optional)').fill('Created by the end-to-end run.')
    await page.getByLabel('Coupons per user').fill('5')
    await page.getByLabel('Lock time (seconds)').fill('60')
    await page.getByRole('button', { name: 'Create book' }).click()
    await expectToast(page, `Book “${bookName}” created.`)
    await page.getByRole('heading', { level: 1, name: bookName }).waitFor()
  })

  await step(page, 'generate codes with a progress bar', async () => {
    await page.getByLabel('Pattern').fill(`E2E${stamp}-####`)
    await page.getByLabel('How many').fill('300')
    await page.getByRole('button', { name: 'Generate' }).click()
    const progress = page.getByTestId('job-progress')
    await progress.waitFor()
    await page.locator('[data-testid="job-progress"][data-state="succeeded"]').waitFor({ timeout: 60_000 })
    assert.match(await progress.textContent(), /300 \/ 300 \(100%\)/)
    await expectToast(page, 'Generated 300 codes.')
    await page.getByTestId('stat-total').filter({ hasText: '300' }).waitFor()
    await page.getByTestId('stat-unassigned').filter({ hasText: '300' }).waitFor()
  })

  await step(page, 'upload a CSV: refused with its offenders, then stored with skipping', async () => {
    const csv = Buffer.from(`code\nUP${stamp}-1\nnot a code!\nUP${stamp}-1\nUP${stamp}-2\n`)
    await page.getByLabel('CSV file, one code per line').setInputFiles({ name: 'codes.csv', mimeType: 'text/csv', buffer: csv })
    await page.getByRole('button', { name: 'Upload' }).click()
    await page.getByTestId('upload-offenders').waitFor()
    await expectErrorToast(page, '')
    const offenderLines = await page.getByTestId('upload-offenders').locator('tbody tr td:first-child').allTextContents()
    assert.deepEqual(offenderLines.sort(), ['3', '4'], 'the refused upload lists lines 3 (invalid) and 4 (repeated)')
    await page.getByLabel('CSV file, one code per line').setInputFiles({ name: 'codes.csv', mimeType: 'text/csv', buffer: csv })
    await page.getByLabel('Store the good codes and skip bad or existing ones').check()
    await page.getByRole('button', { name: 'Upload' }).click()
    const report = page.getByTestId('upload-report')
    await report.waitFor()
    assert.match(await report.textContent(), /2 codes stored; 2 lines skipped/)
    await page.getByTestId('stat-total').filter({ hasText: '302' }).waitFor()
  })

  await step(page, 'export the book as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()])
    const lines = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/)
    assert.equal(lines[0], 'code,state,userId,assignedAt,redemptionCount')
    assert.equal(lines.length, 1 + 302, 'the export has a header and one line per coupon')
  })

  await step(page, 'edit the book settings', async () => {
    await page.getByLabel('Coupons per user').last().fill('3')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await expectToast(page, 'Settings saved.')
    await shoot(page, '03-admin-book')
  })

  await step(page, 'create a pool and add members', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pools' }).click()
    await page.getByRole('heading', { level: 1, name: 'Pools' }).waitFor()
    await page.getByLabel('Name').fill(`Regulars ${stamp}`)
    await page.getByRole('button', { name: 'Create pool' }).click()
    await page.getByRole('heading', { level: 1, name: `Regulars ${stamp}` }).waitFor()
    await page.getByLabel('Emails or user ids').fill([...members, `nobody.${stamp}@e2e.example.com`].join('\n'))
    await page.getByRole('button', { name: /^Add 3 members$/ }).click()
    const result = page.getByTestId('add-result')
    await result.waitFor()
    assert.match(await result.textContent(), /Added 2; already members: 0\./)
    assert.match(await result.textContent(), new RegExp(`nobody\\.${stamp}@e2e\\.example\\.com`, 'i'))
    await page.getByTestId('member-count').filter({ hasText: '2' }).waitFor()
    for (const email of members) await page.locator(`[data-testid="members-table"] tr[data-email="${email}"]`).waitFor()
  })

  await step(page, 'dry run, then distribute with a progress bar', async () => {
    await page.getByLabel('Book', { exact: true }).selectOption({ label: `${bookName} (302 free)` })
    await page.getByLabel('Coupons per member').fill('2')
    await page.getByRole('button', { name: 'Dry run' }).click()
    await page.getByTestId('distribution-result').filter({ hasText: 'Dry run: nothing was given.' }).waitFor()
    assert.equal(await page.getByTestId('distribution-assigned').textContent(), '4')
    await page.getByRole('button', { name: 'Distribute' }).click()
    await page.locator('[data-testid="job-progress"][data-state="succeeded"]').waitFor({ timeout: 60_000 })
    await page.getByTestId('distribution-result').filter({ hasText: 'Distribution finished.' }).waitFor()
    assert.equal(await page.getByTestId('distribution-assigned').textContent(), '4')
    await expectToast(page, 'Distribution done: 4 coupons given.')
    await shoot(page, '04-admin-pool')
  })

  await step(page, 'the book shows the distributed coupons', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Books' }).click()
    await page.getByRole('link', { name: bookName }).click()
    await page.getByTestId('stat-assigned').filter({ hasText: /^4$/ }).waitFor()
    await page.getByTestId('stat-unassigned').filter({ hasText: '298' }).waitFor()
  })

  await step(page, 'list the pools and books', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pools' }).click()
    await page.getByTestId('pools-table').getByRole('link', { name: `Regulars ${stamp}` }).waitFor()
    await shoot(page, '05-admin-pools')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Books' }).click()
    await page.getByTestId('books-table').getByRole('link', { name: bookName }).waitFor()
    await shoot(page, '02-admin-books')
  })

  await step(page, 'look up a user and disable them', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click()
    await page.getByLabel('Email').fill(members[1].toUpperCase())
    await page.getByRole('button', { name: 'Look up' }).click()
    // The lookup (case-insensitive) replaces the list of all users with the one match.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="users-table"] tbody tr').length === 1)
    const row = page.locator(`[data-testid="users-table"] tr[data-email="${members[1]}"]`)
    await row.waitFor()
    await row.getByRole('button', { name: `Disable ${members[1]}` }).click()
    await expectToast(page, `${members[1]} is disabled.`)
    await row.getByText('Disabled', { exact: true }).waitFor()
    await shoot(page, '06-admin-users')
  })

  await step(page, 'the audit log answers (entries or the not-yet-available note)', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click()
    await page.locator('[data-testid="audit-table"], [data-testid="audit-unavailable"], [data-testid="audit-empty"]').first().waitFor()
    assert.equal(await page.getByTestId('toast-error').count(), 0, 'the audit page shows no error')
    await shoot(page, '07-admin-audit')
  })

  await step(page, 'the audit page reads the audit contract: entries, filters and paging', async () => {
    // Answers in the shape of GET /api/v1/audit, so the page is checked against the contract whatever this server has.
    const seen = []
    const entry = (id, action, targetType, details) => ({
      id, at: '2026-11-27T10:00:00Z', actorId: '0198f0c2-0000-7000-8000-00000000000a', actorEmail: 'boss@example.com',
      action, targetType, targetId: '0198f0c2-0000-7000-8000-0000000000b1', details,
    })
    await page.route('**/api/v1/audit?*', (route) => {
      const url = new URL(route.request().url())
      seen.push(url.searchParams)
      const second = url.searchParams.get('cursor') === 'page-2'
      return route.fulfill({
        json: second
          ? { items: [entry('3', 'pool.created', 'pool', { name: 'Regulars' })], nextCursor: null }
          : { items: [entry('1', 'book.codes-generated', 'book', { count: 300, pattern: 'E2E-####' }), entry('2', 'user.updated', 'user', { disabled: true })], nextCursor: 'page-2' },
      })
    })
    await page.getByLabel('Action').selectOption('book.codes-generated')
    await page.getByLabel('Actor id').fill('0198f0c2-0000-7000-8000-00000000000a')
    await page.getByRole('button', { name: 'Filter' }).click()
    const rows = page.locator('[data-testid="audit-table"] tbody tr')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length === 2)
    assert.match(await rows.nth(0).textContent(), /boss@example\.com.*book\.codes-generated.*count.*300/s)
    assert.equal(await rows.nth(0).getByRole('link').getAttribute('href'), '/console/admin/books/0198f0c2-0000-7000-8000-0000000000b1')
    const filtered = seen[seen.length - 1]
    assert.equal(filtered.get('action'), 'book.codes-generated')
    assert.equal(filtered.get('actorId'), '0198f0c2-0000-7000-8000-00000000000a')
    await page.getByRole('button', { name: 'Load more' }).click()
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length === 3)
    assert.equal(seen[seen.length - 1].get('cursor'), 'page-2')
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0, 'the last page offers no more')
    await page.unroute('**/api/v1/audit?*')
  })

  assert.deepEqual(problems, [], 'the console logged no script errors')
  await context.close()
})

test('a user registers, gets a coupon, locks, unlocks, locks again and redeems it', { timeout: journeyTimeoutMs }, async () => {
  const { context, page, problems } = await openPage()
  const email = `carol.${stamp}@e2e.example.com`.toLowerCase()

  await step(page, 'a weak password is refused with the API problem detail', async () => {
    await page.goto(`${baseUrl}/console/register`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Display name (optional)').fill('Carol')
    await page.getByLabel('Password').fill('short')
    await page.getByRole('button', { name: 'Create account' }).click()
    await expectErrorToast(page, 'The password must be at least 10 characters long.')
    await shoot(page, '08-register')
  })

  await step(page, 'register', async () => {
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL(/\/console\/coupons$/)
    await expectToast(page, 'Welcome! Your account is ready.')
    await page.getByText('You have no coupons yet.').waitFor()
  })

  let code
  await step(page, 'get a coupon from the book', async () => {
    await page.getByLabel('Book', { exact: true }).selectOption({ label: bookName })
    await page.getByRole('button', { name: 'Get a coupon' }).click()
    const row = page.locator('[data-testid="my-coupons"] tbody tr').first()
    await row.waitFor()
    code = await row.getAttribute('data-code')
    assert.match(code, new RegExp(`^E2E${stamp}-\\d{4}$`))
    await expectToast(page, `You got coupon ${code}.`)
    await row.getByText('ASSIGNED', { exact: true }).waitFor()
  })

  const row = () => page.locator(`[data-testid="my-coupons"] tr[data-code="${code}"]`)

  await step(page, 'lock it and see the countdown', async () => {
    await row().getByRole('button', { name: `Lock ${code}` }).click()
    await row().getByText('LOCKED', { exact: true }).waitFor()
    const timer = row().getByRole('timer')
    const first = await timer.textContent()
    assert.match(first, /ends in (1 min \d\d s|\d+ s)/)
    await page.waitForFunction(
      ([selector, before]) => document.querySelector(selector)?.textContent !== before,
      [`tr[data-code="${code}"] [role="timer"]`, first],
    )
    await shoot(page, '09-my-coupons-locked')
  })

  await step(page, 'unlock it', async () => {
    await row().getByRole('button', { name: `Unlock ${code}` }).click()
    await row().getByText('ASSIGNED', { exact: true }).waitFor()
    assert.equal(await row().getByRole('timer').count(), 0)
  })

  await step(page, 'lock it again and redeem it', async () => {
    await row().getByRole('button', { name: `Lock ${code}` }).click()
    await row().getByRole('button', { name: `Redeem ${code}` }).click()
    await row().getByText('REDEEMED', { exact: true }).waitFor()
    await expectToast(page, `Redeemed ${code}.`)
    assert.equal(await row().getByRole('button').count(), 0, 'a redeemed coupon offers no more actions')
    await shoot(page, '10-my-coupons-redeemed')
  })

  await step(page, 'an admin page is refused to a user', async () => {
    await page.goto(`${baseUrl}/console/admin/books`)
    // A reload drops the in-memory session: the console asks to sign in again, then refuses the admin page.
    await page.waitForURL(/\/console\/login\?redirect=/)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(/\/console\/coupons$/)
    await expectErrorToast(page, 'That page is for administrators.')
  })

  await step(page, 'sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/console\/login$/)
  })

  assert.deepEqual(problems, [], 'the console logged no script errors')
  await context.close()
})

test('the access token is refreshed before it expires', { timeout: journeyTimeoutMs }, async () => {
  const { context, page, problems } = await openPage()
  await context.clock.install()
  await step(page, 'sign in and let the token near its expiry', async () => {
    await signIn(page, `carol.${stamp}@e2e.example.com`.toLowerCase(), password)
    const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh') && r.request().method() === 'POST')
    // Development tokens last 15 minutes; the console renews them a minute early.
    await page.clock.fastForward('14:30')
    const response = await refreshed
    assert.equal(response.status(), 200, 'the refresh endpoint accepted the console\'s refresh token')
  })
  await step(page, 'the renewed token works', async () => {
    const mine = page.waitForResponse((r) => r.url().includes('/api/v1/users/me/coupons'))
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My coupons' }).click()
    await page.getByRole('heading', { level: 1, name: 'My coupons' }).waitFor()
    // Navigating to the page it is already on fetches nothing; reload the list through the filter instead.
    await page.getByLabel('State').selectOption('REDEEMED')
    assert.equal((await mine).status(), 200)
    await page.locator('[data-testid="my-coupons"] tbody tr').first().waitFor()
  })
  assert.deepEqual(problems, [], 'the console logged no script errors')
  await context.close()
})
