#!/usr/bin/env node
// `npx mock-rest-api [FILE] [OPTIONS]` and `npx mock-rest-api init DIR`: see lib/cli.js and --help.
import { main } from './lib/cli.js';

await main(process.argv.slice(2));
