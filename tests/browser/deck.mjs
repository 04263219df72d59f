// The deck in a real browser: headless Chromium (Debian's) driven by
// playwright-core. Run by cli/tests/deck_browser.rs against a `skiff dev`
// seeded with 200 jobs:
//
//   node tests/browser/deck.mjs URL SCREENSHOT_DIR EXPECT_JSON
//
// EXPECT_JSON says what the pages must show (computed by the Rust test from
// the records it stored). Environment: SKIFF_PLAYWRIGHT_CORE (the
// playwright-core package directory), SKIFF_CHROMIUM (default
// /usr/bin/chromium). Exits non-zero with the first failed check.

import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, shots, expectFile] = process.argv.slice(2);
if (!url || !shots || !expectFile) {
  console.error("usage: node deck.mjs URL SCREENSHOT_DIR EXPECT_JSON");
  process.exit(2);
}
const want = JSON.parse(readFileSync(expectFile, "utf8"));
const require = createRequire(import.meta.url);
const pwPath = process.env.SKIFF_PLAYWRIGHT_CORE;
if (!pwPath) {
  console.error("SKIFF_PLAYWRIGHT_CORE is not set (the playwright-core package directory)");
  process.exit(2);
}
const { chromium } = require(pwPath);

let checks = 0;
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  checks++;
}
function same(got, expected, what) {
  const g = JSON.stringify(got);
  const e = JSON.stringify(expected);
  if (g !== e) throw new Error(`check failed: ${what}\n  got:      ${g}\n  expected: ${e}`);
  checks++;
}

// The closed network makes Chromium's background services hang or retry:
// these flags keep it to the page under test (see the machine's notes).
const launch = (dir, options = {}) =>
  chromium.launchPersistentContext(dir, {
    executablePath: process.env.SKIFF_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    ...options,
  });
const profile = mkdtempSync(join(tmpdir(), "skiff-chromium-"));
const noScriptProfile = mkdtempSync(join(tmpdir(), "skiff-chromium-nojs-"));
const browser = await launch(profile);
let noScriptBrowser = null;
let noScriptPage = null;

