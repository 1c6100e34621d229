// aigov's browser lane: starts `aigov serve` on 127.0.0.1 with a fresh data directory and
// walks the governance loop in Debian's chromium through playwright-core: log in, register a
// system, add and assess a risk, use the register (htmx filter, bulk selection), switch the
// language, verify the audit chain, download a PDF report and check its text (pdftotext). A screenshot of every step goes to $BROWSER_ARTIFACTS
// (default target/browser-artifacts). Any failure, console error or CSP violation fails the
// run with a non-zero exit.
//
// Environment:
//   AIGOV_BIN          the aigov binary (default $CARGO_TARGET_DIR/debug/aigov, else target/debug/aigov)
//   CHROMIUM           the browser (default /usr/bin/chromium)
//   BROWSER_ARTIFACTS  where screenshots go (default target/browser-artifacts)

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR || join(root, "target");
const bin = process.env.AIGOV_BIN || join(targetDir, "debug", "aigov");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = resolve(process.env.BROWSER_ARTIFACTS || join(root, "target", "browser-artifacts"));

function fail(msg) {
  throw new Error(msg);
}

/** Starts the server; resolves with { base, password, proc } once it listens. */
function startServer(dataDir) {
  return new Promise((res, rej) => {
    const proc = spawn(bin, ["--data-dir", dataDir, "serve", "--bind", "127.0.0.1:0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, AIGOV_LOG_LEVEL: "warn" },
    });
    let err = "";
    let password = null;
    const timer = setTimeout(() => rej(new Error(`aigov serve did not start:\n${err}`)), 60_000);
    proc.stderr.on("data", (d) => {
      err += d.toString();
      const pw = err.match(/password \(shown once[^)]*\): (\S+)/);
      if (pw) password = pw[1];
      const m = err.match(/serving (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        if (!password) rej(new Error(`no first-start admin password in:\n${err}`));
        res({ base: m[1], password, proc, log: () => err });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`aigov serve exited with ${code}:\n${err}`));
    });
  });
}

