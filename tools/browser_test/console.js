// Drives Debian's chromium (headless) through the gateway's web console and
// checks the pages against expectations computed by the shell test
// (tests/integration/web_console.sh) from `weaver query`. Prints one JSON
// line of per-page figures (load time, bytes transferred) on success; exits
// 1 with the reason on the first failed check. Screenshots go to --out.
//   node console.js --url http://127.0.0.1:PORT --token T --out DIR --phase live|full
//                   [--expect FILE --db DB --weaver BIN]
'use strict';
const fs = require('fs');
const path = require('path');
const {execFileSync} = require('child_process');
const puppeteer = require('puppeteer-core');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const expect = args.expect ? JSON.parse(fs.readFileSync(args.expect, 'utf8')) : {};
const day = expect.day;

function check(ok, message) {
  if (!ok) throw new Error(message);
  console.error(`ok: ${message}`);
}

async function login(page, token) {
  await page.goto(args.url + '/', {waitUntil: 'load'});
  await page.waitForSelector('#login:not([hidden])');
  await page.type('#token', token);
  await page.click('#login-button');
}

async function ready(page) {
  await page.waitForSelector('#app:not([hidden])', {timeout: 20000});
  await page.waitForFunction(() => document.querySelector('#page').dataset.ready === 'true', {timeout: 30000});
  const err = await page.$('#page-error');
  if (err) throw new Error('page error: ' + (await page.evaluate((e) => e.textContent, err)));
}

// Opens one page from cold (no cache) and measures it: from navigation start
// to the page's data-ready, and the bytes on the wire (headers and bodies).
async function measure(page, hash) {
  await page.setCacheEnabled(false);
  await page.goto('about:blank');
  const client = await page.createCDPSession();
  await client.send('Network.enable');
  let bytes = 0;
  client.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  const t0 = Date.now();
  await page.goto(`${args.url}/${hash}`, {waitUntil: 'domcontentloaded'});
  await ready(page);
  const ms = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 300)); // late loadingFinished events
  await client.detach();
  return {ms, bytes};
}

async function shot(page, name, fullPage = true) {
  fs.mkdirSync(args.out, {recursive: true});
  await page.screenshot({path: path.join(args.out, name), fullPage});
}