// The same journey in a browser with JavaScript switched off.
async function noScript() {
  noScriptBrowser = await launch(noScriptProfile, { javaScriptEnabled: false });
  const p = noScriptBrowser.pages()[0] || (await noScriptBrowser.newPage());
  noScriptPage = p;
  const ids = () =>
    p.$$eval("#jobs tbody tr td:nth-child(2) a", (as) => as.map((a) => a.getAttribute("href").replace("/jobs/", "")));
  await p.goto(url + "/");
  same(await p.locator("#jobs tbody tr").count(), want.total, "without JavaScript: the list");
  check(!(await p.locator("#refresh").isVisible()), "without JavaScript: no auto-refresh switch (it could not work)");
  await p.selectOption("#f-state", "failure");
  await p.fill("#f-repo", want.repo);
  await Promise.all([p.waitForNavigation(), p.click("form.filters button[type=submit]")]);
  check(p.url().includes("state=failure") && p.url().includes("repo="), "without JavaScript: the form puts the filter in the URL: " + p.url());
  same(await ids(), want.repo_failure_ids, "without JavaScript: the filter applies");
  await p.screenshot({ path: join(shots, "nojs-list.png") });
  await Promise.all([p.waitForNavigation(), p.click(`a[href="/jobs/${want.job.id}"]`)]);
  same(await p.$$eval(".log div.hl", (ds) => ds.map((d) => d.id)), want.job.highlighted.map((n) => `L${n}`), "without JavaScript: the log, error lines marked");
  await p.click(`#L${want.job.error_line} > a`);
  check(p.url().endsWith(`#L${want.job.error_line}`), "without JavaScript: line anchors");
  same(await p.$$eval("#artifact-list tbody tr td:first-child a", (as) => as.map((a) => a.textContent)), want.job.artifacts, "without JavaScript: the artifacts browser");
  same((await p.locator("#junit-lens .totals").textContent()).trim(), want.job.junit.totals, "without JavaScript: the JUnit totals");
  const noJsCase = p.locator("#junit-lens details.case").first();
  await noJsCase.locator(":scope > summary").click();
  check(await noJsCase.evaluate((d) => d.open), "without JavaScript: a failed case opens");
  check(await noJsCase.locator(".case-body").isVisible(), "without JavaScript: its output shows");
  await p.screenshot({ path: join(shots, "nojs-job.png"), fullPage: true });
  await Promise.all([p.waitForNavigation(), p.click("text=all runs of this PR")]);
  same(await p.locator("section.commit").count(), want.pr.commits.length, "without JavaScript: the PR page");
  await Promise.all([p.waitForNavigation(), p.click("header nav >> text=Command help")]);
  check((await p.textContent("body")).includes(want.help_job), "without JavaScript: the command help");
  await Promise.all([p.waitForNavigation(), p.click("header nav >> text=Plugins")]);
  await p.selectOption("#f-repo", want.plugins.repo);
  await Promise.all([p.waitForNavigation(), p.click("form.filters button[type=submit]")]);
  same(await p.$$eval("section.plugin h2", (hs) => hs.map((h) => h.textContent)), want.plugins.in_repo, "without JavaScript: the repo picker");
}
const problems = [];
const page = browser.pages()[0] || (await browser.newPage());
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  // Failed loads are reported below, with their URL.
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
});
// Every failed response but the one bad filter the test asks for on purpose.
page.on("response", (r) => {
  if (r.status() >= 400 && !r.url().includes("state=sucess")) problems.push(`HTTP ${r.status()}: ${r.url()}`);
});
// WCAG 2 contrast of every piece of visible text on the page against the
// background it is drawn on: returns those under 4.5:1 (3:1 for large text).
const lowContrast = () =>
  page.evaluate(() => {
    const rgba = (s) => {
      const m = s.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [r, g, b, a];
    };
    const over = (top, under) => {
      const a = top[3];
      return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
    };
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c && c[3] > 0) {
          layers.push(c);
          if (c[3] >= 1) break;
        }
      }
      return layers.reverse().reduce((acc, c) => over(c, acc), [255, 255, 255, 1]);
    };
    const lum = (c) => {
      const v = c.slice(0, 3).map((x) => {
        x /= 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
    };
    const bad = [];
    for (const el of document.querySelectorAll("body *")) {
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
      if (!text) continue;
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      if (style.visibility !== "visible" || box.width === 0 || box.height === 0 || el.closest("[hidden],.skip")) continue;
      const bg = background(el);
      const fg = over(rgba(style.color), bg);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        bad.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} "${text.slice(0, 30)}": ${ratio.toFixed(2)} (${style.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
      }
    }
    return [...new Set(bad)].slice(0, 20);
  });

// Long lists are shot as the screen shows them; other pages whole.
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: !name.startsWith("list") });
const rowIds = () =>
  page.$$eval("#jobs tbody tr td:nth-child(2) a", (as) => as.map((a) => a.getAttribute("href").replace("/jobs/", "")));

