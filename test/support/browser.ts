// A real browser for tests: Debian's headless Chromium driven by playwright-core (no browser download),
// and the local stack's Temporal Web UI. Both fail loudly, with what to do, when they are not there.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot, stackEnv } from './stack.js';

/** Debian's Chromium; CHROMIUM_PATH overrides. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where tests save what a person may want to look at after a run (screenshots); git-ignored. */
export const artifactsDir = path.join(repoRoot, 'test-artifacts');

/** Starts headless Chromium; throws with the install command when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed (${chromiumPath} is missing): run 'bash scripts/stack/install.sh debian-tools'`);
  }
  // --no-sandbox: the tests run as root, where Chromium refuses its sandbox.
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], timeout: 30_000 });
}

/** The local stack's Temporal Web UI address, checked to answer; throws with what to do when it does not. */
export async function webUiUrl(): Promise<string> {
  const url = stackEnv().TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
  const res = await fetch(new URL('/api/v1/settings', url), { signal: AbortSignal.timeout(5_000) }).catch((err: unknown) => err as Error);
  if (res instanceof Error || !res.ok) {
    const why = res instanceof Error ? `${res.message}${res.cause ? ` (${String(res.cause)})` : ''}` : `HTTP ${res.status}`;
    throw new Error(`the Temporal Web UI at ${url} does not answer (${why}): run 'npm run stack:up' (or 'bash scripts/stack/up.sh')`);
  }
  return url;
}

/** Empties test-artifacts/<dir>/ so that what it holds after a run is that run's alone; returns its path. */
export function freshArtifactsDir(dir: string): string {
  const full = path.join(artifactsDir, dir);
  fs.rmSync(full, { recursive: true, force: true });
  fs.mkdirSync(full, { recursive: true });
  return full;
}

/** Saves a full-page screenshot as test-artifacts/<dir>/<name>.png and returns its path; fails on an empty file. */
export async function saveScreenshot(page: Page, dir: string, name: string): Promise<string> {
  const file = path.join(artifactsDir, dir, `${name}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  const size = fs.statSync(file).size;
  if (size === 0) throw new Error(`screenshot ${file} is empty`);
  return file;
}

/**
 * A page that may load only from `origin` (the Web UI and its `/render` frames): everything else is
 * aborted, so a test never reaches the internet (the Web UI fetches a news feed from temporal.io).
 */
export async function openPage(browser: Browser, origin: string): Promise<Page> {
  const allowed = new URL(origin).origin;
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.route((url) => url.origin !== allowed, (route) => route.abort('blockedbyclient'));
  return context.newPage();
}