async function live(browser) {
  const page = await browser.newPage();
  await page.setViewport({width: 1400, height: 900});
  await login(page, args.token);
  await ready(page);
  const n = expect.cameras;
  await page.waitForFunction((n) => document.querySelectorAll('[data-camera]').length === n, {timeout: 20000}, n);
  // Every camera up with a frame rate (two /metrics polls apart).
  await page.waitForFunction(() => [...document.querySelectorAll('[data-camera]')].every((c) =>
    c.querySelector('.pill.up') && Number(c.querySelector('.stat b').textContent) > 0), {timeout: 30000});
  check(true, `cameras page: ${n} cards, every camera up with fps > 0 (live run)`);
  // Every card shows its camera's picture, and each has drawn boxes over it.
  await page.waitForFunction(() => [...document.querySelectorAll('.camera-card')].every((c) => {
    const img = c.querySelector('.shot img');
    return img && img.complete && img.naturalWidth > 0;
  }), {timeout: 20000});
  check(true, 'every camera card shows a live picture');
  const stale = await page.$$eval('.camera-card .shot', (xs) => xs.filter((x) => x.dataset.stale !== '0').length);
  check(stale === 0, `no camera of the running demo is shown stale (${stale})`);
  await page.waitForFunction(() => [...document.querySelectorAll('.camera-card .shot')].every((s) => Number(s.dataset.boxesSeen || 0) > 0),
    {timeout: 40000});
  await page.waitForFunction(() => document.querySelectorAll('.camera-card .overlay rect.box').length > 0, {timeout: 20000});
  const boxes = await page.$$eval('.camera-card .overlay rect.box', (xs) => xs.length);
  check(true, `every camera card has shown boxes with track ids over its picture (${boxes} now)`);
  // Person ids on the live boxes: re-id runs in this process and names each
  // open track provisionally once it matches someone whose track already
  // ended. Sample the cards (every 0.5 s, up to 45 s, until 4 tracks were
  // named) and keep what was shown; the full phase checks it against the
  // store's final answers (a guess the final id confirmed).
  const shown = new Map(); // "camera/track/person" -> {camera, track, person}
  let boxSamples = 0, namedSamples = 0;
  const tracksNamed = () => new Set([...shown.values()].map((x) => `${x.camera}/${x.track}`)).size;
  for (const until = Date.now() + 45000; Date.now() < until && tracksNamed() < 4;) {
    const now = await page.$$eval('.camera-card', (cards) => cards.flatMap((c) => [...c.querySelectorAll('.overlay rect.box')]
      .map((b) => ({camera: Number(c.dataset.camera), track: Number(b.dataset.track), person: b.dataset.person === undefined ? null : Number(b.dataset.person),
        label: b.nextSibling && b.nextSibling.nextSibling ? b.nextSibling.nextSibling.textContent : ''}))));
    for (const b of now) {
      ++boxSamples;
      if (b.person === null) continue;
      ++namedSamples;
      check(b.label === `#${b.track} P${b.person}?`, `a named live box reads "${b.label}" (track ${b.track}, provisional person ${b.person})`);
      shown.set(`${b.camera}/${b.track}/${b.person}`, {camera: b.camera, track: b.track, person: b.person});
    }
    if (tracksNamed() > 0 && !fs.existsSync(path.join(args.out, 'cameras-live.png'))) await shot(page, 'cameras-live.png');
    await new Promise((r) => setTimeout(r, 500));
  }
  check(shown.size > 0, `live boxes carry provisional person ids: ${tracksNamed()} tracks named, ${namedSamples} of ${boxSamples} sampled boxes`);
  fs.mkdirSync(args.out, {recursive: true});
  fs.writeFileSync(path.join(args.out, 'live-persons.json'), JSON.stringify([...shown.values()]));
  console.error(`figures-live-persons: ${JSON.stringify({tracks_named: tracksNamed(), named_box_samples: namedSamples, box_samples: boxSamples})}`);
  const zones = await page.$$eval('.camera-card .overlay polygon.zone', (xs) => xs.length);
  check(zones === expect.zones, `the configured zones are drawn over the pictures: ${zones} = ${expect.zones}`);
  if (!fs.existsSync(path.join(args.out, 'cameras-live.png'))) await shot(page, 'cameras-live.png');

  // One camera: its live view at the snapshot rate, and zone drawing.
  const cam = await page.$eval('.camera-card', (c) => c.dataset.camera);
  await page.goto(`${args.url}/#/camera/${cam}`);
  await ready(page);
  await page.waitForFunction(() => { const i = document.querySelector('.shot.big img'); return i && i.naturalWidth > 0; }, {timeout: 20000});
  const t0 = Date.now();
  const overlay = await page.$('.shot.big .overlay');
  await overlay.scrollIntoView();
  const r = await overlay.boundingBox();
  const at = (fx, fy) => page.mouse.click(r.x + r.width * fx, r.y + r.height * fy);
  // The board starts from the camera's zones and lines on the server.
  await page.waitForFunction(() => document.querySelector('#apply-status').textContent.includes('in use'), {timeout: 20000});
  const loaded = await page.$$eval('.shot.big .overlay .draw', (xs) => xs.length);
  await page.click('#clear-shapes');
  await at(0.2, 0.3); await at(0.6, 0.3); await at(0.6, 0.8); await at(0.2, 0.8);
  await page.click('#finish-shape');
  await page.select('#shape-kind', 'line');
  await at(0.1, 0.5); await at(0.9, 0.5);
  const yaml = await page.$eval('#zone-yaml', (t) => t.value);
  const poly = /zones:\n  - name: zone1\n    polygon: \[(\[\d+, \d+\](, )?){4}\]/.test(yaml);
  const line = /lines:\n  - name: line2\n    from: \[\d+, \d+\]\n    to: \[\d+, \d+\]/.test(yaml);
  check(poly && line, `drawing a zone and a line on the picture yields their YAML:\n${yaml}`);
  const drawn = await page.$$eval('.shot.big .overlay .draw', (xs) => xs.length);
  check(drawn === 2, `the drawn zone and line are shown over the picture (${drawn}; the board had loaded ${loaded} from the server)`);
  await page.click('#clear-shapes');
  // Cleared, naming starts again (it once kept counting: the next line was
  // "line3", then the field said "line2").
  const renamed = await page.$eval('#shape-name', (e) => e.value);
  check(renamed === 'line1', `after Clear the next line is named line1 (${renamed})`);

  // Apply: a zone over most of the picture goes to the running tracker.
  // A crossing polygon is refused by the server, its reason shown.
  await page.select('#shape-kind', 'zone');
  await at(0.2, 0.3); await at(0.6, 0.7); await at(0.6, 0.3); await at(0.2, 0.5);
  await page.click('#finish-shape');
  await page.click('#apply-zones');
  await page.waitForFunction(() => document.querySelector('#apply-status').dataset.state === 'error', {timeout: 20000});
  const refusal = await page.$eval('#apply-status', (e) => e.textContent);
  check(/edges \d+ and \d+ cross/.test(refusal), `a crossing zone is refused by the server: ${refusal}`);
  await page.click('#clear-shapes');
  // Its corner at the bottom left lies under the picture's caption, which
  // once took the click (the zone got 3 points): the caption lets clicks through.
  await at(0.03, 0.35); await at(0.97, 0.35); await at(0.97, 0.97); await at(0.03, 0.97);
  await page.click('#finish-shape');
  await page.click('#apply-zones');
  await page.waitForFunction(() => document.querySelector('#apply-status').dataset.state === 'ok', {timeout: 20000});
  const applied = await page.$eval('#zone-board', (e) => e.dataset.zones);
  const served = await page.evaluate(async (c) => (await (await fetch(`/v1/cameras/${c}/zones`)).json()), cam);
  const said = await page.$eval('#apply-status', (e) => e.textContent);
  check(said.includes('kept across restarts'), `Apply says the zones are kept: ${said}`);
  check(applied === 'zone1' && served.zones.length === 1 && served.zones[0].name === 'zone1' && served.zones[0].polygon.length === 4,
    `Apply: the board redrawn from the server holds zone1 (${applied}); GET zones: ${JSON.stringify(served.zones)}`);
  await page.waitForFunction(() => [...document.querySelectorAll('.shot.big .overlay polygon.zone:not(.draw)')].length === 1, {timeout: 20000});
  check(true, 'the live picture draws the applied zone (from /live)');
  // In use: the running tracker counts entries into it (people walk there all the time).
  let zoneEvents = 0;
  for (const until = Date.now() + 40000; Date.now() < until && zoneEvents === 0;) {
    const text = await page.evaluate(async () => (await fetch('/metrics')).text());
    for (const line of text.split('\n'))
      if (line.startsWith('weaver_zone_events_total{') && line.includes(`camera="${cam}"`) && line.includes('zone="zone1"'))
        zoneEvents += Number(line.split(' ').pop());
    if (!zoneEvents) await new Promise((res) => setTimeout(res, 1000));
  }
  check(zoneEvents > 0, `the tracker evaluates the applied zone: ${zoneEvents} zone1 events on camera ${cam}`);
  await shot(page, 'camera.png');
  // The snapshot stream's rate, as the page measured it (bytes of JPEG).
  await new Promise((res) => setTimeout(res, Math.max(0, 12000 - (Date.now() - t0))));
  const bps = await page.$eval('#stream-rate', (e) => Number(e.dataset.bps));
  const text = await page.$eval('#stream-rate', (e) => e.textContent);
  check(bps > 0, `camera ${cam} live view: ${text}`);
  await at(0.3, 0.3); await at(0.7, 0.3); await at(0.5, 0.7); await page.click('#finish-shape');
  // Drawn after Apply: the status says so (it once still said "Applied").
  const after = await page.$eval('#apply-status', (e) => e.textContent);
  check(after.startsWith('Drawn, not applied yet: 2 zone(s)'), `a shape drawn after Apply is shown as not applied: ${after}`);
  await shot(page, 'camera.png');
  console.error(`figures-live: ${JSON.stringify({camera: Number(cam), snapshot_bytes_per_s: bps, rate: text})}`);
}

