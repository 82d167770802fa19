// dockerode against husk at $DOCKER_HOST (unix://...); run by ./check, which installs dockerode.
// Prints TAP lines and "dockerode: N passed, N failed, N skipped, N known gaps"; exits 1 when a
// step failed.
'use strict';
const Docker = require('dockerode');
const { PassThrough } = require('stream');
const tar = require('tar-stream'); // dockerode's, through tar-fs

const IMAGE = process.env.HUSK_CHECK_IMAGE || 'husk-test/busybox:latest';
const socketPath = (process.env.DOCKER_HOST || '').replace(/^unix:\/\//, '');
const LABEL = `node-${process.pid}`;
const docker = new Docker({ socketPath });

let n = 0, failed = 0;
const say = (line) => process.stdout.write(line + '\n');

// A step that takes longer fails (a hung client must not hang the check).
const STEP_MS = 1000 * Number(process.env.HUSK_CHECK_TIMEOUT || 60);

async function step(what, fn) {
  n++;
  try {
    const v = await withTimeout(Promise.resolve().then(fn), STEP_MS, what);
    say(`ok ${n} - ${what}`);
    return v;
  } catch (e) {
    failed++;
    say(`not ok ${n} - ${what}`);
    for (const l of String(e && (e.stack || e)).split('\n').slice(0, 6)) say(`#   ${l}`);
    return undefined;
  }
}
function expect(cond, text) { if (!cond) throw new Error(text); }

// Collects a multiplexed stream into {out, err}, resolved when it ends.
function demux(stream) {
  const out = new PassThrough(), err = new PassThrough();
  const got = { out: '', err: '' };
  out.on('data', (d) => { got.out += d; });
  err.on('data', (d) => { got.err += d; });
  docker.modem.demuxStream(stream, out, err);
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(got));
    stream.on('close', () => resolve(got));
    stream.on('error', reject);
  });
}
const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) =>
  setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms))]);