try {
  // 1. The list: every job, newest first. (The page's clock is Playwright's,
  // so the test can move it on to the next auto-refresh.)
  await page.clock.install();
  await page.goto(url + "/", { waitUntil: "load" });
  same(await page.locator("#jobs tbody tr").count(), want.total, "the list shows every job");
  same(await rowIds(), want.all_ids, "rows are newest first");
  check((await page.title()).includes("Jobs"), "the page has a title");
  // State colours: each state has its own; the text says it too.
  const stateColour = (state) => page.locator(`#jobs tbody tr.${state} td:first-child`).first().evaluate((td) => getComputedStyle(td).color);
  const colours = await Promise.all(["success", "failure", "aborted", "error"].map(stateColour));
  same(new Set(colours.slice(0, 3)).size, 3, `success, failure and aborted have their own colours (${colours})`);
  same(colours[3], colours[1], "error looks like failure");
  same(await lowContrast(), [], "every text on the list meets WCAG AA contrast");
  await shot("list");

  // Auto-refresh is the one script: on by default, it reloads the page
  // every 30 s, and it can be switched off.
  const refresh = page.locator("#refresh input");
  check(await refresh.isVisible(), "the auto-refresh switch shows when JavaScript runs");
  check(await refresh.isChecked(), "auto-refresh is on by default");
  same(await refresh.evaluate((i) => i.labels[0].textContent.trim()), "Auto-refresh", "the switch has a label");
  await page.evaluate(() => { window.notReloaded = true; });
  await page.clock.runFor(25_000);
  check(await page.evaluate(() => window.notReloaded === true), "no reload before 30 s");
  await Promise.all([page.waitForEvent("load"), page.clock.runFor(6_000)]);
  check(await page.evaluate(() => window.notReloaded === undefined), "the page reloaded after 30 s");
  same(await page.locator("#jobs tbody tr").count(), want.total, "the reloaded list");
  await page.locator("#refresh input").uncheck();
  same(await page.evaluate(() => localStorage.getItem("skiff-deck-refresh")), "off", "switching it off is remembered");
  await page.evaluate(() => { window.notReloaded = true; });
  await page.clock.runFor(65_000);
  check(await page.evaluate(() => window.notReloaded === true), "switched off, the page does not reload");

  // 2. Keyboard and labels: the first Tab reaches the skip link; every
  // filter field has a label; the form is reachable and submits by keyboard.
  await page.reload({ waitUntil: "load" });
  check(!(await page.locator("#refresh input").isChecked()), "auto-refresh stays off after a reload");
  await page.keyboard.press("Tab");
  same(await page.evaluate(() => document.activeElement.textContent.trim()), "Skip to content", "the first Tab stop is the skip link");
  check(await page.locator(".skip").isVisible(), "the skip link shows when focused");
  const unlabelled = await page.$$eval("form.filters input, form.filters select", (els) =>
    els.filter((e) => !(e.labels && e.labels.length && e.labels[0].textContent.trim())).map((e) => e.name));
  same(unlabelled, [], "every filter field has a label");
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === "f-state");
  }
  check(reached, "the state filter is reachable with Tab");
  check(
    await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle !== "none"),
    "the focused field shows a focus ring",
  );
  await page.selectOption("#f-state", "failure");
  await page.focus("#f-cluster");
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  check(page.url().includes("state=failure"), "the filter is in the URL: " + page.url());

  // 3. Filter by state: exactly the failed jobs.
  same(await rowIds(), want.failure_ids, "state=failure shows exactly the failed jobs");
  same(await page.$$eval("#jobs tbody tr td:first-child", (tds) => [...new Set(tds.map((t) => t.textContent))]), ["failure"], "every row says failure");
  await shot("list-failure");

  // 4. ... and by repository, in the same form.
  await page.fill("#f-repo", want.repo);
  await Promise.all([page.waitForNavigation(), page.press("#f-repo", "Enter")]);
  same(await rowIds(), want.repo_failure_ids, `state=failure&repo=${want.repo}`);
  check(await page.locator("#f-state").inputValue() === "failure", "the form keeps the state filter");
  await shot("list-failure-repo");

  // A filter that cannot mean anything is a 400 page that says so.
  const bad = await page.goto(url + "/?state=sucess");
  same(bad.status(), 400, "a bad filter is a 400");
  check((await page.locator(".err").textContent()).includes('state="sucess"'), "the 400 page names the parameter");

  // 5. A failed job: the page, its log with the error line highlighted.
  await page.goto(url + "/?" + new URLSearchParams({ repo: want.repo, state: "failure" }));
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/jobs/${want.job.id}"]`)]);
  check((await page.locator("h1").textContent()).includes(want.job.name), "the job page names the job");
  same(await page.locator(".log div.hl").count(), want.job.highlighted.length, "highlighted log lines");
  same(await page.$$eval(".log div.hl", (ds) => ds.map((d) => d.id)), want.job.highlighted.map((n) => `L${n}`), "the error lines are marked");
  const errorLine = page.locator(`#L${want.job.error_line}`);
  check((await errorLine.locator("mark").textContent()) === "ERROR:", "the error text itself is marked");
  const bg = await errorLine.evaluate((e) => getComputedStyle(e).backgroundColor);
  const plainBg = await page.locator("#L1").evaluate((e) => getComputedStyle(e).backgroundColor);
  check(bg !== plainBg, `an error line looks different (${bg} vs ${plainBg})`);
  // Line anchors: following one targets that line.
  await page.click(`#L${want.job.error_line} > a`);
  check(page.url().endsWith(`#L${want.job.error_line}`), "line anchors are links");
  same(await page.evaluate(() => document.querySelector(":target") && document.querySelector(":target").id), `L${want.job.error_line}`, "the anchored line is the target");
  check((await page.textContent("body")).includes("finished.json"), "finished.json is shown");
  check((await page.textContent("body")).includes(want.job.rerun), "the rerun command is shown");
  same(await lowContrast(), [], "every text on the job page (log, anchored line) meets WCAG AA contrast");
  await shot("job");

  // 5b. Its artifacts: every stored object, each linked to its raw bytes,
  // served as plain text (never as a page of the deck's origin).
  same(
    await page.$$eval("#artifact-list tbody tr td:first-child a", (as) => as.map((a) => a.textContent)),
    want.job.artifacts,
    "the artifacts browser lists every object of the job, in order",
  );
  same(
    await page.$$eval("#artifact-list tbody tr td:first-child a", (as) => as.map((a) => a.getAttribute("href"))),
    want.job.artifacts.map((n) => `/artifacts/${want.job.artifact_dir}/${n}`),
    "each object links to its raw bytes",
  );
  check(
    (await page.$$eval("#artifact-list tbody tr td:last-child", (tds) => tds.map((t) => t.textContent))).every((t) => /^\d+(\.\d)? (B|KiB|MiB)$/.test(t)),
    "each object has its size",
  );
  const raw = await page.request.get(url + `/artifacts/${want.job.artifact_dir}/${want.job.raw_artifact.name}`);
  same(raw.status(), 200, "a raw artifact");
  same(raw.headers()["content-type"], "text/plain; charset=utf-8", "a raw artifact is plain text");
  check(raw.headers()["content-security-policy"].includes("sandbox"), "a raw artifact is sandboxed");
  same(await raw.text(), want.job.raw_artifact.text, "a raw artifact's bytes");

  // 5c. The JUnit lens: totals first, then the failed case with its
  // message; its details open and close by keyboard.
  const lens = page.locator("#junit-lens");
  same((await lens.locator(".totals").textContent()).trim(), want.job.junit.totals, "the JUnit totals");
  const failedCase = lens.locator("details.case").first();
  same(await failedCase.locator("summary .name").textContent(), want.job.junit.failed, "the failed case is named");
  same(await failedCase.locator("summary .msg").textContent(), want.job.junit.message, "with its message");
  check(!(await failedCase.locator(".case-body").isVisible()), "its details start folded");
  check(!(await lens.locator("#passed-tests ul").isVisible()), "passing tests are folded into one list");
  // Tab (or Shift+Tab) until the focused element is a summary of a
  // <details> with `cls`; whether it got there.
  const tabTo = async (cls, key = "Tab") => {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press(key);
      const there = await page.evaluate((c) => {
        const a = document.activeElement;
        return !!a && a.tagName === "SUMMARY" && a.parentElement.classList.contains(c);
      }, cls);
      if (there) return true;
    }
    return false;
  };
  // From the "Test results" link, Tab until the failed case's summary.
  await page.focus('nav a[href="#junit"]');
  check(await tabTo("case"), "the failed case's summary is reachable with Tab");
  check(
    await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle !== "none"),
    "the focused summary shows a focus ring",
  );
  await page.keyboard.press("Enter");
  check(await failedCase.evaluate((d) => d.open), "Enter opens the failed case");
  check(await failedCase.locator(".case-body").isVisible(), "its details show");
  check((await failedCase.locator(".case-body").textContent()).includes(want.job.junit.detail), "the failure's full text");
  check(await tabTo("output"), "the case's output is reachable with Tab");
  await page.keyboard.press("Enter");
  check(await failedCase.locator("details.output").evaluate((d) => d.open), "the case's output opens by keyboard too");
  same(await lowContrast(), [], "every text of the opened JUnit lens meets WCAG AA contrast");
  await lens.screenshot({ path: join(shots, "job-junit.png") });
  check(await tabTo("case", "Shift+Tab"), "back to the case's summary with Shift+Tab");
  await page.keyboard.press("Space");
  check(!(await failedCase.evaluate((d) => d.open)), "Space folds it again");

  // 6. Read its raw log.
  const logResp = await page.goto(url + want.job.raw_log);
  same(logResp.status(), 200, "the raw log");
  check((await logResp.text()).includes(want.job.error_text), "the raw log has the error");
  await page.goBack();

  // 7. The PR page: every run of the PR, grouped by commit.
  await Promise.all([page.waitForNavigation(), page.click("text=all runs of this PR")]);
  same(await page.locator("section.commit").count(), want.pr.commits.length, "one section per commit");
  same(
    await page.$$eval("section.commit h2 a", (as) => as.map((a) => a.textContent)),
    want.pr.commits.map((s) => s.slice(0, 7)),
    "commits, newest first",
  );
  same(await page.locator("section.commit tbody tr").count(), want.pr.runs, "every run of the PR");
  await shot("pr");

  // 8. Job history with streaks, and the command help.
  await page.goto(url + want.history);
  check(await page.locator("#current-streak").isVisible(), "the current streak is shown");
  check((await page.locator(".strip a").count()) > 0, "the run strip is shown");
  await shot("history");
  await page.goto(url + "/command-help");
  check((await page.locator("#commands tbody tr").count()) >= 6, "the commands are listed");
  check((await page.textContent("body")).includes(want.help_job), "each repo's jobs are listed");
  await shot("command-help");

  // 8b. The plugins each repo enables and their commands, from the help the
  // plugins declare: the catalog, the repo picker (a plain GET form), the
  // command help for one repo, and Prow's JSON of the same help.
  await page.goto(url + "/plugins");
  const pluginNames = () => page.$$eval("section.plugin h2", (hs) => hs.map((h) => h.textContent));
  same(await pluginNames(), want.plugins.all, "the catalog lists every enabled plugin, in Prow's names");
  check((await page.locator("#plugin-lgtm .commands tbody tr").count()) > 0, "a plugin's commands are listed");
  await page.selectOption("#f-repo", want.plugins.repo);
  await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
  check(page.url().includes("repo=" + encodeURIComponent(want.plugins.repo)), "the picked repo is in the URL: " + page.url());
  same(await pluginNames(), want.plugins.in_repo, "the plugins of the picked repo");
  check((await page.textContent("#plugin-lgtm")).includes(want.plugins.setup), "the repo's own setup of a plugin");
  check((await page.textContent("#external")).includes(want.plugins.external), "its external plugins");
  same(await lowContrast(), [], "every text on the plugins page meets WCAG AA contrast");
  await shot("plugins");
  await page.goto(url + "/command-help?repo=" + encodeURIComponent(want.plugins.repo));
  const usages = await page.$$eval("#commands tbody tr td:first-child code", (cs) => cs.map((c) => c.textContent));
  const help = await page.request.get(url + "/plugin-help");
  same(help.status(), 200, "/plugin-help answers a script");
  same(help.headers()["content-type"], "application/json", "/plugin-help is JSON");
  const allHelp = await help.json();
  same(allHelp.RepoPlugins[want.plugins.org], want.plugins.configured, "the JSON has plugins.yaml's entries");
  const fromJson = want.plugins.in_repo.flatMap((n) => (allHelp.PluginHelp[n].Commands || []).map((c) => c.Usage));
  same([...usages].sort(), [...fromJson].sort(), "the command help lists exactly the JSON's commands of the repo's plugins");
  check((await page.textContent("#commands")).includes(want.plugins.who), "who may use a command");
  same(await lowContrast(), [], "every text on the repo's command help meets WCAG AA contrast");
  await shot("command-help-repo");
  await page.goto(url + "/plugin-help");
  check(page.url().endsWith("/command-help"), "a browser opening /plugin-help lands on the command help: " + page.url());

  // 9. The badge: an SVG with the right status.
  const badge = await page.goto(url + "/badge.svg?jobs=" + encodeURIComponent(want.badge.jobs));
  same(badge.status(), 200, "the badge");
  check(badge.headers()["content-type"].startsWith("image/svg+xml"), "the badge is SVG");
  same(await page.locator("svg > g > text").last().textContent(), want.badge.status, "the badge's status");
  // ... and it renders as an image, as a README embeds it.
  // (in a page of the deck's own origin, as the CSP allows 'self' images)
  await page.goto(url + "/command-help");
  await page.evaluate((src) => {
    const img = document.createElement("img");
    img.id = "badge";
    img.alt = "build status";
    img.src = src;
    document.querySelector("main").prepend(img);
  }, "/badge.svg?jobs=" + encodeURIComponent(want.badge.jobs));
  await page.waitForFunction(() => document.getElementById("badge").complete);
  const width = await page.$eval("#badge", (i) => i.naturalWidth);
  check(width > 80, `the badge renders (${width}px wide)`);
  await page.locator("#badge").screenshot({ path: join(shots, "badge.png") });

  // 10. On a phone: the page fits the screen; the table scrolls inside it.
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(url + "/");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `no sideways scrolling of the page on a phone (overflow ${overflow}px)`);
  await shot("list-phone");
  await page.goto(url + `/jobs/${want.job.id}`);
  const jobOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(jobOverflow <= 0, `the job page and its log fit a phone (overflow ${jobOverflow}px)`);
  await shot("job-phone");
  await page.goto(url + "/plugins?repo=" + encodeURIComponent(want.plugins.repo));
  const pluginsOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(pluginsOverflow <= 0, `the plugins page fits a phone (overflow ${pluginsOverflow}px)`);

  same(problems, [], "no script errors or blocked resources");

  // 11. Without JavaScript: everything but auto-refresh works (filtering
  // is a plain form, logs and folds are HTML).
  await noScript();

  // 12. Last (it adds a record): rerun from the job page (skiff dev
  // --deck-auth none): the button
  // posts the form with the page's CSRF token and lands on the new run.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(url + "/");
  check((await page.locator("#jobs thead").textContent()).includes("Actions"), "the list has an Actions column");
  check((await page.locator("#jobs tbody tr").first().locator("button", { hasText: "Rerun" }).count()) === 1, "each row has a Rerun button");
  await page.goto(url + `/jobs/${want.job.id}`);
  // (as it was: the fixture's job is not in the config, which `latest` reads)
  const rerun = page.locator("main form.action button", { hasText: "Rerun as it was" });
  same(await rerun.count(), 1, "the job page has one Rerun-as-it-was button");
  await Promise.all([page.waitForNavigation(), rerun.click()]);
  const rerunId = page.url().split("/jobs/")[1];
  check(rerunId && rerunId !== want.job.id, "the rerun is a new job: " + page.url() + ": " + (await page.textContent("main")));
  check((await page.textContent("main dl.kv")).includes(`Rerun of${want.job.id} by anyone`), "the new run names the run it repeats");
  same(await lowContrast(), [], "every text on the rerun's page meets WCAG AA contrast");
  await shot("rerun");

  same(problems, [], "no script errors or blocked resources after the rerun");

  console.log(`deck browser test: ${checks} checks passed; screenshots in ${shots}`);
} catch (e) {
  await shot("failure").catch(() => {});
  if (noScriptPage) await noScriptPage.screenshot({ path: join(shots, "nojs-failure.png"), fullPage: true }).catch(() => {});
  console.error(e.stack || String(e));
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
  if (noScriptBrowser) await noScriptBrowser.close().catch(() => {});
  for (const p of [profile, noScriptProfile]) rmSync(p, { recursive: true, force: true });
}