// The provisional person ids the live run showed, against the store's final
// answers: each named person exists (weaver query trajectory has presences
// of theirs), and at least one named track is, in the store, a presence of
// the very person the live box named (the guess the final id confirmed).
function livePersons(figures) {
  const shown = JSON.parse(fs.readFileSync(path.join(args.out, 'live-persons.json'), 'utf8'));
  check(shown.length > 0, `the live run named ${shown.length} (camera, track, person) on its boxes`);
  const t0 = `${day}T00:00:00Z`;
  const t1 = new Date(Date.parse(t0) + 86400000).toISOString().replace('.000', '');
  const tracksOf = new Map();
  for (const p of new Set(shown.map((x) => x.person))) {
    const a = JSON.parse(execFileSync(args.weaver, ['query', 'trajectory', `person=${p}`, `t0=${t0}`, `t1=${t1}`, 'limit=10000',
      '--db', args.db, '--compact']).toString());
    tracksOf.set(p, new Set(a.presences.map((x) => `${x.camera}/${x.track}`)));
  }
  const known = [...tracksOf.values()].filter((x) => x.size > 0).length;
  check(known === tracksOf.size, `every person named on a live box has presences in weaver query's answers (${known} of ${tracksOf.size})`);
  const agreed = shown.filter((x) => tracksOf.get(x.person).has(`${x.camera}/${x.track}`));
  check(agreed.length > 0, `${agreed.length} of ${shown.length} named live tracks are, in weaver query's answers, presences of the person named ` +
    `(e.g. camera ${agreed.length ? agreed[0].camera : '-'} track ${agreed.length ? agreed[0].track : '-'} = person ${agreed.length ? agreed[0].person : '-'})`);
  figures.live_persons = {named: shown.length, confirmed: agreed.length};
}

