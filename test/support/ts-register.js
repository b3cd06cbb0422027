// Lets a plain `node` child process require the TypeScript sources (transpile only), so tests can
// measure things (peak RSS) in a fresh process without depending on a prior `tsc` build.
// Transpiled files are cached on disk by content hash, so the many child processes of one test run
// (e.g. the parts of a partitioned conversion) transpile each file once.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
// typescript itself is loaded only on a cache miss (it takes a while to load).
const TS_VERSION = require('typescript/package.json').version;
const CACHE = path.join(os.tmpdir(), `mtpkit-ts-register-${TS_VERSION}`);

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(CACHE, `${key}.js`);
  let outputText;
  try {
    outputText = fs.readFileSync(cached, 'utf8');
  } catch {
    const ts = require('typescript');
    ({ outputText } = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    }));
    try {
      fs.mkdirSync(CACHE, { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, outputText);
      fs.renameSync(tmp, cached);
    } catch {
      // a cache we cannot write only costs time
    }
  }
  module._compile(outputText, filename);
};
