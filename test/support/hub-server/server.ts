/**
 * A loopback Hugging Face Hub for tests: bound to 127.0.0.1 on an ephemeral port, serving repos from
 * local folders and accepting uploads, with the endpoints @huggingface/hub calls (reference hub.md §8):
 * revision info, tree listing, paths-info, resolve/raw with Range (LFS files redirect to a same-origin
 * /cdn/ URL), create repo/branch, preupload, LFS batch (basic transfer), PUT, ndjson commit.
 *
 * It counts the bytes it serves (per file and per request) and injects faults: cut a transfer after
 * N bytes, answer an error status for the first K matching requests, flip a byte of a served file.
 */
import { createHash, randomBytes } from 'crypto';
import { createReadStream, promises as fsp } from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Commit, GITATTRIBUTES, lfsPointer, Repo, RepoStore, StoredFile } from './repo-store';

export interface HubServerOptions {
  /** When set, API calls need `Authorization: Bearer <token>`. */
  token?: string;
  /** Files at least this large are LFS (besides *.safetensors etc.). Default 10 MiB. */
  lfsThreshold?: number;
  /** Entries per tree page (the rest via Link rel="next"). Default 1000. */
  treePageSize?: number;
}

export interface RequestLog {
  method: string;
  path: string;
  range?: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** `repo/path` of the file whose bytes were sent, if any. */
  file?: string;
}

export interface FailFault {
  /** Tested against `${METHOD} ${pathname}`. */
  match: RegExp;
  status: number;
  times: number;
  /** Put the request's Authorization header into the error message (simulates a leaky proxy). */
  echoAuth?: boolean;
  /** Wait this long before answering (lets concurrent requests finish first). */
  delayMs?: number;
}
export interface CutFault {
  /** Tested against `repo/path` of a served file. */
  match: RegExp;
  /** Bytes of body sent before the connection is destroyed. */
  afterBytes: number;
  times: number;
  /** Instead of closing, keep the connection open and silent (a stalled transfer). */
  stall?: boolean;
}
export interface DelayFault {
  /** Tested against `${METHOD} ${pathname}`. */
  match: RegExp;
  ms: number;
}
export interface FlipFault {
  /** `repo/path` of the file. */
  file: string;
  offset: number;
}