async function main() {
  if (!existsSync(bin)) fail(`no aigov binary at ${bin} (build it: cargo build -p aigov-cli)`);
  if (!existsSync(browserPath)) fail(`no browser at ${browserPath} (apt-get install -y chromium)`);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "aigov-browser-"));
  const server = await startServer(dataDir);
  const { base, password } = server;
  console.error(`browser lane: server at ${base}, artifacts in ${artifacts}`);
  const browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const problems = [];
  let n = 0;
  try {
    const context = await browser.newContext({
      locale: "en-US",
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    const shot = async (name) => {
      n += 1;
      const file = join(artifacts, `${String(n).padStart(2, "0")}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.error(`  step ${n}: ${name}`);
    };
    const expectText = async (text) => {
      const body = await page.textContent("body");
      if (!body.includes(text)) fail(`expected ${JSON.stringify(text)} on ${page.url()}`);
    };

    // 1. Anonymous: the login form, coming back to the dashboard after.
    await page.goto(`${base}/`);
    if (!page.url().startsWith(`${base}/login?next=`)) fail(`not sent to login: ${page.url()}`);
    await shot("login");

    // 2. Log in as the first-start admin.
    await page.fill("#username", "admin");
    await page.fill("#password", password);
    await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
    await expectText("Risk heat map");
    await shot("dashboard-empty");

    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.className);
    if (focused !== "skip") fail(`first Tab focused ${JSON.stringify(focused)}, not the skip link`);
    await page.keyboard.press("Enter");
    if (!page.url().endsWith("#main")) fail(`skip link went to ${page.url()}`);

    // 3. Register a system.
    await page.goto(`${base}/systems/new`);
    await page.fill("#name", "Customer assistant");
    await page.selectOption("#system_type", "generative");
    await page.fill("#purpose", "answers customer questions");
    await Promise.all([page.waitForURL(`${base}/systems/SYS-1`), page.click("button.primary")]);
    await expectText("Customer assistant");
    await shot("system-registered");

    // 4. Add a risk to it.
    await Promise.all([page.waitForURL(`${base}/systems/SYS-1/risks/new`), page.click("a[href='/systems/SYS-1/risks/new']")]);
    await page.fill("#title", "Prompt injection leaks customer data");
    await page.fill("#cause", "untrusted text reaches the system prompt");
    await Promise.all([page.waitForURL(`${base}/risks/RISK-1`), page.click("button.primary")]);
    await expectText("Not assessed yet");
    await shot("risk-added");

    // 5. Assess it: likelihood 4 × impact 5.
    await page.selectOption("#a-l", "4");
    await page.selectOption("#a-i", "5");
    await page.fill("#a-r", "reproduced in the red-team run");
    await Promise.all([page.waitForURL(`${base}/risks/RISK-1`), page.click("#assess-form button[type=submit]")]);
    await expectText("4 × 5");
    await expectText("Extremely severe");
    await shot("risk-assessed");

    // 6. The register: the htmx filter swaps the table and pushes the URL; selecting a row
    //    shows the bulk bar (our script runs under the CSP).
    await page.goto(`${base}/risks`);
    await page.selectOption("#f-status", "assessed");
    await page.waitForURL(/status=assessed/);
    await page.waitForSelector("#register >> text=RISK-1");
    await page.check("input[name=ids][value='RISK-1']");
    if (!(await page.isVisible("#bulk"))) fail("the bulk bar did not appear after selecting a row");
    const selText = await page.textContent("#bulk .sel-count");
    if (selText.trim() !== "1 selected") fail(`selection count reads ${JSON.stringify(selText)}`);
    await shot("register-filtered-selected");
    // Usable at 1280 px: nothing wider than the window.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 1280) fail(`the register is ${width}px wide at a 1280px window`);

    // 7. The dashboard's heat map counts the assessed risk.
    await page.goto(`${base}/`);
    const heat = await page.textContent("svg.chart");
    if (!heat.includes("Risk heat map")) fail("the heat map has no title");
    await shot("dashboard-heatmap");

    // 8. Switch the language to 中文.
    await Promise.all([page.waitForLoadState("load"), page.click("a[lang='zh-CN']")]);
    await page.waitForSelector("html[lang='zh-CN']");
    await expectText("风险热力图");
    await page.goto(`${base}/risks/RISK-1`);
    await expectText("评估记录");
    await shot("risk-in-chinese");

    // 9. The audit log verifies its chain (htmx fragment).
    await page.goto(`${base}/audit`);
    await page.click("a[href='/audit/verify']");
    await page.waitForSelector("#verify-result.ok");
    await expectText("哈希链完整");
    await shot("audit-verified");

    // 10. Download the system's PDF report from the report form; its text (pdftotext) names
    //     the system, the risk and its grade, and `aigov report verify` finds it in the log.
    await page.goto(`${base}/reports`);
    await page.check("#k-system-risk");
    await page.fill("#r-scope", "SYS-1");
    await page.selectOption("#r-format", "pdf");
    await shot("report-form");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("form[action='/reports/new'] button[type=submit]"),
    ]);
    const pdf = join(artifacts, "system-report.pdf");
    await download.saveAs(pdf);
    const text = spawnSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
    if (text.status !== 0) fail(`pdftotext failed (apt-get install -y poppler-utils): ${text.stderr || text.error}`);
    writeFileSync(join(artifacts, "system-report.txt"), text.stdout);
    for (const want of ["Customer assistant", "RISK-1", "Prompt injection leaks customer data", "特别重大"]) {
      if (!text.stdout.includes(want)) fail(`the PDF report's text lacks ${JSON.stringify(want)} (see system-report.txt)`);
    }
    const verify = spawnSync(bin, ["--data-dir", dataDir, "report", "verify", pdf], { encoding: "utf8" });
    if (verify.status !== 0) fail(`aigov report verify exited ${verify.status}:\n${verify.stdout}${verify.stderr}`);
    console.error(`  step ${n + 1}: PDF report downloaded, its text checked, verified against the audit log`);
    n += 1;

    const csp = problems.filter((p) => /Content Security Policy|Refused to/.test(p));
    if (csp.length) fail(`CSP violations:\n${csp.join("\n")}`);
    const others = problems.filter((p) => !/favicon/.test(p));
    if (others.length) fail(`browser errors:\n${others.join("\n")}`);
    console.error(`browser lane: ${n} steps passed; screenshots in ${artifacts}`);
  } finally {
    await browser.close();
    server.proc.kill("SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`browser lane FAILED: ${e.stack || e}`);
  process.exit(1);
});
