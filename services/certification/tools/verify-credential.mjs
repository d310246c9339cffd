#!/usr/bin/env node
// An independent verifier for certifia's credentials: Digital Bazaar's @digitalbazaar/vc with the
// eddsa-rdfc-2022 cryptosuite, offline. Nothing is fetched: the document loader serves the JSON-LD contexts
// bundled in the certification package (each checked against the SHA-256 its manifest pins), the issuer's
// controller document and status list credentials given as files, and refuses any other URL.
//
//   node verify-credential.mjs --credential diploma.json --controller did.json [--status-list list.json ...]
//
// Exit 0 when vc.verifyCredential verifies the credential (proof, controller document, proof purpose,
// issuer = controller, dates) and, when it has a credentialStatus, every signed status list it names (with
// @digitalbazaar/vc-bitstring-status-list: each entry is checked against the list of its statusPurpose,
// revocation and suspension alike; pass each with --status-list) has its bit clear; non-zero otherwise,
// printing why (e.g. "status set in the status list: suspension").
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';

import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as vc from '@digitalbazaar/vc';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONTEXTS = path.join(HERE, '..', 'src', 'certifia_certification', 'contexts');
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function bundledContexts() {
  const manifest = readJson(path.join(CONTEXTS, 'manifest.json'));
  const contexts = new Map();
  for(const {url, file, sha256} of manifest.contexts) {
    const raw = fs.readFileSync(path.join(CONTEXTS, file));
    const digest = crypto.createHash('sha256').update(raw).digest('hex');
    if(digest !== sha256) {
      throw new Error(`bundled context ${file} has SHA-256 ${digest}, the manifest pins ${sha256}`);
    }
    contexts.set(url, JSON.parse(raw.toString('utf8')));
  }
  return contexts;
}

function offlineLoader({contexts, controller, statusLists}) {
  return async url => {
    const found = (document) => ({contextUrl: null, documentUrl: url, document});
    if(contexts.has(url)) {
      return found(contexts.get(url));
    }
    if(url === controller.id) {
      return found(controller);
    }
    if(url.startsWith(`${controller.id}#`)) {
      const method = (controller.verificationMethod || []).find(m => m.id === url);
      if(method) {
        return found({'@context': MULTIKEY_V1, ...method});
      }
    }
    if(statusLists.has(url)) {
      return found(statusLists.get(url));
    }
    throw new Error(`offline: no document for ${url}`);
  };
}

async function notRevoked(options) {
  const result = await checkStatus(options);
  if(result.verified && result.results.some(r => r.status)) {
    const purposes = result.results.filter(r => r.status).map(r => r.credentialStatus.statusPurpose);
    return {verified: false, error: new Error(`status set in the status list: ${purposes.join(', ')}`)};
  }
  return result;
}

function describe(error) {
  if(!error) {
    return 'not verified';
  }
  const errors = error.errors || [error];
  return errors.map(e => (e.cause ? `${e.message} (cause: ${e.cause.message})` : e.message)).join('; ');
}

async function main() {
  const {values} = parseArgs({
    options: {
      credential: {type: 'string'},
      controller: {type: 'string'},
      'status-list': {type: 'string', multiple: true, default: []},
    },
  });
  if(!values.credential || !values.controller) {
    console.error('usage: verify-credential.mjs --credential FILE --controller FILE [--status-list FILE ...]');
    return 2;
  }
  const statusLists = new Map(values['status-list'].map(f => readJson(f)).map(c => [c.id, c]));
  const documentLoader = offlineLoader({
    contexts: bundledContexts(),
    controller: readJson(values.controller),
    statusLists,
  });
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
  const result = await vc.verifyCredential({
    credential: readJson(values.credential),
    suite,
    documentLoader,
    checkStatus: notRevoked,
  });
  if(result.verified) {
    console.log('verified');
    return 0;
  }
  const why = result.error || result.statusResult?.error ||
    result.results?.find(r => !r.verified)?.error;
  console.error(`not verified: ${describe(why)}`);
  return 1;
}

main().then(code => process.exit(code), error => {
  console.error(`not verified: ${error.message}`);
  process.exit(1);
});