export interface Faults {
  fail: FailFault[];
  cut: CutFault[];
  flip: FlipFault[];
  delay: DelayFault[];
  /** Answer 200 with the whole file to range requests (as some proxies do). */
  ignoreRange: boolean;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
  }
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // multi-range or junk: serve whole
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export class HubTestServer {
  readonly faults: Faults = { fail: [], cut: [], flip: [], delay: [], ignoreRange: false };
  readonly requests: RequestLog[] = [];
  /** Body bytes served per `repo/path` (resolve, raw and cdn answers). */
  readonly bytesByFile = new Map<string, number>();
  /** Bytes received by LFS PUTs. */
  lfsBytesReceived = 0;
  commitsMade = 0;
  /** Most /cdn/ requests open at the same time (since the last resetStats). */
  peakCdnInFlight = 0;
  private cdnInFlight = 0;
  url = '';
  private readonly secret = randomBytes(8).toString('hex');
  private readonly server: http.Server;

  private constructor(
    readonly store: RepoStore,
    private readonly storageDir: string,
    private readonly opts: HubServerOptions,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const e = err instanceof HttpError ? err : new HttpError(500, `internal test server error: ${(err as Error).message}`);
        if (e.code) res.setHeader('X-Error-Code', e.code);
        this.json(res, e.status, { error: e.message });
      });
    });
  }

  static async start(opts: HubServerOptions = {}): Promise<HubTestServer> {
    const storageDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mtpkit-hub-server-'));
    await fsp.mkdir(path.join(storageDir, 'objects'));
    const s = new HubTestServer(new RepoStore(path.join(storageDir, 'objects'), opts.lfsThreshold ?? 10 << 20), storageDir, opts);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await fsp.rm(this.storageDir, { recursive: true, force: true });
  }

  /** Registers (or replaces the tree of) `repo` from a folder; returns the new commit sha. */
  async addRepoFromFolder(repo: string, dir: string, branch = 'main'): Promise<string> {
    return (await this.store.commitFolder(repo, dir, branch)).id;
  }

  /** Current content of a file (for comparisons in tests). */
  async fileBytes(repo: string, rev: string, filePath: string): Promise<Buffer> {
    const f = this.lookupFile(this.lookupCommit(this.lookupRepo(repo), rev), filePath);
    return fsp.readFile(f.source);
  }

  commitOf(repo: string, rev: string): string {
    return this.lookupCommit(this.lookupRepo(repo), rev).id;
  }

  /** No faults and fresh counters: what every test starts from. */
  reset(): void {
    this.faults.fail.length = 0;
    this.faults.cut.length = 0;
    this.faults.flip.length = 0;
    this.faults.delay.length = 0;
    this.faults.ignoreRange = false;
    this.resetStats();
  }

  resetStats(): void {
    this.requests.length = 0;
    this.bytesByFile.clear();
    this.lfsBytesReceived = 0;
    this.peakCdnInFlight = 0;
  }

  /** Sum of file body bytes served (optionally only for files matching `match`). */
  bytesServed(match?: RegExp): number {
    let n = 0;
    for (const [k, v] of this.bytesByFile) if (!match || match.test(k)) n += v;
    return n;
  }

  private json(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private lookupRepo(id: string): Repo {
    const r = this.store.repos.get(id);
    if (!r) throw new HttpError(404, 'Repository not found', 'RepoNotFound');
    return r;
  }

  private lookupCommit(repo: Repo, rev: string): Commit {
    const c = this.store.resolve(repo, rev);
    if (!c) throw new HttpError(404, `Invalid rev id: ${rev}`, 'RevisionNotFound');
    return c;
  }

  private lookupFile(c: Commit, p: string): StoredFile {
    const f = c.files.get(p);
    if (!f) throw new HttpError(404, 'Entry not found', 'EntryNotFound');
    return f;
  }

  private checkAuth(req: http.IncomingMessage, pathname: string, url: URL): void {
    if (pathname.startsWith('/cdn/') || pathname.startsWith('/lfs-upload/')) {
      if (url.searchParams.get('sig') !== this.secret) throw new HttpError(403, 'bad signature');
      return;
    }
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      throw new HttpError(401, 'Invalid credentials in Authorization header');
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const log: RequestLog = { method, path: url.pathname, range: req.headers.range, status: 0, bytes: 0 };
    this.requests.push(log);
    // Status as sent (a test may look before the server sees the connection close).
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => http.ServerResponse;
    (res as { writeHead: unknown }).writeHead = (...a: unknown[]) => {
      log.status = a[0] as number;
      return writeHead(...a);
    };
    if (url.pathname.startsWith('/cdn/')) {
      this.peakCdnInFlight = Math.max(this.peakCdnInFlight, ++this.cdnInFlight);
      res.on('close', () => this.cdnInFlight--);
    }
    for (const d of this.faults.delay) {
      if (d.match.test(`${method} ${url.pathname}`)) await new Promise((resolve) => setTimeout(resolve, d.ms));
    }

    const fault = this.faults.fail.find((f) => f.times > 0 && f.match.test(`${method} ${url.pathname}`));
    if (fault) {
      fault.times--;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      const msg = fault.echoAuth ? `upstream refused the request (Authorization: ${req.headers.authorization ?? 'none'})` : 'Internal Error (injected)';
      this.json(res, fault.status, { error: msg });
      return;
    }
    this.checkAuth(req, url.pathname, url);

    const seg = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const base = this.url;

    if (seg[0] === 'api') {
      if (seg[1] === 'whoami-v2') return this.json(res, 200, { type: 'user', name: 'test-user' });
      if (seg[1] === 'repos' && seg[2] === 'create' && method === 'POST') return this.createRepo(req, res);
      if (seg[1] === 'models' && seg.length >= 4) {
        const repoId = `${seg[2]}/${seg[3]}`;
        const action = seg[4];
        const rest = seg.slice(5);
        if (action === undefined && method === 'GET') {
          const r = this.lookupRepo(repoId);
          return this.json(res, 200, { _id: r.id, id: r.id, private: r.private, sha: r.branches.get('main') });
        }
        if (action === 'revision' && method === 'GET') return this.revisionInfo(res, repoId, rest.join('/'));
        if (action === 'tree' && method === 'GET') return this.tree(res, url, repoId, rest[0], rest.slice(1).join('/'));
        if (action === 'paths-info' && method === 'POST') return this.pathsInfo(req, res, repoId, rest.join('/'));
        if (action === 'preupload' && method === 'POST') return this.preupload(req, res, repoId);
        if (action === 'commit' && method === 'POST') return this.commit(req, res, repoId, rest.join('/'));
        if (action === 'branch' && method === 'POST') return this.createBranch(req, res, repoId, rest.join('/'));
      }
      throw new HttpError(404, `no route ${method} ${url.pathname}`);
    }
    if (seg[0] === 'cdn' && (method === 'GET' || method === 'HEAD')) {
      const repo = this.lookupRepo(`${seg[1]}/${seg[2]}`);
      const c = this.lookupCommit(repo, seg[3]);
      const f = this.lookupFile(c, seg.slice(4).join('/'));
      return this.serveFile(req, res, log, repo, c, f, `"${f.sha256}"`);
    }
    if (seg[0] === 'lfs-upload' && method === 'PUT') return this.lfsPut(req, res, this.lookupRepo(`${seg[1]}/${seg[2]}`), seg[3], Number(url.searchParams.get('size')));
    if (seg.length >= 3 && seg[1].endsWith('.git') && seg.slice(2).join('/') === 'info/lfs/objects/batch' && method === 'POST') {
      return this.lfsBatch(req, res, `${seg[0]}/${seg[1].slice(0, -4)}`);
    }
    if (seg.length >= 5 && (seg[2] === 'resolve' || seg[2] === 'raw') && (method === 'GET' || method === 'HEAD')) {
      const repo = this.lookupRepo(`${seg[0]}/${seg[1]}`);
      const c = this.lookupCommit(repo, seg[3]);
      const filePath = seg.slice(4).join('/');
      const f = this.lookupFile(c, filePath);
      res.setHeader('X-Repo-Commit', c.id);
      if (f.lfs && seg[2] === 'resolve') {
        const loc = `${base}/cdn/${repo.id}/${c.id}/${filePath.split('/').map(encodeURIComponent).join('/')}?sig=${this.secret}`;
        res.writeHead(302, {
          Location: loc,
          ETag: `"${f.oid}"`,
          'X-Linked-Size': String(f.size),
          'X-Linked-ETag': `"${f.sha256}"`,
          'Content-Length': 0,
        });
        res.end();
        return;
      }
      if (f.lfs) {
        const text = lfsPointer(f.sha256, f.size);
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text), ETag: `"${f.oid}"` });
        res.end(method === 'HEAD' ? undefined : text);
        return;
      }
      return this.serveFile(req, res, log, repo, c, f, `"${f.oid}"`);
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }

  private async serveFile(req: http.IncomingMessage, res: http.ServerResponse, log: RequestLog, repo: Repo, c: Commit, f: StoredFile, etag: string): Promise<void> {
    const key = `${repo.id}/${f.path}`;
    log.file = key;
    const range = this.faults.ignoreRange ? undefined : parseRange(req.headers.range, f.size);
    const headers: http.OutgoingHttpHeaders = { 'Accept-Ranges': 'bytes', ETag: etag, 'X-Repo-Commit': c.id, 'Content-Type': 'application/octet-stream' };
    if (range === 'invalid') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${f.size}` });
      res.end();
      return;
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : f.size - 1; // inclusive
    const length = f.size === 0 ? 0 : end - start + 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${f.size}`;
    headers['Content-Length'] = length;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const cut = this.faults.cut.find((x) => x.times > 0 && x.match.test(key));
    if (cut) cut.times--;
    const flips = this.faults.flip.filter((x) => x.file === key);
    let pos = start;
    let sent = 0;
    for await (const raw of createReadStream(f.source, { start, end, highWaterMark: 16 * 1024 })) {
      let chunk = raw as Buffer;
      for (const fl of flips) {
        if (fl.offset >= pos && fl.offset < pos + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[fl.offset - pos] ^= 0xff;
        }
      }
      pos += chunk.length;
      if (cut && sent + chunk.length >= cut.afterBytes) {
        const part = chunk.subarray(0, cut.afterBytes - sent);
        this.count(key, log, part.length);
        await new Promise<void>((resolve) => res.write(part, () => resolve()));
        if (cut.stall) await new Promise((resolve) => res.once('close', resolve));
        else res.socket?.destroy();
        return;
      }
      this.count(key, log, chunk.length);
      sent += chunk.length;
      if (!res.write(chunk)) await drained(res);
      if (res.destroyed) return;
    }
    res.end();
  }

  private count(key: string, log: RequestLog, n: number): void {
    log.bytes += n;
    this.bytesByFile.set(key, (this.bytesByFile.get(key) ?? 0) + n);
  }

  private entry(c: Commit, f: StoredFile, expand: boolean): Record<string, unknown> {
    return {
      type: 'file',
      oid: f.oid,
      size: f.size,
      path: f.path,
      ...(f.lfs ? { lfs: { oid: f.sha256, size: f.size, pointerSize: Buffer.byteLength(lfsPointer(f.sha256, f.size)) } } : {}),
      ...(expand ? { lastCommit: { id: c.id, title: c.title, date: c.date } } : {}),
    };
  }

  private revisionInfo(res: http.ServerResponse, repoId: string, rev: string): void {
    const repo = this.lookupRepo(repoId);
    const c = this.lookupCommit(repo, rev);
    this.json(res, 200, {
      _id: createHash('sha1').update(repo.id).digest('hex').slice(0, 24),
      id: repo.id,
      sha: c.id,
      private: repo.private,
      gated: false,
      downloads: 0,
      likes: 0,
      lastModified: c.date,
      siblings: [...c.files.keys()].sort().map((rfilename) => ({ rfilename })),
    });
  }

  private tree(res: http.ServerResponse, url: URL, repoId: string, rev: string, sub: string): void {
    const repo = this.lookupRepo(repoId);
    const c = this.lookupCommit(repo, rev);
    const recursive = url.searchParams.get('recursive') === 'true';
    const expand = url.searchParams.get('expand') === 'true';
    const prefix = sub ? `${sub}/` : '';
    const entries: Record<string, unknown>[] = [];
    const dirs = new Set<string>();
    for (const f of [...c.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      if (!f.path.startsWith(prefix)) continue;
      const rel = f.path.slice(prefix.length).split('/');
      // Directories on the way (the Hub lists them too, also when recursive).
      for (let i = 1; i < rel.length && (recursive || i === 1); i++) {
        const d = prefix + rel.slice(0, i).join('/');
        if (!dirs.has(d)) {
          dirs.add(d);
          entries.push({ type: 'directory', oid: this.store.dirOid(c, d), size: 0, path: d });
        }
      }
      if (recursive || rel.length === 1) entries.push(this.entry(c, f, expand));
    }
    if (sub && !entries.length) throw new HttpError(404, 'Entry not found', 'EntryNotFound');
    const pageSize = this.opts.treePageSize ?? 1000;
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const page = entries.slice(cursor, cursor + pageSize);
    if (cursor + pageSize < entries.length) {
      const next = new URL(url.href);
      next.searchParams.set('cursor', String(cursor + pageSize));
      res.setHeader('Link', `<${next.href}>; rel="next"`);
    }
    this.json(res, 200, page);
  }

  private async pathsInfo(req: http.IncomingMessage, res: http.ServerResponse, repoId: string, rev: string): Promise<void> {
    const repo = this.lookupRepo(repoId);
    const c = this.lookupCommit(repo, rev);
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { paths: string[]; expand?: boolean };
    const out = body.paths.filter((p) => c.files.has(p)).map((p) => this.entry(c, c.files.get(p)!, !!body.expand));
    this.json(res, 200, out);
  }

  private async createRepo(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { name: string; organization?: string; visibility?: string };
    const id = `${body.organization}/${body.name}`;
    if (this.store.repos.has(id)) return this.json(res, 409, { error: 'You already created this model repo', url: `${this.url}/${id}` });
    const repo = this.store.createRepo(id, body.visibility === 'private');
    const attributes = await this.store.putObject(Buffer.from(GITATTRIBUTES));
    const described = await this.store.describe('.gitattributes', this.store.objectPath(attributes), false);
    this.store.commit(repo, 'main', 'initial commit', (files) => files.set('.gitattributes', described));
    this.json(res, 200, { url: `${this.url}/${id}`, name: id, id: randomBytes(12).toString('hex') });
  }

  private async createBranch(req: http.IncomingMessage, res: http.ServerResponse, repoId: string, branch: string): Promise<void> {
    const repo = this.lookupRepo(repoId);
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { startingPoint?: string; overwrite?: boolean };
    if (repo.branches.has(branch) && !body.overwrite) return this.json(res, 409, { error: 'Reference already exists' });
    const from = this.lookupCommit(repo, body.startingPoint ?? 'main');
    repo.branches.set(branch, from.id);
    this.json(res, 200, {});
  }

  private async preupload(req: http.IncomingMessage, res: http.ServerResponse, repoId: string): Promise<void> {
    this.lookupRepo(repoId);
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { files: { path: string; size: number }[] };
    this.json(res, 200, {
      files: body.files.map((f) => ({ path: f.path, uploadMode: this.store.isLfsPath(f.path, f.size) ? 'lfs' : 'regular', shouldIgnore: false })),
    });
  }

  private async lfsBatch(req: http.IncomingMessage, res: http.ServerResponse, repoId: string): Promise<void> {
    const repo = this.lookupRepo(repoId);
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { operation: string; objects: { oid: string; size: number }[] };
    if (body.operation !== 'upload') throw new HttpError(400, 'only uploads are supported');
    const objects = [];
    for (const o of body.objects) {
      if (repo.lfs.has(o.oid) && (await this.store.hasObject(o.oid, o.size))) objects.push({ oid: o.oid, size: o.size });
      else objects.push({ oid: o.oid, size: o.size, authenticated: true, actions: { upload: { href: `${this.url}/lfs-upload/${repo.id}/${o.oid}?size=${o.size}&sig=${this.secret}` } } });
    }
    this.json(res, 200, { transfer: 'basic', objects }, 'application/vnd.git-lfs+json');
  }

  private async lfsPut(req: http.IncomingMessage, res: http.ServerResponse, repo: Repo, oid: string, size: number): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(oid)) throw new HttpError(400, 'bad oid');
    const tmp = `${this.store.objectPath(oid)}.upload-${randomBytes(4).toString('hex')}`;
    const fh = await fsp.open(tmp, 'w');
    const hash = createHash('sha256');
    let n = 0;
    try {
      for await (const c of req) {
        hash.update(c as Buffer);
        n += (c as Buffer).length;
        this.lfsBytesReceived += (c as Buffer).length;
        await fh.write(c as Buffer);
      }
    } finally {
      await fh.close();
    }
    if (n !== size || hash.digest('hex') !== oid) {
      await fsp.rm(tmp, { force: true });
      throw new HttpError(400, `uploaded content does not match oid ${oid} / size ${size}`);
    }
    await fsp.rename(tmp, this.store.objectPath(oid));
    repo.lfs.add(oid);
    res.writeHead(200, { ETag: `"${oid}"`, 'Content-Length': 0 });
    res.end();
  }

  private async commit(req: http.IncomingMessage, res: http.ServerResponse, repoId: string, branch: string): Promise<void> {
    const repo = this.lookupRepo(repoId);
    if (!repo.branches.has(branch)) throw new HttpError(404, `Invalid rev id: ${branch}`, 'RevisionNotFound');
    const lines = (await readBody(req)).toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
    const header = lines.find((l) => l.key === 'header');
    if (!header) throw new HttpError(400, 'missing header line');
    const parent = header.value.parentCommit as string | undefined;
    if (parent && parent !== repo.branches.get(branch)) throw new HttpError(412, 'A commit has happened since. Please refresh and try again.');
    const additions: StoredFile[] = [];
    const deletions: string[] = [];
    for (const l of lines) {
      const v = l.value;
      if (l.key === 'file') {
        const data = Buffer.from(String(v.content), v.encoding === 'base64' ? 'base64' : 'utf8');
        const sha = await this.store.putObject(data);
        additions.push(await this.store.describe(String(v.path), this.store.objectPath(sha), false));
      } else if (l.key === 'lfsFile') {
        const oid = String(v.oid);
        if (!repo.lfs.has(oid) || !(await this.store.hasObject(oid, Number(v.size)))) throw new HttpError(422, `LFS object ${oid} is not uploaded`);
        additions.push(await this.store.describe(String(v.path), this.store.objectPath(oid), true));
      } else if (l.key === 'deletedFile') {
        deletions.push(String(v.path));
      }
    }
    const c = this.store.commit(repo, branch, String(header.value.summary ?? ''), (files) => {
      for (const d of deletions) files.delete(d);
      for (const a of additions) files.set(a.path, a);
    });
    this.commitsMade++;
    this.json(res, 200, { success: true, commitOid: c.id, commitUrl: `${this.url}/${repo.id}/commit/${c.id}`, hookOutput: '' });
  }
}