async function full(browser) {
  const figures = {};
  livePersons(figures);
  // Refused without a token: the API and the console.
  const anon = await browser.createBrowserContext();
  const ap = await anon.newPage();
  await ap.goto(args.url + '/', {waitUntil: 'load'});
  await ap.waitForSelector('#login:not([hidden])');
  const status = await ap.evaluate(async () => (await fetch('/v1/cameras')).status);
  check(status === 401, `without a token: the login form, and /v1/cameras is ${status}`);
  await ap.type('#token', 'not-a-token-0123456789');
  await ap.click('#login-button');
  await ap.waitForFunction(() => document.querySelector('#login-error').textContent.includes('invalid token'));
  check(true, 'a wrong token is refused on the login form');
  await ap.setViewport({width: 1400, height: 900});
  await shot(ap, 'login.png');
  const jsCookie = await ap.evaluate(() => document.cookie);
  await anon.close();

  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport({width: 1400, height: 900});
  await login(page, args.token);
  await ready(page);
  const cookies = await page.cookies();
  const c = cookies.find((x) => x.name === 'weaver_session');
  check(c && c.httpOnly && c.sameSite === 'Strict' && !c.value.includes(args.token), 'the session cookie is HttpOnly, SameSite=Strict, not the token');
  check((await page.evaluate(() => document.cookie)) === '' && jsCookie === '', 'scripts cannot read the session cookie');

  // The zone applied in the live run came back from tracker.zones_file in
  // this process (whose tracker is elsewhere: shown, not editable).
  const ids = await page.evaluate(async () => (await (await fetch('/v1/cameras?limit=100')).json()).cameras.map((x) => x.id));
  const kept = [];
  for (const id of ids) {
    const z = await page.evaluate(async (i) => (await (await fetch(`/v1/cameras/${i}/zones`)).json()), id);
    check(z.editable === false && z.kept === false, `camera ${id}'s zones on a query,gateway node: read only (${z.why_not_editable})`);
    if (z.zones.some((x) => x.name === 'zone1' && x.polygon.length === 4)) kept.push(id);
  }
  check(kept.length === 1, `after a restart the zone applied in the live run is back from tracker.zones_file (camera ${kept.join(', ')})`);

  // Cameras
  figures.cameras = await measure(page, `#/cameras?day=${day}`);
  const cards = await page.$$eval('[data-camera] h3', (xs) => xs.map((x) => x.textContent));
  check(JSON.stringify(cards) === JSON.stringify(expect.camera_names), `cameras page: cards ${cards.join(', ')}`);
  await page.waitForFunction(() => document.querySelectorAll('.spark svg').length > 0, {timeout: 10000});
  // The run ended: the store's last pictures age past gateway.stale_after_s,
  // and every camera is then shown down, its last picture marked.
  await page.waitForFunction(() => [...document.querySelectorAll('.camera-card')].every((c) =>
    c.querySelector('.shot').dataset.stale === '1' && c.querySelector('.pill.down') && c.querySelector('.pill').textContent === 'stale'),
  {timeout: 30000});
  check(true, `cameras page: every camera of the ended run shown stale (down) with its last picture`);
  await shot(page, 'cameras.png');

  // Flows: every X -> Y cell equals weaver query's answer
  figures.flows = await measure(page, `#/flows?day=${day}`);
  await page.waitForFunction(() => !document.querySelector('#matrix td.cell:not([title])') &&
    [...document.querySelectorAll('#matrix td.cell')].every((td) => td.textContent !== '…'), {timeout: 20000});
  const cells = await page.$$eval('#matrix td.cell', (xs) => xs.map((x) => [x.dataset.from, x.dataset.to, x.textContent]));
  check(cells.length === Object.keys(expect.transitions).length, `flows page: ${cells.length} matrix cells`);
  for (const [from, to, text] of cells)
    check(Number(text) === expect.transitions[`${from}-${to}`], `X -> Y ${from} -> ${to}: ${text} = weaver query's ${expect.transitions[`${from}-${to}`]}`);
  await page.waitForSelector('#every-count');
  const every = await page.$eval('#every-count', (x) => Number(x.textContent));
  check(every === expect.every_camera, `seen on every camera: ${every} = weaver query's ${expect.every_camera}`);
  await page.waitForSelector('#occupancy-chart svg');
  // Occupancy: the chart's peak and points equal weaver query's for the same place, window and step.
  const oc = await page.$eval('#occ-summary', (x) => ({...x.dataset}));
  const oq = JSON.parse(execFileSync(args.weaver, ['query', 'occupancy', oc.target, `t0=${oc.t0}`, `t1=${oc.t1}`,
    `step_s=${oc.step}`, 'limit=10000', '--db', args.db, '--compact']).toString());
  check(oq.peak > 0 && Number(oc.peak) === oq.peak && Number(oc.points) === oq.series.length,
    `occupancy (${oc.target}): peak ${oc.peak}, ${oc.points} points = weaver query's ${oq.peak}, ${oq.series.length}`);
  // People per hour: each hour's bar equals weaver query visitors by hour for the day.
  await page.waitForSelector('#visitors-chart svg');
  const vw = await page.$eval('#visitors-chart', (x) => ({...x.dataset}));
  const hourBars = await page.$$eval('#visitors-chart svg text.value', (xs) => xs.map((x) => x.textContent));
  const vq = JSON.parse(execFileSync(args.weaver, ['query', 'visitors', `t0=${vw.t0}`, `t1=${vw.t1}`, 'bucket=hour',
    'limit=48', '--db', args.db, '--compact']).toString());
  const drawn = hourBars.map(Number).sort();
  const asked = vq.buckets.map((b) => b.people).filter((n) => n > 0).sort();
  check(asked.length > 0 && JSON.stringify(drawn) === JSON.stringify(asked),
    `people per hour: bars ${drawn.join(', ')} = weaver query's ${asked.join(', ')}`);
  // Dwell: the visits and the histogram's bars equal weaver query's answer
  // for the same place and window.
  await page.waitForSelector('#dwell-summary');
  const dw = await page.$eval('#dwell-summary', (x) => ({...x.dataset}));
  const dwBars = await page.$$eval('#dwell-chart svg rect', (xs) => xs.length);
  const dwText = await page.$$eval('#dwell-chart svg text', (xs) => xs.map((x) => x.textContent));
  const dq = JSON.parse(execFileSync(args.weaver, ['query', 'dwell', dw.target, `t0=${dw.t0}`, `t1=${dw.t1}`,
    'bucket_s=2592000', '--db', args.db, '--compact']).toString());
  check(dq.count > 0 && Number(dw.count) === dq.count, `dwell (${dw.target}): ${dw.count} visits = weaver query's ${dq.count}`);
  // Each bar is labelled with its visits (the axis labels carry a unit).
  const barSum = dwText.map(Number).filter((n) => Number.isInteger(n)).reduce((a, b) => a + b, 0);
  check(dwBars > 0 && barSum === dq.count, `dwell histogram: ${dwBars} bars holding ${barSum} visits = ${dq.count}`);
  const arrows = await page.$$eval('#flow-diagram path[marker-end]', (xs) => xs.length);
  const nonzero = Object.values(expect.transitions).filter((n) => n > 0).length;
  check(arrows === nonzero, `flow diagram: ${arrows} arrows = the ${nonzero} pairs with people`);
  await page.click('#matrix td.cell');
  await page.waitForSelector('#flow-ids .ids');
  await shot(page, 'flows.png');

  // People: a person's timeline has one bar per presence
  figures.people = await measure(page, `#/people/${expect.person}?day=${day}`);
  const bars = await page.$$eval('#timeline rect.presence', (xs) => xs.length);
  const rows = await page.$$eval('#presences tr', (xs) => xs.length - 1);
  check(bars === expect.presences && rows === expect.presences, `person #${expect.person}: ${bars} bars, ${rows} rows = weaver query's ${expect.presences} presences`);
  // One evidence crop per presence: a real picture (decoded), none missing.
  await page.waitForFunction((n) => {
    const imgs = [...document.querySelectorAll('#evidence img.crop')];
    return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, {timeout: 15000}, expect.presences);
  const crops = await page.$$eval('#evidence img.crop', (xs) => xs.map((x) => [x.naturalWidth, x.naturalHeight]));
  check(crops.every(([w, hh]) => hh === 128 && w > 0), `person #${expect.person}: ${crops.length} evidence crops (${crops.map((c) => c.join('x')).join(', ')})`);
  const anonCrop = await (await browser.createBrowserContext()).newPage();
  await anonCrop.goto(args.url + '/', {waitUntil: 'load'});
  const src = await page.$eval('#evidence img.crop', (i) => new URL(i.src).pathname);
  const refused = await anonCrop.evaluate(async (s) => (await fetch(s)).status, src);
  check(refused === 401, `an evidence crop without a session: ${refused}`);
  await shot(page, 'people.png');

  // Alerts: the history, then a new event arriving over the live stream
  figures.alerts = await measure(page, `#/alerts?day=${day}`);
  const listed = await page.$$eval('#feed .alert', (xs) => xs.length);
  check(listed === Math.min(expect.events, 200), `alerts page: ${listed} events listed = weaver query's ${expect.events}`);
  await page.waitForSelector('#live.on', {timeout: 10000});
  const id = Number(execFileSync('sqlite3', [args.db, expect.insert_event]).toString().trim());
  await page.waitForSelector(`#feed .alert[data-id="${id}"]`, {timeout: 15000});
  check(true, `a new event (#${id}) arrived on the live feed`);
  const withTrack = await page.$$eval('#feed .alert', (xs) => xs.filter((x) => x.querySelector('img.crop')).length);
  if (expect.events_with_crops > 0) {
    await page.waitForFunction(() => [...document.querySelectorAll('#feed img.crop')].some((i) => i.complete && i.naturalWidth > 0), {timeout: 10000});
    check(withTrack > 0, `alerts with a track show its evidence crop (${withTrack})`);
  }
  // Each filter, at each of its choices, shows exactly the events of the
  // unfiltered feed that match (cameras without events: none).
  const all = await page.$$eval('#feed .alert', (xs) => xs.map((x) => ({...x.dataset})));
  for (const [sel, key] of [['#f-kind', 'kind'], ['#f-camera', 'camera'], ['#f-zone', 'zone']]) {
    const values = await page.$$eval(`${sel} option`, (xs) => xs.map((x) => x.value).filter((v) => v !== ''));
    let matched = 0;
    for (const value of values) {
      await page.select(sel, value);
      const shown = await page.$$eval('#feed .alert', (xs) => xs.map((x) => x.dataset.id));
      const want = all.filter((a) => a[key] === value).map((a) => a.id);
      check(JSON.stringify(shown) === JSON.stringify(want), `the ${key} filter (${value}) shows ${shown.length}, want its ${want.length} of ${all.length} events`);
      matched += want.length > 0;
    }
    check(matched > 0, `the ${key} filter: ${values.length} choices, ${matched} with events`);
    await page.select(sel, '');
  }
  await shot(page, 'alerts.png');

  // API docs
  await page.setCacheEnabled(false);
  const t0 = Date.now();
  await page.goto(args.url + '/docs', {waitUntil: 'domcontentloaded'});
  await page.waitForFunction(() => document.body.dataset.ready === 'true', {timeout: 20000});
  figures.docs = {ms: Date.now() - t0};
  const ops = await page.$$eval('section.op', (xs) => xs.length);
  check(ops === expect.spec_operations, `/docs renders ${ops} operations = the spec's ${expect.spec_operations}`);
  await shot(page, 'docs.png', false);

  // Sign out: back to the login form, and the session no longer works
  await page.goto(`${args.url}/#/cameras?day=${day}`);
  await ready(page);
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  const after = await page.evaluate(async () => (await fetch('/v1/cameras')).status);
  check(after === 401, `after signing out /v1/cameras is ${after}`);
  await ctx.close();
  return figures;
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: browserPath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
  try {
    if (args.phase === 'live') await live(browser);
    else console.log(JSON.stringify(await full(browser)));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
