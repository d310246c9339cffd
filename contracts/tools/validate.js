#!/usr/bin/env node
// Validate an AsyncAPI document with the official parser (@asyncapi/parser, pinned in package.json),
// resolving its $refs to the JSON Schemas beside it. Prints every diagnostic; exits 1 when any has
// error severity, or when no document comes out at all, so `make contracts-check` fails the build.
'use strict';

const path = require('node:path');
const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');

function describe(diagnostic) {
  const severity = DiagnosticSeverity[diagnostic.severity].toLowerCase();
  const where = diagnostic.path.length ? diagnostic.path.join('/') : '(document)';
  return `${severity}: ${where}: ${diagnostic.message} [${diagnostic.code}]`;
}

async function main(file) {
  const parser = new Parser();
  const { document, diagnostics } = await fromFile(parser, file).parse();
  for (const diagnostic of diagnostics) {
    console.log(describe(diagnostic));
  }
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  if (errors.length || document === undefined) {
    console.error(`${file}: ${errors.length} error(s): not a valid AsyncAPI document`);
    return 1;
  }
  const v = document.version();
  console.log(`${file}: valid AsyncAPI ${v}: ${document.channels().length} channels, ` +
    `${document.operations().length} operations, ${document.messages().length} messages`);
  return 0;
}

const file = path.resolve(process.argv[2] || path.join(__dirname, '..', 'asyncapi.yaml'));
main(file).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`${file}: the parser failed: ${error.stack || error}`);
    process.exit(1);
  },
);