async function execChecks(c) {
  await step('container.exec() (POST /containers/{id}/exec: 201)', async () => {
    const ex = await c.exec({ Cmd: ['true'] });
    expect(ex && ex.id, 'no exec instance');
  });
  await step('exec.start({hijack: true, stdin: true}): stdin in, output out, exit code', async () => {
    const ex = await c.exec({ Cmd: ['sh', '-c', 'cat; echo err >&2; exit 4'], AttachStdin: true,
      AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: true });
    const done = demux(stream);
    stream.end('through stdin\n');
    const got = await withTimeout(done, 20000, 'the exec stream');
    expect(got.out === 'through stdin\n' && got.err === 'err\n', JSON.stringify(got));
    const info = await ex.inspect();
    expect(info.ExitCode === 4 && info.Running === false, JSON.stringify(info));
  });
  await step('exec.start({}) without Upgrade (200, raw stream)', async () => {
    const ex = await c.exec({ Cmd: ['echo', 'plain exec'], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({});
    const got = await withTimeout(demux(stream), 20000, 'the exec stream');
    expect(got.out === 'plain exec\n', JSON.stringify(got));
  });
  await step('exec.start({stdin: true}) as testcontainers sends it (body, no Upgrade, no end)', async () => {
    const ex = await c.exec({ Cmd: ['sh', '-c', 'echo tc; exit 2'], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ stdin: true, Detach: false, Tty: false });
    const got = await withTimeout(demux(stream), 20000, 'the exec stream');
    stream.destroy();
    expect(got.out === 'tc\n', JSON.stringify(got));
    expect((await ex.inspect()).ExitCode === 2, 'exit code');
  });
}

async function main() {
  say(`# dockerode ${require('dockerode/package.json').version} (docker-modem ` +
      `${require('docker-modem/package.json').version}) against socketPath ${socketPath}, image ${IMAGE}`);
  await step('docker.ping()', async () => expect(String(await docker.ping()) === 'OK', 'not OK'));
  await step('docker.version(): husk', async () => {
    const v = await docker.version();
    say(`# server ${v.Platform && v.Platform.Name} ${v.Version}, API ${v.ApiVersion}`);
    expect(v.Platform && v.Platform.Name === 'husk', JSON.stringify(v.Platform));
  });
  await step('docker.listImages() has the image', async () => {
    const imgs = await docker.listImages();
    expect(imgs.some((i) => (i.RepoTags || []).includes(IMAGE)), 'not listed');
  });

  const c = await step('docker.createContainer()', () => docker.createContainer({
    Image: IMAGE, Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'],
    Labels: { 'husk-check': LABEL }, AttachStdout: true, AttachStderr: true,
  }));
  if (!c) return;
  try {
    let attached;
    await step('container.attach() before start (200 without Upgrade)', async () => {
      const stream = await c.attach({ stream: true, stdout: true, stderr: true });
      attached = demux(stream);
    });
    await step('container.start() (204)', () => c.start());
    await step('container.wait(): StatusCode 7', async () => {
      const r = await c.wait();
      expect(r.StatusCode === 7, JSON.stringify(r));
    });
    if (attached) {
      await step('the attach stream: stdout and stderr, then its end', async () => {
        const got = await withTimeout(attached, 20000, 'the attach stream');
        expect(got.out === 'out\n' && got.err === 'err\n', JSON.stringify(got));
      });
    }
    await step('container.logs() (a Buffer, multiplexed)', async () => {
      const buf = await c.logs({ stdout: true, stderr: true });
      const s = new PassThrough();
      const got = demux(s);
      s.end(buf);
      const r = await got;
      expect(r.out === 'out\n' && r.err === 'err\n', JSON.stringify(r));
    });
    await step('container.logs({follow: true}) ends: the container has exited', async () => {
      const stream = await c.logs({ follow: true, stdout: true, stderr: true });
      const got = await withTimeout(demux(stream), 20000, 'logs follow');
      expect(got.out === 'out\n', JSON.stringify(got));
    });
    await step('container.inspect(): exited 7', async () => {
      const i = await c.inspect();
      expect(i.State.Status === 'exited' && i.State.ExitCode === 7, JSON.stringify(i.State));
    });
    await step('docker.listContainers({all, filters: {label}})', async () => {
      const l = await docker.listContainers({ all: true, filters: { label: [`husk-check=${LABEL}`] } });
      expect(l.length === 1 && l[0].Id === c.id, JSON.stringify(l.map((x) => x.Id)));
    });
    await step('container.remove() (204)', () => c.remove());
    await step('container.remove() again: 404', async () => {
      try { await c.remove(); } catch (e) { expect(e.statusCode === 404, e.message); return; }
      throw new Error('removed twice');
    });
  } finally {
    await c.remove({ force: true }).catch(() => {});
  }

  const r = await step('a running container (createContainer + start)', async () => {
    const x = await docker.createContainer({ Image: IMAGE, Labels: { 'husk-check': LABEL },
      Cmd: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"] });
    await x.start();
    return x;
  });
  if (!r) return;
  try {
    await step('container.start() when running: 304 (an error for dockerode, as with Docker)', async () => {
      try { await r.start(); } catch (e) { expect(e.statusCode === 304, e.message); return; }
      throw new Error('no 304');
    });
    await execChecks(r);
    await step('container.putArchive(), getArchive() (PUT/GET /containers/{id}/archive)', async () => {
      const pack = tar.pack();   // as testcontainers' copyToContainer sends it
      pack.entry({ name: 'put.txt' }, 'put\n');
      pack.finalize();
      await r.putArchive(pack, { path: '/tmp' });
      const files = {};
      const extract = tar.extract();
      extract.on('entry', (h, s, next) => {
        let body = '';
        s.on('data', (d) => { body += d; });
        s.on('end', () => { files[h.name] = body; next(); });
      });
      const ended = new Promise((resolve, reject) => {
        extract.on('finish', resolve);
        extract.on('error', reject);
      });
      (await r.getArchive({ path: '/tmp/put.txt' })).pipe(extract);
      await withTimeout(ended, 20000, 'the archive');
      expect(files['put.txt'] === 'put\n', JSON.stringify(files));
    });
    await step('container.stop() (204)', () => r.stop({ t: 5 }));
    await step('container.remove({v: true})', () => r.remove({ v: true }));
  } finally {
    await r.remove({ force: true }).catch(() => {});
  }
}

async function refusedPorts() {
  await step('createContainer with PortBindings (testcontainers\' exposed ports): refused with the reason',
    async () => {
      let x;
      try {
        x = await docker.createContainer({ Image: IMAGE, Cmd: ['true'], ExposedPorts: { '80/tcp': {} },
          HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } } });
      } catch (e) {
        expect(e.statusCode >= 400 && /publishing ports/.test(String(e.message)), e.message);
        return;
      }
      await x.remove({ force: true }).catch(() => {});
      throw new Error('created: the port would not be published');
    });
}

main().then(refusedPorts).catch((e) => {
  failed++;
  say(`not ok ${++n} - unexpected: ${e.stack || e}`);
}).finally(() => {
  say(`1..${n}`);
  say(`dockerode: ${n - failed} passed, ${failed} failed, 0 skipped, 0 known gaps`);
  process.exit(failed ? 1 : 0);
});
