// The gateway's CPU with N consoles open: N signed-in browser contexts on one
// page each (--pages, taken in turn; default: cameras, which polls /metrics
// every 2 s, and alerts, which holds an SSE stream), for --seconds; CPU from
// /proc/<pid>/stat.
//   node load.js --url http://127.0.0.1:PORT --token T --pid GATEWAY_PID [--consoles 5] [--seconds 60] [--day D]
//                [--pages cameras,alerts]
'use strict';
const fs = require('fs');
const puppeteer = require('puppeteer-core');

const args = {consoles: '5', seconds: '60', day: '2026-11-21', pages: 'cameras,alerts'};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

function cpuSeconds(pid) {
  // Fields 14 and 15 (utime, stime) after the ")" of the command name.
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ = 100 on Linux
}

(async () => {
  const browser = await puppeteer.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu']});
  const pages = args.pages.split(',');
  for (let i = 0; i < Number(args.consoles); i++) {
    const ctx = await browser.createBrowserContext();
    const page = await ctx.newPage();
    await page.goto(args.url + '/', {waitUntil: 'load'});
    await page.waitForSelector('#login:not([hidden])');
    await page.type('#token', args.token);
    await page.click('#login-button');
    await page.waitForSelector('#app:not([hidden])');
    await page.goto(`${args.url}/#/${pages[i % pages.length]}?day=${args.day}`);
    await page.waitForFunction(() => document.querySelector('#page').dataset.ready === 'true', {timeout: 30000});
  }
  const c0 = cpuSeconds(args.pid), t0 = Date.now();
  await new Promise((r) => setTimeout(r, Number(args.seconds) * 1000));
  const c1 = cpuSeconds(args.pid), t1 = Date.now();
  console.log(JSON.stringify({consoles: Number(args.consoles), seconds: (t1 - t0) / 1000, cpu_s: c1 - c0,
    cpu_percent_of_one_core: (100 * (c1 - c0)) / ((t1 - t0) / 1000)}));
  await browser.close();
})().catch((e) => { console.error(`FAIL: ${e.message}`); process.exit(1); });
